"""How well file analysis finds the bars: their length in beats (3 or 4) and where they
start.

`python -m benchmarks.chords_meter [--quick] [SET...]` runs the shipped analysis
(`runtime.analyze_file`, default options) on every clip of each set (rendered from its
committed manifest where missing: `benchmarks.chords_sets`) and scores the bars two
ways on the same beats and chord changes, in the same run:

- `detected`: what the analysis reports (`key_tempo.beats_per_bar`, then
  `key_tempo.downbeats` at that length);
- `fixed_4`: every piece in 4 (`key_tempo.downbeats` at 4), as before the bar length
  was estimated.

Per set and way: `meter_accuracy` (the share of clips whose bar length is the
manifest's `beats_per_bar`), the same for the clips in 3 and in 4, and, for the
template sets (`meter_valid`, `meter_test`: the same templates in 3/4 and 4/4 by
turns, each clip starting on a bar line after its lead-in), `downbeat_f`: the mean
over clips of mir_eval's beat F-measure (70 ms window) of the downbeats against the
reference bar lines. The chorale sets (`music21`, `valid_music21`) have no reference
bar lines here (pickups), only their metre. For the sets of steady tempo (not the
chorales) `tempo` compares the reported tempo with the played one (`tempo_scores`) and
`beat_f` is the mean beat F-measure (70 ms) against the played beats.
The JSON's last line has `sets` and `machine`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import mir_eval
import numpy as np

from benchmarks.chords import machine
from benchmarks.chords_sets import MANIFESTS, load_set
from models.chords import key_tempo
from models.chords.runtime import Analysis, analyze_file

DEFAULT_SETS = ("meter_test", "music21")
WAYS = ("detected", "fixed_4")


def reference_beats(clip: dict[str, Any], every: int = 1) -> np.ndarray:
    """Beats of a clip of steady tempo: its lead-in, then one a beat at its tempo while
    the progression lasts; `every` n-th of them."""
    spb = 60.0 / float(clip["style"]["tempo"])
    total = sum(float(beats) for _, beats in clip["spans"])
    return float(clip["style"]["lead_in"]) + spb * np.arange(0.0, total - 1e-9, every)


def reference_downbeats(clip: dict[str, Any]) -> np.ndarray:
    """Bar lines of a template clip (it starts on one): every `beats_per_bar` beats."""
    return reference_beats(clip, int(clip["beats_per_bar"]))


def bars(analysis: Analysis, way: str) -> tuple[int, np.ndarray]:
    """(beats per bar, downbeat times) of one way of placing the bars."""
    if way == "detected":
        return analysis.beats_per_bar, np.asarray(analysis.downbeats, dtype=np.float64)
    beats = np.asarray(analysis.beats, dtype=np.float64)
    changes = [s.start for s in analysis.segments[1:]]
    return 4, key_tempo.downbeats(beats, changes, 4)


def score_set(name: str, quick: bool, log: Any = sys.stderr) -> dict[str, Any]:
    manifest = json.loads((MANIFESTS / f"{name}.json").read_text())
    entries = {c["id"]: c for c in manifest["clips"]}
    clips = load_set(name, quick=quick)
    kinds = {entries[c.id]["source"]["kind"] for c in clips}
    templates, steady = kinds == {"template"}, "music21" not in kinds
    rows: dict[str, list[tuple[int, int, float | None]]] = {w: [] for w in WAYS}
    tempo_ratios: list[float | None] = []
    beat_fs: list[float] = []
    started = time.monotonic()
    for clip in clips:
        entry = entries[clip.id]
        truth = int(entry["beats_per_bar"])
        analysis = analyze_file(clip.audio)
        ref = reference_downbeats(entry) if templates else None
        if steady:
            tempo_ratios.append(None if analysis.tempo is None
                                else analysis.tempo / float(entry["style"]["tempo"]))
            beat_fs.append(float(mir_eval.beat.f_measure(reference_beats(entry),
                                                          np.asarray(analysis.beats))))
        for way in WAYS:
            meter, est = bars(analysis, way)
            f = None if ref is None else float(mir_eval.beat.f_measure(ref, est))
            rows[way].append((truth, meter, f))
    print(f"{name}: {len(clips)} clips in {time.monotonic() - started:.0f} s", file=log)
    out: dict[str, Any] = {"clips": len(clips),
                           "clips_in_3": sum(t == 3 for t, _, _ in rows["detected"])}
    for way, r in rows.items():
        scores: dict[str, Any] = {"meter_accuracy": _share([m == t for t, m, _ in r])}
        for meter in (3, 4):
            scores[f"meter_accuracy_{meter}"] = _share([m == t for t, m, _ in r if t == meter])
        if templates:
            scores["downbeat_f"] = round(float(np.mean([f for _, _, f in r
                                                        if f is not None])), 4)
            for meter in (3, 4):
                fs = [f for t, _, f in r if t == meter and f is not None]
                scores[f"downbeat_f_{meter}"] = round(float(np.mean(fs)), 4) if fs else None
        out[way] = scores
    if steady:
        out["tempo"] = tempo_scores(tempo_ratios)
        out["beat_f"] = round(float(np.mean(beat_fs)), 4)
    return out


def tempo_scores(ratios: Sequence[float | None]) -> dict[str, Any]:
    """How the reported tempo stands to the played one: the share of clips at the
    played beat's level (within 4 %), at half or double it, elsewhere (4/3, 3/2, ...)
    or without a tempo; and the relative error of those at the level (median, p90, the
    share within 1 %)."""
    level = [r for r in ratios if r is not None and abs(r - 1) < 0.04]
    octave = [r for r in ratios if r is not None and (abs(r / 2 - 1) < 0.04
                                                      or abs(2 * r - 1) < 0.04)]
    errors = np.abs(np.asarray(level) - 1)
    n = len(ratios)
    return {
        "at_level": _share([True] * len(level) + [False] * (n - len(level))),
        "half_or_double": round(len(octave) / n, 4) if n else None,
        "none": round(sum(r is None for r in ratios) / n, 4) if n else None,
        "error_median": round(float(np.median(errors)), 5) if level else None,
        "error_p90": round(float(np.percentile(errors, 90)), 5) if level else None,
        "within_1pct": round(float(np.mean(errors < 0.01)), 4) if level else None,
    }


def _share(hits: Sequence[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chords_meter",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", default=list(DEFAULT_SETS),
                        help=f"evaluation sets (default: {' '.join(DEFAULT_SETS)})")
    parser.add_argument("--quick", action="store_true",
                        help="8 clips a set, spread over it (both metres)")
    args = parser.parse_args(argv)
    result = {"sets": {name: score_set(name, args.quick) for name in args.sets},
              "quick": args.quick, "machine": machine()}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
