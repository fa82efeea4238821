"""Where in time a chord recognizer's majmin errors lie: near chord changes (late or
early labels) or inside chords (wrong chords).

`python -m benchmarks.chords_error_timing [SET...]` runs the shipped model
(`runtime.analyze_file`, default options) on each rendered clip of the sets
(`benchmarks.chords_sets`: build/chords/<set>/, rendered from the committed manifest
where missing) and scores each 10 ms of the reference with mir_eval's majmin rule. Per
set, the JSON gives the points of majmin error (over all majmin-scored time) by the
distance to the nearest reference chord change (`error_points`, with the share of
scored time in each band, `time_share`), and `change_offset_ms`: the distribution of
(decoded change - reference change) over the changes where the decoder moves to a
chord that majmin counts right within 300 ms (negative: early). A decoder whose errors
are timing has them in the first bands; a recognizer that names wrong chords has them
in the last.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import mir_eval
import numpy as np

from benchmarks.chords_scoring import Segments, read_lab

STEP_S = 0.01
# Upper edges of the distance bands, seconds (the last band is everything beyond).
BAND_EDGES = (0.05, 0.1, 0.2, 0.4)
BAND_NAMES = ("under_50ms", "50_100ms", "100_200ms", "200_400ms", "over_400ms")
MATCH_S = 0.3  # a decoded change this close to a reference change may be its match


def _grid(segments: Segments, t: np.ndarray) -> list[str]:
    labels = np.full(len(t), "N", dtype=object)
    for start, end, label in segments:
        labels[(t >= start) & (t < end)] = label
    return [str(x) for x in labels]


def _majmin(ref: Sequence[str], est: Sequence[str]) -> np.ndarray:
    return np.asarray(mir_eval.chord.majmin(list(ref), list(est)), dtype=float)


def error_by_distance(ref: Segments, est: Segments) -> tuple[np.ndarray, np.ndarray]:
    """(error seconds per band, scored seconds per band) for one clip; bands by the
    distance of each 10-ms step to the nearest reference change (none: all far)."""
    if not ref:
        return np.zeros(len(BAND_NAMES)), np.zeros(len(BAND_NAMES))
    t = np.arange(0.0, ref[-1][1], STEP_S) + STEP_S / 2
    score = _majmin(_grid(ref, t), _grid(est, t))
    counted = score >= 0
    changes = np.array([start for start, _, _ in ref[1:]])
    if changes.size:
        dist = np.min(np.abs(t[:, None] - changes[None, :]), axis=1)
    else:
        dist = np.full(len(t), np.inf)
    band = np.searchsorted(np.array(BAND_EDGES), dist)
    err = np.zeros(len(BAND_NAMES))
    total = np.zeros(len(BAND_NAMES))
    for b in range(len(BAND_NAMES)):
        m = counted & (band == b)
        err[b] = float((1.0 - score[m]).sum()) * STEP_S
        total[b] = float(m.sum()) * STEP_S
    return err, total


def change_offsets(ref: Segments, est: Segments) -> list[float]:
    """Seconds from each reference change to the nearest decoded change, where that
    decoded change (within MATCH_S) moves to a chord majmin counts as the new one."""
    starts = np.array([start for start, _, _ in est[1:]])
    out: list[float] = []
    if starts.size == 0:
        return out
    for start, _, label in ref[1:]:
        j = int(np.argmin(np.abs(starts - start)))
        if abs(starts[j] - start) < MATCH_S and _majmin([label], [est[j + 1][2]])[0] == 1:
            out.append(float(starts[j] - start))
    return out


def summarize(pairs: Sequence[tuple[Segments, Segments]]) -> dict[str, Any]:
    """The JSON entry of one set from (reference, estimate) pairs."""
    err = np.zeros(len(BAND_NAMES))
    total = np.zeros(len(BAND_NAMES))
    offsets: list[float] = []
    for ref, est in pairs:
        e, n = error_by_distance(ref, est)
        err += e
        total += n
        offsets += change_offsets(ref, est)
    scored = float(total.sum())
    res: dict[str, Any] = {
        "clips": len(pairs),
        "error_points": {k: round(100 * float(v) / scored, 2) if scored else None
                         for k, v in zip(BAND_NAMES, err, strict=True)},
        "time_share": {k: round(float(v) / scored, 3) if scored else None
                       for k, v in zip(BAND_NAMES, total, strict=True)},
        "majmin": round(1 - float(err.sum()) / scored, 4) if scored else None,
    }
    if offsets:
        ms = 1000 * np.array(offsets)
        p10, p25, p50, p75, p90 = np.percentile(ms, [10, 25, 50, 75, 90])
        res["change_offset_ms"] = {"matched": len(offsets), "p10": round(p10, 1),
                                   "p25": round(p25, 1), "median": round(p50, 1),
                                   "p75": round(p75, 1), "p90": round(p90, 1)}
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="*", default=["valid", "valid_freepats", "unseen_timbre"])
    args = ap.parse_args(argv)

    from benchmarks.chords_sets import load_set
    from models.chords import runtime

    out: dict[str, Any] = {}
    for name in args.sets:
        pairs = []
        for clip in load_set(name):
            analysis = runtime.analyze_file(clip.audio, threads=1)
            est = [(s.start, s.end, s.label) for s in analysis.segments]
            pairs.append((read_lab(clip.lab), est))
        out[name] = summarize(pairs)
        print(f"{name}: {json.dumps(out[name])}", flush=True)
    print(json.dumps({"sets": out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
