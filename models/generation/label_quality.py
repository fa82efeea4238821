"""How good are the chord labels? Measured where a better reference exists.

    python -m models.generation.label_quality     # writes label_quality.json

* texture labels (every voice, per beat) against the human Roman-numeral analyses
  of the chorales that have one;
* weak labels (melody only, per bar or half bar) against the texture labels of all
  chorales, and against the human analyses;
* a floor: the tonic triad everywhere.
Agreement is the fraction of beats (or bars) whose root matches ("root"), whose
root and triad type match with sevenths ignored ("triad"), and whose full label
matches ("exact").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from models.generation import dataset_cache, harmony
from models.generation.piece import MAJOR, Piece

DEFAULT_OUT = Path(__file__).with_name("label_quality.json")
# Seventh chords reduced to their triad: 7, maj7 -> maj; min7 -> min; hdim7, dim7 -> dim.
_TRIAD = np.array([0, 1, 2, 3, 0, 0, 1, 2, 2])


def _agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float | int]:
    """a, b: (n, 2) rows of (root, quality) at the same instants."""
    both = (a[:, 0] >= 0) & (b[:, 0] >= 0)
    a, b = a[both], b[both]
    n = len(a)
    if n == 0:
        return {"n": 0}
    root = a[:, 0] == b[:, 0]
    triad = root & (_TRIAD[a[:, 1]] == _TRIAD[b[:, 1]])
    exact = root & (a[:, 1] == b[:, 1])
    return {"n": n, "root": round(float(root.mean()), 3), "triad": round(float(triad.mean()), 3),
            "exact": round(float(exact.mean()), 3)}


def _beats(piece: Piece) -> np.ndarray:
    return np.array([s for s, _ in harmony.segments(piece.bars, piece.end_tick(), "beat")])


def _bar_majority(chords: np.ndarray, piece: Piece) -> np.ndarray:
    """Per bar, the chord that lasts longest within it."""
    rows = []
    for start, stop in harmony.segments(piece.bars, piece.end_tick(), "bar"):
        best, best_len = (-1, 0), 0
        for onset, dur, root, qual in chords.tolist():
            overlap = min(stop, onset + dur) - max(start, onset)
            if overlap > best_len and root >= 0:
                best, best_len = (root, qual), overlap
        rows.append(best)
    return np.array(rows, dtype=np.int32).reshape(-1, 2)


def weak_for(piece: Piece, per: str) -> np.ndarray:
    tonic, family = int(piece.keys[0, 1]), int(piece.keys[0, 2])
    return harmony.weak_chords(piece.notes, piece.bars, tonic,
                               "major" if family == MAJOR else "minor", piece.end_tick(), per)


def tonic_for(piece: Piece) -> np.ndarray:
    tonic, family = int(piece.keys[0, 1]), int(piece.keys[0, 2])
    return np.array([[0, piece.end_tick(), tonic, family]], dtype=np.int32)


def measure(dataset: dataset_cache.Dataset) -> dict[str, object]:
    chorales = [p for p in dataset.pieces if p.source == "bach_chorales" and len(p.notes)]
    analyses = {p.link: p for p in dataset.pieces if p.source == "bach_rn" and p.link}
    acc: dict[str, list[np.ndarray]] = {}

    def add(name: str, a: np.ndarray, b: np.ndarray) -> None:
        acc.setdefault(name, []).append(np.concatenate([a, b], axis=1))

    for p in chorales:
        beats = _beats(p)
        ref = harmony.chord_at(p.chords, beats)
        for per in ("bar", "half"):
            weak = weak_for(p, per)
            add(f"weak_{per}_vs_texture_per_beat", harmony.chord_at(weak, beats), ref)
        add("tonic_vs_texture_per_beat", harmony.chord_at(tonic_for(p), beats), ref)
        bar_starts = np.array([s for s, _ in harmony.segments(p.bars, p.end_tick(), "bar")])
        add("weak_bar_vs_texture_bar_majority",
            harmony.chord_at(weak_for(p, "bar"), bar_starts), _bar_majority(p.chords, p))
        human = analyses.get(p.link)
        if human is not None and len(human.bars) and np.array_equal(human.bars[:, 0],
                                                                      p.bars[:len(human.bars), 0]):
            gold = harmony.chord_at(human.chords, beats)
            add("texture_vs_human_per_beat", harmony.chord_at(p.chords, beats), gold)
            add("weak_bar_vs_human_per_beat", harmony.chord_at(weak_for(p, "bar"), beats), gold)
            add("weak_half_vs_human_per_beat", harmony.chord_at(weak_for(p, "half"), beats),
                gold)
            add("tonic_vs_human_per_beat", harmony.chord_at(tonic_for(p), beats), gold)
    out: dict[str, object] = {"chorales": len(chorales),
                              "chorales_with_human_analysis": len({
                                  p.link for p in chorales if p.link in analyses})}
    for name, rows in acc.items():
        m = np.concatenate(rows)
        out[name] = _agreement(m[:, :2], m[:, 2:])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=dataset_cache.DEFAULT_PATH)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    os.nice(19)
    try:
        dataset = dataset_cache.load(args.dataset)
    except dataset_cache.DatasetError as exc:
        print(exc, file=sys.stderr)
        return 2
    result = measure(dataset)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
