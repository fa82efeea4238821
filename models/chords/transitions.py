"""How often one chord follows another, counted from training labels: the `hmm`
decoder's transition model.

Counts are transposition-invariant: a change is (quality before, quality after, root
interval), so C -> G and F -> C count as the same maj -> maj up a fifth; no-chord is a
quality of its own with no root. The table is small (14 x 14 x 12) and lives beside
this module (``chord_transitions.json``); the decoder turns it into log P(next | chord,
a change happens) for the 157 classes (``log_transitions``).

Rebuild it from the rendered training sets (DATA.md, Commands):

    python -m models.chords.transitions build/chords/train build/chords/train_wide
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

from models.chords.vocabulary import N_INDEX, NUM_CLASSES, NUM_QUALITIES, QUALITIES, parse

TABLE_PATH = Path(__file__).with_name("chord_transitions.json")
FORMAT = 1
NO_CHORD_Q = NUM_QUALITIES  # no-chord's row and column in the counts
SMOOTHING = 1.0  # added to every count: a change never seen is rare, not impossible


class TransitionTableError(ValueError):
    pass


def class_of(label: str) -> int:
    """The decoder class (0..156) of a Harte label; the bass is not part of it."""
    return parse(label).index


def _quality(cls: int) -> int:
    return NO_CHORD_Q if cls == N_INDEX else cls % NUM_QUALITIES


def _interval(a: int, b: int) -> int:
    if N_INDEX in (a, b):
        return 0
    return (b // NUM_QUALITIES - a // NUM_QUALITIES) % 12


def count_changes(sequences: Iterable[Iterable[int]]) -> np.ndarray:
    """[14, 14, 12] counts of changes (quality before, quality after, root interval);
    repeats of one class within a sequence are one chord, not a change."""
    counts = np.zeros((NO_CHORD_Q + 1, NO_CHORD_Q + 1, 12), dtype=np.int64)
    for seq in sequences:
        prev = -1
        for cls in seq:
            if prev >= 0 and cls != prev:
                counts[_quality(prev), _quality(cls), _interval(prev, cls)] += 1
            prev = cls
    return counts


def lab_sequence(path: Path) -> list[int]:
    """The classes of a MIREX .lab file's segments, in order."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise TransitionTableError(f"{path}:{n}: expected start, end and label")
        out.append(class_of(parts[2]))
    return out


def log_transitions(counts: np.ndarray, smoothing: float = SMOOTHING) -> np.ndarray:
    """[157, 157] log P(b | a, the chord changes), each row over the 156 other classes;
    the diagonal (no change) is 0, which the decoder never reads. A change to or from
    no-chord has no interval: its count is shared by the 12 roots."""
    if counts.shape != (NO_CHORD_Q + 1, NO_CHORD_Q + 1, 12) or (counts < 0).any():
        raise TransitionTableError(f"transition counts must be non-negative "
                                   f"[{NO_CHORD_Q + 1}, {NO_CHORD_Q + 1}, 12]")
    cls = np.arange(NUM_CLASSES)
    q = np.where(cls == N_INDEX, NO_CHORD_Q, cls % NUM_QUALITIES)
    root = cls // NUM_QUALITIES
    iv = (root[None, :] - root[:, None]) % 12
    either_n = (cls[:, None] == N_INDEX) | (cls[None, :] == N_INDEX)
    iv = np.where(either_n, 0, iv)
    weight = counts[q[:, None], q[None, :], iv].astype(np.float64) + smoothing
    # One N -> maj count is for any of the 12 roots; N -> N never happens.
    weight = np.where(either_n & (cls[:, None] != cls[None, :]),
                      weight / np.where(cls[None, :] == N_INDEX, 1.0, 12.0), weight)
    np.fill_diagonal(weight, 0.0)
    out = np.log(weight / weight.sum(axis=1, keepdims=True), where=weight > 0,
                 out=np.zeros_like(weight))
    np.fill_diagonal(out, 0.0)
    return out


def save_table(counts: np.ndarray, sources: list[str], path: Path = TABLE_PATH) -> None:
    path.write_text(json.dumps({
        "format": FORMAT, "qualities": [*QUALITIES, "N"], "sources": sources,
        "changes": int(counts.sum()), "counts": counts.tolist()}, indent=None) + "\n")


def load_table(path: Path = TABLE_PATH) -> np.ndarray:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise TransitionTableError(f"cannot read the chord transition table {path}: "
                                   f"{exc}") from exc
    if doc.get("format") != FORMAT or doc.get("qualities") != [*QUALITIES, "N"]:
        raise TransitionTableError(f"{path} is not a transition table for this "
                                   "vocabulary (format or qualities differ)")
    counts = np.asarray(doc["counts"], dtype=np.int64)
    log_transitions(counts)  # validates the shape
    return counts


@lru_cache(maxsize=4)
def switch_bonus(weight: float) -> np.ndarray:
    """[157, 157] what the decoder adds to a change from a to b: ``weight`` times how
    much likelier the change is than one to any class at random (0 for a change as
    likely as uniform), so the switch penalty keeps its meaning."""
    bonus = weight * (log_transitions(load_table()) + np.log(NUM_CLASSES - 1))
    np.fill_diagonal(bonus, 0.0)
    bonus.setflags(write=False)
    return bonus


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m models.chords.transitions",
        description="Count chord changes in rendered training sets' labels into "
                    "models/chords/chord_transitions.json")
    ap.add_argument("sets", nargs="+", type=Path, help="set folders (with labels/*.lab)")
    ap.add_argument("--out", type=Path, default=TABLE_PATH)
    args = ap.parse_args(argv)
    files: list[Path] = []
    sources = []
    for d in args.sets:
        found = sorted((d / "labels").glob("*.lab"))
        if not found:
            ap.error(f"{d} has no labels/*.lab")
        if any(word in d.name for word in ("valid", "unseen", "music21")):
            ap.error(f"{d} is an evaluation set: the table counts training labels only")
        files += found
        sources.append(f"{d.name} ({len(found)} clips)")
    counts = count_changes(lab_sequence(f) for f in files)
    save_table(counts, sources, args.out)
    print(f"{int(counts.sum())} changes from {len(files)} clips -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
