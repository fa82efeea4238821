"""Writing an analysis out, and chord names for people.

- ``to_lab``: MIREX ``.lab`` (start, end, Harte label per line, tab-separated);
  ``read_lab`` reads one back.
- ``to_json``: the document of ``cloud.analysis.schema`` (``Analysis.to_json``).
- ``to_chart``: a plain chord chart by bars (``| C    | G    | Am   F    | F    |``).
- ``chord_name(label, style, prefer_flats)``: a label in one of three notations,
  ``STYLES``: "simple" (``C``, ``Am``: triads only, for beginners), "standard"
  (``Cmaj7``, ``Am7``, ``Bm7b5``) and "jazz" (``C△7``, ``A−7``, ``Bø7``, ``C°7``).
  Sharps or flats: ``prefer_flats`` (``key_tempo.prefers_flats`` of the song's key).
- ``capo_label(label, capo)``: the chord shape to finger with a capo on fret ``capo``;
  ``best_capo`` suggests the fret that leaves the most open-position shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeGuard

import numpy as np

from models.chords.vocabulary import (
    FLAT_NAMES,
    QUALITIES,
    SHARP_NAMES,
    Chord,
    ChordLabelError,
    parse,
)

if TYPE_CHECKING:
    from models.chords.runtime import Analysis

FORMATS = ("lab", "json", "chart")
STYLES = ("simple", "standard", "jazz")
# The issue names the styles by example; both spellings are accepted.
STYLE_ALIASES = {"C": "simple", "Cmaj7": "standard", "C△7": "jazz"}
NO_CHORD_NAME = "N.C."

# quality -> suffix after the root, per style. "simple" reduces tetrads to the triad a
# beginner would play (sevenths drop the seventh; hdim7 and dim7 stay diminished).
_SUFFIX: dict[str, dict[str, str]] = {
    "simple": {"maj": "", "min": "m", "7": "", "maj7": "", "min7": "m", "dim": "dim",
               "aug": "aug", "sus2": "sus2", "sus4": "sus4", "hdim7": "dim", "dim7": "dim",
               "maj6": "", "min6": "m"},
    "standard": {"maj": "", "min": "m", "7": "7", "maj7": "maj7", "min7": "m7", "dim": "dim",
                 "aug": "aug", "sus2": "sus2", "sus4": "sus4", "hdim7": "m7b5",
                 "dim7": "dim7", "maj6": "6", "min6": "m6"},
    "jazz": {"maj": "", "min": "−", "7": "7", "maj7": "△7", "min7": "−7", "dim": "°",
             "aug": "+", "sus2": "sus2", "sus4": "sus4", "hdim7": "ø7", "dim7": "°7",
             "maj6": "6", "min6": "−6"},
}
assert all(set(v) == set(QUALITIES) for v in _SUFFIX.values())


class FormatError(ValueError):
    """An unknown format or notation style, or a .lab that does not parse."""


def _style(style: str) -> str:
    s = STYLE_ALIASES.get(style, style)
    if s not in _SUFFIX:
        raise FormatError(f"unknown chord notation {style!r}; use one of "
                          f"{', '.join(STYLES)} (or {', '.join(STYLE_ALIASES)})")
    return s


def note_name(pc: int, prefer_flats: bool = False) -> str:
    return (FLAT_NAMES if prefer_flats else SHARP_NAMES)[pc % 12]


def chord_name(label: str | Chord, style: str = "standard", prefer_flats: bool = False,
               show_bass: bool = True) -> str:
    """A readable chord name: ``chord_name("A:min7/b3", "standard")`` -> ``Am7/C``.
    An inversion is written as a slash chord with the bass note's name (``show_bass``
    False drops it); no-chord is ``N.C.``."""
    chord = parse(label) if isinstance(label, str) else label
    if chord.is_no_chord:
        return NO_CHORD_NAME
    name = note_name(chord.root, prefer_flats) + _SUFFIX[_style(style)][chord.quality]
    if show_bass and chord.is_inversion:
        name += "/" + note_name(chord.bass_pc, prefer_flats)
    return name


def capo_label(label: str, capo: int, prefer_flats: bool = False) -> str:
    """The Harte label of the shape to finger with a capo on fret ``capo`` (0..11):
    the sounding chord moved down ``capo`` semitones (a C with capo 3 is an A shape)."""
    if not 0 <= capo < 12:
        raise FormatError(f"capo fret {capo} is not 0..11")
    return parse(label).transpose(-capo).label(prefer_flats)


# Open-position shapes every guitarist knows (root pitch class, quality).
_OPEN_SHAPES = frozenset({
    (0, "maj"), (2, "maj"), (4, "maj"), (7, "maj"), (9, "maj"),
    (2, "min"), (4, "min"), (9, "min"),
    (0, "7"), (2, "7"), (4, "7"), (7, "7"), (9, "7"), (11, "7"),
    (0, "maj7"), (2, "maj7"), (4, "maj7"), (5, "maj7"), (7, "maj7"), (9, "maj7"),
    (2, "min7"), (4, "min7"), (9, "min7"),
    (2, "sus2"), (9, "sus2"), (2, "sus4"), (4, "sus4"), (9, "sus4"),
    (0, "maj6"), (2, "maj6"), (4, "maj6"), (7, "maj6"), (9, "maj6"),
})


def best_capo(labels: Iterable[tuple[str, float]], max_fret: int = 7) -> int:
    """The capo fret (0..max_fret) under which the most chord time is played with open
    shapes; ties go to the lower fret. ``labels``: (Harte label, duration) pairs."""
    items = [(parse(lab), dur) for lab, dur in labels]
    scores = []
    for capo in range(max_fret + 1):
        score = sum(dur for ch, dur in items
                    if not ch.is_no_chord and ((ch.root - capo) % 12, ch.quality) in _OPEN_SHAPES)
        scores.append(score)
    return max(range(len(scores)), key=lambda k: (scores[k], -k))


# --------------------------------------------------------------------- .lab ---


class _Span(Protocol):
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def label(self) -> str: ...


def to_lab(segments: Sequence[_Span]) -> str:
    """MIREX .lab: ``start<TAB>end<TAB>label`` per line, seconds to the microsecond."""
    return "".join(f"{s.start:.6f}\t{s.end:.6f}\t{s.label}\n" for s in segments)


def read_lab(text: str) -> list[tuple[float, float, str]]:
    """(start, end, label) rows of a .lab (tabs or spaces; blank lines skipped)."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3:
            raise FormatError(f"line {n}: expected 'start end label', got {line!r}")
        try:
            a, b = float(parts[0]), float(parts[1])
        except ValueError as exc:
            raise FormatError(f"line {n}: times are not numbers: {line!r}") from exc
        rows.append((a, b, parts[2]))
    return rows


# -------------------------------------------------------------------- chart ---


def bars_of(downbeats: Sequence[float], duration: float, beats: Sequence[float] = (),
            beats_per_bar: int = 4, default_bar: float = 2.0) -> list[tuple[float, float]]:
    """Bar spans [start, end) covering the clip: between downbeats; before the first
    and after the last, bars of the median bar length (``default_bar`` seconds without
    downbeats, i.e. 4/4 at 120 bpm)."""
    d = sorted(t for t in downbeats if 0 <= t < duration)
    if len(d) >= 2:
        bar = float(np.median(np.diff(d)))
    elif len(beats) >= 2:
        bar = beats_per_bar * (beats[-1] - beats[0]) / (len(beats) - 1)
    else:
        bar = default_bar
    bar = max(bar, 0.25)
    if not d:
        d = [0.0]
    starts = list(d)
    t = d[0]
    while t > 0.05:  # pickup bars before the first downbeat
        t = max(0.0, t - bar)
        starts.insert(0, t)
    t = d[-1] + bar
    while t < duration - 0.05:
        starts.append(t)
        t += bar
    ends = [*starts[1:], duration]
    return [(a, b) for a, b in zip(starts, ends, strict=True) if b > a]


def _bar_chords(segments: Sequence[_Span], start: float, end: float,
                min_share: float) -> list[str]:
    """Labels of the chords sounding in [start, end): each one that fills at least
    ``min_share`` of the bar, in order, repeats joined."""
    out: list[str] = []
    length = end - start
    for s in segments:
        overlap = min(s.end, end) - max(s.start, start)
        if overlap <= 0 or overlap < min_share * length:
            continue
        if not out or out[-1] != s.label:
            out.append(s.label)
    if not out:  # a bar of short chords: the longest one
        best = max(segments, key=lambda s: min(s.end, end) - max(s.start, start),
                   default=None)
        if best is not None and min(best.end, end) > max(best.start, start):
            out.append(best.label)
    return out


def _chart_name(label: str, style: str, flats: bool, capo: int) -> str:
    try:
        return chord_name(capo_label(label, capo, flats) if capo else label, style, flats)
    except ChordLabelError:  # a hand-typed label the vocabulary cannot read: as written
        return label


def _chart_flats(analysis: Analysis, capo: int) -> bool:
    """The key's spelling; with a capo, that of the key the shapes are in (F major under
    capo 3 is fingered in D major: F#, not Gb)."""
    from models.chords.key_tempo import prefers_flats

    if capo and analysis.key is not None:
        return prefers_flats((analysis.key.tonic - capo) % 12, analysis.key.mode)
    return analysis.prefers_flats


# The chart names a recording's tuning when a musician would hear it (the estimate is
# within about 6 cents: models/chords/tuning.py).
TUNING_SHOWN_CENTS = 10.0


def shows_tuning(cents: float | None) -> TypeGuard[float]:
    """Whether a recording's tuning is worth telling a musician (``TUNING_SHOWN_CENTS``)."""
    return cents is not None and abs(cents) >= TUNING_SHOWN_CENTS


def tuning_text(cents: float) -> str:
    """``+41 cents (A = 450.6 Hz)``."""
    return f"{cents:+.0f} cents (A = {440 * 2 ** (cents / 1200):.1f} Hz)"


def to_chart(analysis: Analysis, style: str = "standard", prefer_flats: bool | None = None,
             bars_per_line: int = 4, capo: int = 0, cell: int = 12) -> str:
    """A plain chord chart: a header (key, tempo, time signature, tuning when off by
    ``TUNING_SHOWN_CENTS`` or more, capo), then
    ``bars_per_line`` bars a line between bar lines ``|``; a bar holding several chords
    lists them in order (each at least an eighth of the bar); ``%`` repeats the previous
    bar. Cells are ``cell`` characters wide, or wider where a bar's chords need it. With
    ``capo`` the names are the shapes to finger."""
    flats = _chart_flats(analysis, capo) if prefer_flats is None else prefer_flats
    style = _style(style)
    head = []
    if analysis.key is not None:
        head.append(f"Key: {analysis.key.label}")
    if analysis.tempo:
        head.append(f"Tempo: {analysis.tempo:.0f} bpm")
    if analysis.beats or analysis.downbeats:
        head.append(f"Time: {analysis.beats_per_bar}/{analysis.beat_unit}")
    if shows_tuning(analysis.tuning_cents):
        head.append(f"Tuning: {tuning_text(analysis.tuning_cents)}")
    if capo:
        head.append(f"Capo: {capo}")
    lines = ["  ".join(head)] if head else []
    bars = bars_of(analysis.downbeats, analysis.duration, analysis.beats,
                   analysis.beats_per_bar)
    texts: list[str] = []
    prev: list[str] | None = None
    for a, b in bars:
        labels = _bar_chords(analysis.segments, a, b, 1 / 8)
        names = [_chart_name(lab, style, flats, capo) for lab in labels] or [NO_CHORD_NAME]
        texts.append("%" if labels and labels == prev and len(labels) == 1
                     else " ".join(names))
        prev = labels
    # One width for every cell, so that the bar lines stand in columns and a busy bar
    # keeps a space before its bar line.
    width = max([cell - 2, *map(len, texts)])
    cells = [f" {text:<{width}} " for text in texts]
    for i in range(0, len(cells), bars_per_line):
        lines.append("|" + "|".join(cells[i: i + bars_per_line]) + "|")
    return "\n".join(lines) + "\n"


def render(analysis: Analysis, fmt: str, **chart_options: object) -> str:
    """The analysis as text in ``fmt`` (``FORMATS``): what ``strumspace analyze`` writes."""
    if fmt == "lab":
        return to_lab(analysis.segments)
    if fmt == "json":
        return analysis.to_json() + "\n"
    if fmt == "chart":
        return to_chart(analysis, **chart_options)  # type: ignore[arg-type]
    raise FormatError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
