"""Mixer strips and effect chains, built off the audio thread.

The engine's control thread turns a `song_data.MixState` into a `MixRuntime`:
per strip a left/right gain (volume, pan and mute/solo folded in) and a pedalboard
chain; for the master bus its insert effects, the limiter and the volume. The
callback swaps the new runtime in at a block boundary and only ever calls
`Pedalboard.process` and reads the gains. Plugins are kept by effect id, so a
parameter change is applied to the running plugin (a queued `setattr` done by the
callback at the next block) instead of building a new one, and a plugin keeps its
state (a reverb tail) when the chain around it changes.

VST3 plugins are first loaded in a child process with a time limit: one that
hangs or crashes on load is skipped with a message and never takes the engine down.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from strumspace_desktop.audio.song_data import (
    MAX_STRIPS,
    MIDI_STRIPS,
    EffectSpec,
    MixState,
    db_to_gain,
    pan_gains,
)

VST3_PROBE_TIMEOUT_S = 10.0

# The document's EQ is three pedalboard filters; its parameters carry a band prefix.
_EQ_BANDS = (("low", "LowShelfFilter", None), ("mid", "PeakFilter", "mid_q"),
             ("high", "HighShelfFilter", None))
_CLASSES = {
    "reverb": "Reverb", "delay": "Delay", "chorus": "Chorus", "compressor": "Compressor",
    "limiter": "Limiter", "gain": "Gain", "highpass": "HighpassFilter",
    "lowpass": "LowpassFilter", "distortion": "Distortion", "phaser": "Phaser",
}


class EffectError(Exception):
    """An effect that cannot be built; the text is for musicians."""


def vst3_search_paths() -> list[Path]:
    """The standard VST3 folders of this platform (existing or not)."""
    home = Path.home()
    if sys.platform == "darwin":
        return [home / "Library/Audio/Plug-Ins/VST3", Path("/Library/Audio/Plug-Ins/VST3")]
    if sys.platform == "win32":
        common = os.environ.get("COMMONPROGRAMFILES", r"C:\Program Files\Common Files")
        return [Path(common) / "VST3", home / "AppData/Local/Programs/Common/VST3"]
    return [home / ".vst3", Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3"),
            Path("/usr/lib64/vst3")]


def find_vst3_plugins(paths: Iterable[Path] | None = None) -> list[Path]:
    """Every *.vst3 bundle in the standard folders (or `paths`), sorted by name."""
    found: list[Path] = []
    for folder in paths if paths is not None else vst3_search_paths():
        with contextlib.suppress(OSError):
            found.extend(p for p in Path(folder).iterdir() if p.suffix.lower() == ".vst3")
    return sorted(found, key=lambda p: p.name.lower())


def resolve_vst3(plugin: str) -> Path | None:
    """A plugin path as stored in the document: used as is when it exists, else looked
    up by its file name in the standard folders (projects move between machines)."""
    if not plugin:
        return None
    p = Path(plugin)
    if p.exists():
        return p
    for candidate in find_vst3_plugins():
        if candidate.name == p.name:
            return candidate
    return None


_PROBE = (
    "import json, sys\n"
    "import pedalboard\n"
    "p = pedalboard.load_plugin(sys.argv[1])\n"
    "print(json.dumps(sorted(p.parameters.keys())))\n"
)


def probe_vst3(path: Path, timeout: float = VST3_PROBE_TIMEOUT_S) -> list[str]:
    """Load the plugin in a child process first; its parameter names if that worked.
    Raises EffectError when the plugin hangs, crashes or fails to load."""
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise EffectError(f"The plugin {path.name} did not finish loading within "
                          f"{timeout:g} s; it was skipped.") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["it crashed"])[-1]
        raise EffectError(f"The plugin {path.name} could not be loaded ({last[:200]}); "
                          "it was skipped.")
    try:
        names = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise EffectError(f"The plugin {path.name} could not be loaded; it was skipped.") \
            from exc
    return [str(n) for n in names]


class PluginFactory:
    """Builds pedalboard plugins for effect specs; remembers VST3 probes by path."""

    def __init__(self, probe_timeout: float = VST3_PROBE_TIMEOUT_S) -> None:
        self.probe_timeout = probe_timeout
        self._probed: dict[str, list[str] | str] = {}  # path -> parameters or error

    def build(self, spec: EffectSpec) -> list[Any]:
        import pedalboard

        if spec.type == "eq":
            out = []
            for band, cls, q_name in _EQ_BANDS:
                kwargs = self.eq_band_params(spec.params, band, q_name)
                out.append(getattr(pedalboard, cls)(**kwargs))
            return out
        if spec.type == "vst3":
            return [self._vst3(spec)]
        cls_name = _CLASSES.get(spec.type)
        if cls_name is None:
            raise EffectError(f"The effect type {spec.type!r} is unknown to this version.")
        plugin = getattr(pedalboard, cls_name)()
        for name, value in spec.params.items():
            with contextlib.suppress(AttributeError, TypeError, ValueError):
                setattr(plugin, name, float(value))
        return [plugin]

    @staticmethod
    def eq_band_params(params: dict[str, float], band: str,
                       q_name: str | None) -> dict[str, float]:
        kwargs = {}
        if f"{band}_freq_hz" in params:
            kwargs["cutoff_frequency_hz"] = float(params[f"{band}_freq_hz"])
        if f"{band}_gain_db" in params:
            kwargs["gain_db"] = float(params[f"{band}_gain_db"])
        if q_name is not None and q_name in params:
            kwargs["q"] = float(params[q_name])
        return kwargs

    def _vst3(self, spec: EffectSpec) -> Any:
        import pedalboard

        path = resolve_vst3(spec.plugin)
        if path is None:
            raise EffectError(f"The plugin {Path(spec.plugin).name or '(none)'} is not "
                              "installed on this computer; it was skipped.")
        key = str(path)
        known = self._probed.get(key)
        if known is None:
            try:
                known = probe_vst3(path, self.probe_timeout)
            except EffectError as exc:
                known = str(exc)
            self._probed[key] = known
        if isinstance(known, str):
            raise EffectError(known)
        try:
            plugin = pedalboard.load_plugin(key)
        except Exception as exc:  # pedalboard raises ImportError, RuntimeError, ...
            raise EffectError(f"The plugin {path.name} could not be loaded ({exc}); "
                              "it was skipped.") from exc
        for name, value in spec.params.items():
            with contextlib.suppress(AttributeError, TypeError, ValueError, RuntimeError):
                setattr(plugin, name, float(value))
        try:
            # Strips are stereo: a plugin that cannot take two channels would raise in
            # the audio callback, so it is tried here, once, on silence.
            plugin.process(np.zeros((2, 64), np.float32), 48000.0, 64, True)
        except Exception as exc:
            raise EffectError(f"The plugin {path.name} cannot process stereo audio ({exc}); "
                              "it was skipped.") from exc
        return plugin

    @staticmethod
    def param_updates(spec: EffectSpec, plugins: list[Any],
                      old: EffectSpec) -> list[tuple[Any, str, float]]:
        """(plugin, attribute, value) for each parameter that differs from `old`."""
        changed = {k: v for k, v in spec.params.items() if old.params.get(k) != v}
        if not changed:
            return []
        if spec.type == "eq":
            out: list[tuple[Any, str, float]] = []
            for plugin, (band, _cls, q_name) in zip(plugins, _EQ_BANDS, strict=False):
                kwargs = PluginFactory.eq_band_params(changed, band, q_name)
                out.extend((plugin, k, v) for k, v in kwargs.items())
            return out
        return [(plugins[0], k, float(v)) for k, v in changed.items()]


@dataclass
class _Built:
    spec: EffectSpec
    plugins: list[Any]


@dataclass
class MixRuntime:
    """What the callback reads: strip gains, chains and the master bus."""

    gains: np.ndarray  # (MAX_STRIPS, 2, 1) float32
    chains: list[Any]  # per strip: a pedalboard.Pedalboard or None
    master_chain: Any  # master inserts and the limiter, or None
    master_gain: float
    audible: dict[str, bool] = field(default_factory=dict)
    # Per MIDI channel: its strip's fader gain into the synth's shared reverb and
    # chorus (post-fader, before pan; zero when the strip is muted or has no track).
    send_gains: list[float] = field(default_factory=lambda: [1.0] * MIDI_STRIPS)

    @classmethod
    def unity(cls) -> MixRuntime:
        return cls(np.ones((MAX_STRIPS, 2, 1), np.float32), [None] * MAX_STRIPS, None, 1.0)


class MixBuilder:
    """Keeps the plugins of the current mix and builds the next MixRuntime."""

    def __init__(self, factory: PluginFactory | None = None) -> None:
        self.factory = factory or PluginFactory()
        self._built: dict[str, _Built] = {}  # effect id -> its plugins
        self._limiter: list[Any] | None = None
        self.messages: list[str] = []
        self._failed: set[tuple[str, str]] = set()  # (effect id, plugin) already reported

    def build(self, mix: MixState) -> tuple[MixRuntime, list[tuple[Any, str, float]]]:
        """The runtime for `mix` and the parameter writes to queue for the callback."""
        import pedalboard

        self.messages = []
        updates: list[tuple[Any, str, float]] = []
        seen: set[str] = set()
        # A channel without a track is silent, as a removed track's must be (until a
        # mix is sent at all, MixRuntime.unity lets every channel through).
        gains = np.zeros((MAX_STRIPS, 2, 1), np.float32)
        chains: list[Any] = [None] * MAX_STRIPS
        sends = [0.0] * MIDI_STRIPS
        for strip in mix.strips:
            if not 0 <= strip.strip < MAX_STRIPS:
                continue
            audible = mix.strip_audible.get(strip.strip, True)
            g = db_to_gain(strip.volume_db) if audible else 0.0
            if strip.strip < MIDI_STRIPS:
                sends[strip.strip] = g
            left, right = pan_gains(g, strip.pan)
            gains[strip.strip, 0, 0] = left
            gains[strip.strip, 1, 0] = right
            plugins = self._chain(strip.effects, updates, seen)
            chains[strip.strip] = pedalboard.Pedalboard(plugins) if plugins else None
        master = self._chain(mix.master_effects, updates, seen)
        if mix.limiter:
            # A safety limiter that leaves everything below its threshold bit for bit
            # untouched: pedalboard's Limiter (JUCE's) compresses from -10 dB and adds
            # make-up gain, which changes the mix's loudness.
            if self._limiter is None:
                self._limiter = [pedalboard.Compressor(ratio=20.0, attack_ms=1.0,
                                                       release_ms=100.0),
                                 pedalboard.Clipping()]
            threshold = float(mix.limiter_threshold_db)
            for stage in self._limiter:
                if stage.threshold_db != threshold:
                    updates.append((stage, "threshold_db", threshold))
            master.extend(self._limiter)
        for gone in set(self._built) - seen:
            del self._built[gone]
        runtime = MixRuntime(gains, chains, pedalboard.Pedalboard(master) if master else None,
                             db_to_gain(mix.master_volume_db), dict(mix.audible), sends)
        return runtime, updates

    def _chain(self, effects: tuple[EffectSpec, ...], updates: list[tuple[Any, str, float]],
               seen: set[str]) -> list[Any]:
        out: list[Any] = []
        for spec in effects:
            seen.add(spec.id)
            built = self._built.get(spec.id)
            if built is not None and (built.spec.type, built.spec.plugin) == (spec.type,
                                                                             spec.plugin):
                updates.extend(self.factory.param_updates(spec, built.plugins, built.spec))
                built.spec = spec
            else:
                try:
                    built = _Built(spec, self.factory.build(spec))
                except EffectError as exc:
                    if (spec.id, spec.plugin) not in self._failed:
                        self._failed.add((spec.id, spec.plugin))
                        self.messages.append(str(exc))
                    continue
                self._built[spec.id] = built
            if not spec.bypass:
                out.extend(built.plugins)
        return out
