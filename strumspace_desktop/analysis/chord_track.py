"""Writing a file analysis into the song's chord track (Qt-free, one undo step).

Seconds of the analysed file become song ticks through the song's tempo map: file
time t lands at song time `seconds_at_tick(start_tick) + t - skip_seconds`, so an
audio region placed at `start_tick` and trimmed by `skip_seconds` gets its chords
under it. Only the part of the file that lands at tick >= 0 is written.

What is replaced: within the analysed range, earlier *recognized* items (source
"recognized", the document's name for chords that came from analysis) are removed
(one that reaches out of the range keeps its part outside);
items a musician played, edited or generated (source "played" or "generated") are
kept, and the new items are cut around them, so hand edits always win and no two
items overlap. (The chord lane sets source "played" on a recognized item the
musician renames, moves or resizes.) No-chord segments ("N") are not written: the
track's gaps say it.
Items outside the analysed range are never touched.

Key and tempo are not applied: they are handed back for the caller to offer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from models.chords.vocabulary import NO_CHORD, ChordLabelError, parse
from strumspace_desktop.core.document.model import ChordItem, ChordSource, Document
from strumspace_desktop.core.timing import TempoMap

SOURCE: ChordSource = "recognized"


class SegmentLike(Protocol):
    start: float
    end: float
    label: str
    confidence: float


class AnalysisLike(Protocol):
    @property
    def segments(self) -> Sequence[Any]: ...

    @property
    def duration(self) -> float: ...


@dataclass(frozen=True)
class ChordTrackWrite:
    """What `write_analysis` did, and what it leaves for the caller to offer."""

    added: list[str]  # new chord ids
    removed: int  # earlier recognized items replaced
    kept: int  # hand-made items inside the range, kept
    start_tick: int  # the analysed range written, [start_tick, end_tick)
    end_tick: int
    key: Any  # the analysis's key (as the runtime gives it), or None
    tempo: float | None  # the analysis's tempo in bpm, or None


def bass_of(label: str) -> int:
    """Pitch class of a Harte label's bass, -1 for no-chord or an unknown label."""
    try:
        return parse(label).bass_pc
    except (ChordLabelError, ValueError):
        return -1


def _subtract(span: tuple[int, int], holes: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of `span` not covered by any hole (sorted, non-empty)."""
    parts = [span]
    for h0, h1 in holes:
        out = []
        for a, b in parts:
            if h1 <= a or h0 >= b:
                out.append((a, b))
                continue
            if a < h0:
                out.append((a, h0))
            if h1 < b:
                out.append((h1, b))
        parts = out
    return parts


def to_ticks(seconds: float, tempo: TempoMap, start_tick: int, skip_seconds: float) -> int:
    origin = tempo.seconds_at_tick(start_tick) - skip_seconds
    return round(tempo.tick_at_seconds(origin + seconds))


def plan_items(analysis: AnalysisLike, tempo: TempoMap, *, start_tick: int = 0,
               skip_seconds: float = 0.0) -> tuple[list[ChordItem], tuple[int, int]]:
    """The chord items of an analysis in song ticks, and the analysed tick range."""
    lo = max(0, to_ticks(0.0, tempo, start_tick, skip_seconds))
    hi = max(lo, to_ticks(float(analysis.duration), tempo, start_tick, skip_seconds))
    items = []
    for seg in analysis.segments:
        label = str(seg.label)
        if label == NO_CHORD:
            continue
        a = max(lo, to_ticks(float(seg.start), tempo, start_tick, skip_seconds))
        b = min(hi, to_ticks(float(seg.end), tempo, start_tick, skip_seconds))
        if b <= a:
            continue
        confidence = min(1.0, max(0.0, float(seg.confidence)))
        items.append(ChordItem(a, b, label, bass_of(label), confidence, SOURCE))
    return items, (lo, hi)


def write_analysis(doc: Document, track_id: str, analysis: AnalysisLike, *,
                   start_tick: int = 0, skip_seconds: float = 0.0) -> ChordTrackWrite:
    """Put an analysis into chord track `track_id` as one undo step (see the module
    text for what is replaced and kept). Raises DocumentError for a track that is not
    a chord track, ReadOnlyError for a read-only document; nothing changes then."""
    items, (lo, hi) = plan_items(analysis, doc.tempo_map(), start_tick=start_tick,
                                 skip_seconds=skip_seconds)
    existing = doc.chords(track_id)  # raises for a track that is not a chord track
    inside = {cid: c for cid, c in existing.items() if c.start < hi and c.end > lo}
    stale = [cid for cid, c in inside.items() if c.source == SOURCE]
    kept = sorted((c.start, c.end) for c in inside.values() if c.source != SOURCE)
    new_items = []
    for cid in stale:  # a replaced item reaching out of the range keeps its outer parts
        c = inside[cid]
        for a, b in _subtract((c.start, c.end), [(lo, hi)]):
            new_items.append(ChordItem(a, b, c.label, c.bass, c.confidence, SOURCE))
    for item in items:
        for a, b in _subtract((item.start, item.end), kept):
            new_items.append(ChordItem(a, b, item.label, item.bass, item.confidence, SOURCE))
    added: list[str] = []
    if stale or new_items:
        with doc.transaction():
            for cid in stale:
                doc.remove_chord(track_id, cid)
            added = doc.add_chords(track_id, new_items)
    tempo = getattr(analysis, "tempo", None)
    return ChordTrackWrite(added, len(stale), len(kept), lo, hi,
                           getattr(analysis, "key", None),
                           float(tempo) if tempo else None)
