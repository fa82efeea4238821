"""Offline FluidSynth rendering straight into numpy (no audio driver, no device).

The same library the desktop's instrument uses (pyfluidsynth's ctypes handle on the
system libfluidsynth3, see strumspace_desktop/audio/synth.py), driven by sample-exact
event times: render up to the next event with ``fluid_synth_write_float``, apply it.
FluidSynth applies events at its 64-sample block boundaries, so a note starts up to
63 samples after its time (2.9 ms at 22.05 kHz).
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

from models.chords.performance import DRUM_CH, Performance

DEFAULT_RATE = 22050


class SoundFontLoadError(RuntimeError):
    pass


def run_renderer(cmd: list[str], wav: Path, name: str, sample_rate: int,
                 timeout_s: float = 120.0) -> np.ndarray:
    """Runs a rendering program (TiMidity++, Csound) that writes ``wav`` at
    ``sample_rate``; its audio, float32 (frames, channels). A timeout, a failure or
    another rate raises SoundFontLoadError naming the program."""
    import subprocess

    import soundfile as sf

    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SoundFontLoadError(f"{name} took over {timeout_s:.0f} s") from exc
    if done.returncode != 0 or not wav.is_file():
        msg = done.stderr.decode(errors="replace").strip()[-400:]
        raise SoundFontLoadError(f"{name} failed (exit {done.returncode}): {msg}")
    audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    if rate != sample_rate:
        raise SoundFontLoadError(f"{name} wrote {rate} Hz, not {sample_rate}")
    out: np.ndarray = audio
    return out


def _lib() -> ctypes.CDLL:
    try:
        import fluidsynth
    except (ImportError, OSError) as exc:
        raise SoundFontLoadError("FluidSynth is not installed (Debian: libfluidsynth3; "
                                 "Python: pyfluidsynth)") from exc
    lib: ctypes.CDLL = fluidsynth._fl
    vp, ci, cd = ctypes.c_void_p, ctypes.c_int, ctypes.c_double
    for name, args, res in (
        ("new_fluid_settings", [], vp), ("new_fluid_synth", [vp], vp),
        ("fluid_settings_setint", [vp, ctypes.c_char_p, ci], ci),
        ("fluid_settings_setnum", [vp, ctypes.c_char_p, cd], ci),
        ("fluid_synth_sfload", [vp, ctypes.c_char_p, ci], ci),
        ("fluid_synth_program_select", [vp, ci, ci, ci, ci], ci),
        ("fluid_synth_noteon", [vp, ci, ci, ci], ci), ("fluid_synth_noteoff", [vp, ci, ci], ci),
        ("fluid_synth_cc", [vp, ci, ci, ci], ci), ("fluid_synth_pitch_bend", [vp, ci, ci], ci),
        ("fluid_synth_pitch_wheel_sens", [vp, ci, ci], ci),
        ("fluid_synth_system_reset", [vp], ci), ("fluid_synth_all_sounds_off", [vp, ci], ci),
        ("fluid_synth_write_float", [vp, ci, vp, ci, ci, vp, ci, ci], ci),
        ("fluid_synth_get_active_voice_count", [vp], ci),
        ("delete_fluid_synth", [vp], None), ("delete_fluid_settings", [vp], None),
    ):
        f = getattr(lib, name)
        f.argtypes, f.restype = args, res
    # Quiet: a missing preset is reported by has_program/render as an exception.
    lib.fluid_set_log_function.argtypes = [ci, vp, vp]
    for level in range(5):
        lib.fluid_set_log_function(level, None, None)
    return lib


class OfflineSynth:
    """One synth with one SoundFont, reusable for many clips (loading a .sf3 takes
    seconds). Not thread-safe: one per worker process.

    A fresh synth renders a clip bit for bit the same every time. A reused one
    differs from that by up to about -60 dB around note starts (FluidSynth voices keep
    a little state from earlier notes), which is fine for training data; evaluation
    sets are rendered with a fresh synth per clip."""

    def __init__(self, soundfont: Path, sample_rate: int = DEFAULT_RATE,
                 fluid_effects: bool = False, gain: float = 0.5) -> None:
        if not Path(soundfont).is_file():
            raise SoundFontLoadError(f"SoundFont {soundfont} is not installed (see "
                                     "models/chords/DATA.md for the Debian packages)")
        self._l = _lib()
        self._settings = self._l.new_fluid_settings()
        for key, value in (("synth.polyphony", 256), ("synth.cpu-cores", 1),
                           ("synth.reverb.active", int(fluid_effects)),
                           ("synth.chorus.active", int(fluid_effects))):
            self._l.fluid_settings_setint(self._settings, key.encode(), value)
        self._l.fluid_settings_setnum(self._settings, b"synth.sample-rate", float(sample_rate))
        self._l.fluid_settings_setnum(self._settings, b"synth.gain", gain)
        self._synth = self._l.new_fluid_synth(self._settings)
        self.sfid = self._l.fluid_synth_sfload(self._synth, os.fsencode(soundfont), 1)
        if self.sfid < 0:
            self.close()
            raise SoundFontLoadError(f"FluidSynth could not load {soundfont}")
        self.sample_rate = sample_rate
        self.soundfont = Path(soundfont)
        self._frames_done = 0  # FluidSynth renders in 64-frame blocks: track the phase

    def _silence(self) -> None:
        """Stop the previous clip's voices and start on a fresh 64-frame block.

        all_sounds_off takes effect in the next rendered block and a system reset
        before then revives the voices, so: kill, render past the leftover of the
        current block and one more, reset, render one more block. Starting on a block
        boundary keeps event timing independent of the previous clip's length."""
        lib, synth = self._l, self._synth
        for ch in range(16):
            lib.fluid_synth_all_sounds_off(synth, ch)
        pad = (-self._frames_done) % 64 + 64
        scratch = np.zeros((pad, 2), dtype=np.float32)
        ptr = scratch.ctypes.data
        lib.fluid_synth_write_float(synth, pad, ptr, 0, 2, ptr, 1, 2)
        lib.fluid_synth_system_reset(synth)
        lib.fluid_synth_write_float(synth, 64, ptr, 0, 2, ptr, 1, 2)
        self._frames_done += pad + 64

    def has_program(self, program: int, bank: int = 0) -> bool:
        ok = self._l.fluid_synth_program_select(self._synth, 0, self.sfid, bank, program) == 0
        self._l.fluid_synth_system_reset(self._synth)
        return ok

    def render(self, perf: Performance, programs: dict[int, int], detune_cents: float = 0.0
               ) -> np.ndarray:
        """Stereo float32 audio, shape (frames, 2), of the whole performance."""
        lib, synth, sr = self._l, self._synth, self.sample_rate
        self._silence()
        for ch, prog in programs.items():
            bank = 128 if ch == DRUM_CH else 0
            if lib.fluid_synth_program_select(synth, ch, self.sfid, bank, prog) != 0:
                raise SoundFontLoadError(f"{self.soundfont.name} has no program {prog} "
                                         f"(bank {bank})")
            if ch != DRUM_CH:
                # Detune: a one-semitone bend range, then a static bend.
                lib.fluid_synth_pitch_wheel_sens(synth, ch, 1)
                bend = 8192 + round(detune_cents / 100 * 8191)
                lib.fluid_synth_pitch_bend(synth, ch, int(np.clip(bend, 0, 16383)))
        events = sorted([(round(n.start * sr), 1, n) for n in perf.notes]
                        + [(round(n.end * sr), 0, n) for n in perf.notes],
                        key=lambda e: (e[0], e[1]))
        total = round(perf.duration * sr)
        out = np.zeros((total, 2), dtype=np.float32)
        base = out.ctypes.data
        pos = 0

        def run_to(frame: int) -> None:
            nonlocal pos
            frame = min(frame, total)
            if frame > pos:
                ptr = base + pos * 8  # 2 channels x 4 bytes
                lib.fluid_synth_write_float(synth, frame - pos, ptr, 0, 2, ptr, 1, 2)
                pos = frame

        for frame, kind, n in events:
            run_to(frame)
            if kind:
                lib.fluid_synth_noteon(synth, n.channel, n.pitch, n.velocity)
            else:
                lib.fluid_synth_noteoff(synth, n.channel, n.pitch)
        run_to(total)
        self._frames_done += total
        return out

    def close(self) -> None:
        if getattr(self, "_synth", None):
            self._l.delete_fluid_synth(self._synth)
            self._synth = None
        if getattr(self, "_settings", None):
            self._l.delete_fluid_settings(self._settings)
            self._settings = None

    def __del__(self) -> None:
        self.close()
