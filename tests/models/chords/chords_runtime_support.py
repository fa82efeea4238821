"""Rendered clips and model facts for the runtime and live tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import numpy as np
from chords_support import RATE, synth

from models.chords.performance import Performance, PlayStyle, perform
from models.chords.progressions import from_template
from models.chords.session import ARTIFACTS, META_FILE


@cache
def model_version() -> str:
    return str(json.loads((ARTIFACTS / META_FILE).read_text())["model_version"])


def is_real_model() -> bool:
    """The committed artifact is the trained model (not a smoke or untrained export)."""
    v = model_version()
    return not any(w in v for w in ("smoke", "untrained", "tiny"))


REAL_MODEL_REASON = ("accuracy needs the trained chord model; the committed artifact is "
                     "a smoke export")


@cache
def rendered(template: str = "pop/axis", tonic: int = 0, repeats: int = 2,
             tempo: float = 110.0, program: int = 0, texture: str = "strum",
             tail: float = 1.5, beats_per_bar: int = 4) -> tuple[np.ndarray, Performance]:
    """Stereo float32 at RATE (FluidR3_GM) and its performance (labels); the music
    starts on a bar line after a 1 s lead-in."""
    prog = from_template(template, tonic, repeats=repeats, beats_per_bar=beats_per_bar)
    style = PlayStyle(texture=texture, tempo=tempo, lead_in=1.0, tail=tail, humanize_ms=0)
    perf = perform(prog, style, np.random.default_rng(0))
    audio = synth().render(perf, {0: program})
    audio.setflags(write=False)
    return audio, perf


def mains_hum(n: int, sr: float, mains: float = 50.0, peak_db: float = -40.0,
              seed: int = 0, wander: float = 0.03) -> np.ndarray:
    """Mono mains hum as a pickup or a ground loop adds it: the mains frequency (which
    wanders by ``wander`` Hz over 23 s) and its harmonics up to 4 kHz, falling as 1/k with random
    levels and phases, over a little hiss; its peak at ``peak_db`` dBFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    phase = 2 * np.pi * np.cumsum(mains + wander * np.sin(2 * np.pi * t / 23.0)) / sr
    y = np.zeros(n)
    for k in range(1, int(4000 // mains) + 1):
        level = (1.0 if k % 2 else 0.6) / k * 10 ** (rng.uniform(-6, 0) / 20)
        y += level * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    y += 0.01 * rng.standard_normal(n)
    return (y / np.abs(y).max() * 10 ** (peak_db / 20)).astype(np.float32)


def majmin_share(reference: Iterable[tuple[float, float, str]],
                 label_at: Callable[[float], str], step: float = 0.05) -> float:
    """The share of the reference's chord time (sampled every ``step`` s, no-chord left
    out) at which ``label_at(t)`` names the chord under mir_eval's majmin comparison."""
    import mir_eval

    hits = total = 0
    for start, end, label in reference:
        if label == "N":
            continue
        for t in np.arange(start, end, step):
            hits += int(mir_eval.chord.majmin([label], [label_at(float(t))])[0] == 1.0)
            total += 1
    return hits / total


def live_display(audio: np.ndarray, block: int = 256) -> tuple[list[tuple[float, str]], Any]:
    """What a fresh ``LiveRecognizer`` shows for ``audio`` fed ``block`` samples at a
    time at RATE: (since, label) at every change, and the recognizer."""
    from models.chords.live import LiveRecognizer

    rec = LiveRecognizer(RATE)
    shown = []
    for i in range(0, audio.shape[0], block):
        e = rec.push(audio[i: i + block])
        if e is not None:
            shown.append((e.since, e.label))
    return shown, rec


def segment_at(segments: list[Any]) -> Callable[[float], str]:
    """The label of the analysis segment (``.start``, ``.end``, ``.label``) at time t."""
    return lambda t: next((s.label for s in segments if s.start <= t < s.end), "N")


def shown_at(shown: list[tuple[float, str]]) -> Callable[[float], str]:
    """The label on a display at time t, from (since, label) changes in order."""
    return lambda t: next((lab for s, lab in reversed(shown) if s <= t), "N")


__all__ = ["RATE", "is_real_model", "live_display", "mains_hum", "majmin_share",
           "model_version", "rendered",
           "segment_at", "shown_at"]
