"""How much of a chord evaluation set's reference is, note for note, another chord.

`python -m benchmarks.chords_ambiguity [SET...]` rebuilds each clip's performance from
its committed manifest (the notes the renderer played; no audio needed) and checks
every labelled chord span against the pitch classes that start sounding in it. A span
is *ambiguous* when a chord of the vocabulary whose majmin reading differs from the
label's explains the notes at least as well:

- `root_position_other`: the notes are exactly another chord in root position on the
  bass played, while the label's chord is inverted or incomplete (C:maj6/6 played
  A C E G is A:min7);
- `complete_other`: the label's chord is incomplete (the renderer leaves out a perfect
  fifth above three voices) and the notes are exactly another chord, the bass one of
  its tones (C:min6 without its fifth, C Eb A, is A:dim/C);
- `inverted_tie`: the label's chord is complete but inverted, and another chord has
  the same notes (C:maj6/3, E G A C, is A:min7/5).

Only spans mir_eval's majmin scores count (maj and min families). The JSON gives each
share of the majmin-scored reference time, the share of the closing no-chord second
(the labels say N from the last note-off while the release still sounds: a
recognizer that names the ringing chord loses up to this share), and
`majmin_ceiling_half`: the majmin of a recognizer right on every clear span and on
the closing second, and right on half of the ambiguous time. It is an estimate of what
the set allows, not a bound: a recognizer that learned the renderer's habits can beat
chance on the ambiguous spans.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from models.chords import manifest as mf
from models.chords.performance import DRUM_CH, Performance
from models.chords.render import performance_of
from models.chords.vocabulary import QUALITIES, Chord, parse

SETS = ("valid", "valid_music21", "unseen_timbre", "music21")
KINDS = ("clear", "root_position_other", "complete_other", "inverted_tie")
_MAJ = {"maj", "7", "maj7", "maj6"}
_MIN = {"min", "min7", "min6"}
# Notes struck this long before a span's start (a strum's first string) belong to it.
_EARLY_S = 0.05


def majmin_class(chord: Chord) -> tuple[int, str] | None:
    """(root, "maj" | "min") as mir_eval's majmin reads the chord; None when it is out
    of majmin's gamut (dim, aug, sus, hdim7, dim7) or no-chord."""
    if chord.is_no_chord:
        return None
    if chord.quality in _MAJ:
        return chord.root, "maj"
    if chord.quality in _MIN:
        return chord.root, "min"
    return None


def _chords_of_pitch_classes() -> dict[frozenset[int], list[Chord]]:
    out: dict[frozenset[int], list[Chord]] = {}
    for root in range(12):
        for quality in QUALITIES:
            chord = Chord(root, quality)
            out.setdefault(frozenset(chord.pitch_classes), []).append(chord)
    return out


_BY_PCS = _chords_of_pitch_classes()


def classify(label: Chord, sounding: frozenset[int], bass: int) -> str:
    """The ambiguity kind (KINDS) of a span labelled ``label`` whose notes have pitch
    classes ``sounding`` with ``bass`` lowest."""
    mine = majmin_class(label)
    others = [c for c in _BY_PCS.get(sounding, []) if majmin_class(c) != mine]
    complete = frozenset(label.pitch_classes) == sounding
    if complete and not label.is_inversion:
        return "clear"
    if any(c.root == bass for c in others):
        return "root_position_other"
    if not complete and any(bass in c.pitch_classes for c in others):
        return "complete_other"
    if complete and others:
        return "inverted_tie"
    return "clear"


def spans_of(perf: Performance) -> list[tuple[float, float, str, str]]:
    """(start, end, label, kind) of every chord span of a performance."""
    out = []
    for seg in perf.segments:
        if seg.label == "N":
            continue
        notes = [n for n in perf.notes if n.channel != DRUM_CH
                 and seg.start - _EARLY_S <= n.start < seg.end]
        if not notes:
            out.append((seg.start, seg.end, seg.label, "clear"))
            continue
        bass = min(notes, key=lambda n: n.pitch).pitch % 12
        kind = classify(parse(seg.label), frozenset(n.pitch % 12 for n in notes), bass)
        out.append((seg.start, seg.end, seg.label, kind))
    return out


def measure(set_name: str) -> dict[str, Any]:
    data = mf.load(mf.MANIFEST_DIR / f"{set_name}.json")
    time: defaultdict[str, float] = defaultdict(float)
    by_source: defaultdict[str, float] = defaultdict(float)
    tail = 0.0
    for entry in data["clips"]:
        perf = performance_of(entry)
        for start, end, label, kind in spans_of(perf):
            if majmin_class(parse(label)) is None:
                continue
            time[kind] += end - start
            if kind != "clear":
                by_source[entry["source"]["kind"]] += end - start
        last = perf.segments[-1]
        if last.label == "N":
            tail += last.end - last.start
    scored = sum(time.values()) + tail
    ambiguous = sum(v for k, v in time.items() if k != "clear")
    return {
        "clips": len(data["clips"]),
        "majmin_scored_s": round(scored, 1),
        "shares": {k: round(time[k] / scored, 4) for k in KINDS},
        "closing_no_chord_share": round(tail / scored, 4),
        "ambiguous_s_by_source": {k: round(v, 1) for k, v in sorted(by_source.items())},
        "majmin_ceiling_half": round((time["clear"] + tail + 0.5 * ambiguous) / scored, 4),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="*", metavar="SET", help=f"of {', '.join(SETS)} (all)")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.sets) - set(SETS))
    if unknown:
        ap.error(f"unknown sets {unknown}; choose from {', '.join(SETS)}")
    result = {"sets": {name: measure(name) for name in args.sets or SETS}}
    for name, r in result["sets"].items():
        print(f"{name}: ambiguous {1 - r['shares']['clear'] - r['closing_no_chord_share']:.3f}"
              f" of majmin time, closing N {r['closing_no_chord_share']:.3f}, "
              f"ceiling (half the ambiguous) {r['majmin_ceiling_half']:.3f}", flush=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
