"""Scoring chord transcriptions with mir_eval.chord, the same way for every recognizer.

Per clip, `mir_eval.chord.evaluate`'s recipe: the estimate is trimmed or padded with N
to the reference's span, both are merged onto common intervals, and each comparison
marks every interval correct (1), wrong (0) or out of the metric's vocabulary (-1,
left out of the weight). A set's WCSR adds the correct duration over all its clips and
divides by the counted duration (the MIREX way: long clips weigh more).
Segmentation (`seg`: 1 minus the larger directional Hamming distance, with `overseg`
and `underseg`) is the duration-weighted mean over the clips.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import mir_eval
import numpy as np

Segments = list[tuple[float, float, str]]
METRICS = ("root", "majmin", "sevenths", "tetrads", "majmin_inv", "sevenths_inv", "mirex")
SEGMENTATION = ("seg", "overseg", "underseg")


class LabError(ValueError):
    """A .lab file or a label that cannot be scored (the message names it)."""


def read_lab(path: Path) -> Segments:
    out: Segments = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(None, 2)
        if len(parts) != 3:
            raise LabError(f"{path}:{n}: expected 'start end label', got {line!r}")
        try:
            out.append((float(parts[0]), float(parts[1]), parts[2].strip()))
        except ValueError as exc:
            raise LabError(f"{path}:{n}: {exc}") from exc
    return out


def write_lab(path: Path, segments: Segments) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{a:.6f}\t{b:.6f}\t{lab}\n" for a, b, lab in segments))


@dataclass
class ClipScore:
    duration: float
    correct: dict[str, float]   # metric -> correct seconds
    counted: dict[str, float]   # metric -> seconds in the metric's vocabulary
    segmentation: dict[str, float]


def _sane(segments: Segments) -> Segments:
    """Drops empty or reversed intervals; mir_eval refuses them."""
    return [(a, b, lab) for a, b, lab in segments if b > a]


def score_clip(ref: Segments, est: Segments) -> ClipScore:
    ref, est = _sane(ref), _sane(est)
    if not ref:
        raise LabError("the reference is empty")
    if not est:
        est = [(ref[0][0], ref[-1][1], "N")]
    ri = np.array([[a, b] for a, b, _ in ref])
    ei = np.array([[a, b] for a, b, _ in est])
    rl = [lab for *_, lab in ref]
    el = [lab for *_, lab in est]
    for labels, what in ((rl, "reference"), (el, "estimate")):
        try:
            mir_eval.chord.encode_many(labels)
        except mir_eval.chord.InvalidChordException as exc:
            raise LabError(f"the {what} holds a label mir_eval refuses: {exc}") from exc
    ei, el = mir_eval.util.adjust_intervals(ei, el, ri.min(), ri.max(),
                                            mir_eval.chord.NO_CHORD, mir_eval.chord.NO_CHORD)
    intervals, r, e = mir_eval.util.merge_labeled_intervals(ri, rl, ei, el)
    durations = mir_eval.util.intervals_to_durations(intervals)
    correct, counted = {}, {}
    for name in METRICS:
        comp = np.asarray(getattr(mir_eval.chord, name)(r, e), dtype=float)
        keep = comp >= 0
        correct[name] = float(np.sum(durations[keep] * comp[keep]))
        counted[name] = float(np.sum(durations[keep]))
    seg = {"overseg": float(mir_eval.chord.overseg(ri, ei)),
           "underseg": float(mir_eval.chord.underseg(ri, ei))}
    seg["seg"] = min(seg["overseg"], seg["underseg"])
    return ClipScore(float(ri.max() - ri.min()), correct, counted, seg)


@dataclass
class SetScore:
    clips: list[ClipScore] = field(default_factory=list)

    def add(self, clip: ClipScore) -> None:
        self.clips.append(clip)

    def summary(self, digits: int = 4) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {}
        for name in METRICS:
            counted = sum(c.counted[name] for c in self.clips)
            correct = sum(c.correct[name] for c in self.clips)
            out[name] = round(correct / counted, digits) if counted else None
        total = sum(c.duration for c in self.clips)
        for name in SEGMENTATION:
            out[name] = (round(sum(c.segmentation[name] * c.duration for c in self.clips)
                               / total, digits) if total else None)
        out["clips"] = len(self.clips)
        return out


def score_set(pairs: Iterable[tuple[Segments, Segments]]) -> dict[str, float | int | None]:
    scores = SetScore()
    for ref, est in pairs:
        scores.add(score_clip(ref, est))
    return scores.summary()
