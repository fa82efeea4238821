"""Helpers for the analysis tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.jack_server import feed_engine_inputs


@dataclass(frozen=True)
class Seg:
    """A chord segment as the runtime's Analysis carries it (seconds)."""

    start: float
    end: float
    label: str
    confidence: float = 0.9


@dataclass(frozen=True)
class Result:
    """The fields of an analysis the chord-track writer reads (data for its tests)."""

    segments: list[Seg]
    duration: float
    key: Any = None
    tempo: float | None = None
    beats: list[float] = field(default_factory=list)


def render_clip(rate: int, template: str = "pop/axis", tonic: int = 0, repeats: int = 1,
                tempo: float = 100.0, program: int = 0, beats_per_bar: int = 4
                ) -> tuple[np.ndarray, list[Any]]:
    """A FluidSynth render (FluidR3 GM, the CI SoundFont) of a template progression:
    stereo float32 at `rate`, and its labelled segments (seconds, Harte)."""
    from models.chords.performance import PlayStyle, perform
    from models.chords.progressions import from_template
    from models.chords.soundfonts import SOUNDFONTS_BY_NAME
    from models.chords.synth_offline import OfflineSynth

    prog = from_template(template, tonic, repeats, beats_per_bar)
    perf = perform(prog, PlayStyle(texture="strum", tempo=tempo, lead_in=0.3, tail=0.5),
                   np.random.default_rng(7))
    synth = OfflineSynth(Path(SOUNDFONTS_BY_NAME["FluidR3_GM"].path), rate)
    try:
        audio = synth.render(perf, {0: program})
    finally:
        synth.close()
    return audio, list(perf.segments)


def with_hum(audio: np.ndarray, rate: float, peak_db: float) -> np.ndarray:
    """``audio`` ([n] or [n, channels]) with steady 50 Hz mains hum added to every
    channel: the mains and its harmonics to 1 kHz, falling as 1/k, peaking at
    ``peak_db`` dBFS."""
    t = np.arange(len(audio)) / rate
    hum = sum(np.sin(2 * np.pi * 50.0 * k * t + k) / k for k in range(1, 21))
    hum = hum * 10 ** (peak_db / 20) / np.abs(hum).max()
    x = np.asarray(audio)
    return (x + (hum[:, None] if x.ndim == 2 else hum)).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray, rate: int) -> Path:
    import soundfile as sf

    sf.write(str(path), audio, rate, subtype="PCM_16")
    return path


class JackPlayer:
    """A separate JACK client that loops a clip into the engine's audio inputs (as a
    guitar on the sound card's input would), connected to every
    `StrumSpace-audio:in_*` port and to nothing else."""

    def __init__(self, audio: np.ndarray, name: str = "StrumSpace-test-player") -> None:
        import jack

        self.audio = np.ascontiguousarray(audio.mean(axis=1) if audio.ndim == 2 else audio,
                                          dtype=np.float32)
        self.pos = 0
        self.client = jack.Client(name, no_start_server=True)
        self.port = self.client.outports.register("out")
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        buf = self.port.get_array()
        n, clip = 0, self.audio
        while n < frames:
            take = min(frames - n, len(clip) - self.pos)
            buf[n:n + take] = clip[self.pos:self.pos + take]
            n += take
            self.pos = (self.pos + take) % len(clip)

    def connect_to_engine(self) -> int:
        return feed_engine_inputs(self.client, self.port)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def wait_for(pred: Any, timeout: float = 30.0, what: str = "condition",
             every: float = 0.05) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def process_gone(pid: int) -> bool:
    """Whether process `pid` has exited (gone, or a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def real_model() -> bool:
    """Whether the committed chord model is the trained one (not the smoke export)."""
    import json

    meta = json.loads((Path(__file__).parents[2] / "models/chords/artifacts/chords.json")
                      .read_text())
    version = str(meta.get("model_version", ""))
    return bool(version) and "untrained" not in version and "smoke" not in version


def time_weighted_root_accuracy(ref: list[Any], est: list[tuple[float, float, str]]) -> float:
    """Share of the labelled (non-N) reference time whose estimated root matches."""
    from models.chords.vocabulary import parse

    hit = total = 0.0
    for r in ref:
        if r.label == "N":
            continue
        root = parse(r.label).root
        total += r.end - r.start
        for a, b, label in est:
            overlap = min(b, r.end) - max(a, r.start)
            if overlap > 0 and label != "N" and parse(label).root == root:
                hit += overlap
    return hit / total if total else 0.0
