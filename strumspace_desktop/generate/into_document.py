"""Generated results into the song document: a Piece becomes a MIDI clip, chords
become chord-track items. Each "keep" is ONE undo step. No Qt.

A Piece counts time in its own ticks (`models.generation.piece.TPQ` per quarter
note), the document in `timing.PPQ` per quarter. Both count quarter notes, so the
conversion is a plain scale whatever the tempo: a tempo change under the clip moves
its notes in seconds exactly as it moves the bar lines they sit on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.generation.piece import CHORD_QUALITIES, NO_CHORD, PITCH_NAMES, TPQ, Piece
from strumspace_desktop.core.document import ChordItem, Document, DocumentError, Instrument, Note
from strumspace_desktop.core.timing import PPQ

# Ticks of the document per tick of a Piece (960 / 24 = 40).
SCALE = PPQ // TPQ
_QUALITY_NAMES = tuple(name for name, _ in CHORD_QUALITIES)


def to_document_ticks(piece_ticks: int) -> int:
    return int(piece_ticks) * SCALE


def to_piece_ticks(document_ticks: int) -> int:
    """Rounded to the nearest Piece tick (a 32nd-note triplet grid is exact)."""
    return round(int(document_ticks) / SCALE)


@dataclass(frozen=True)
class PlacedClip:
    track_id: str
    clip_id: str
    start: int  # document ticks
    length: int
    notes: int
    new_track: bool


@dataclass(frozen=True)
class PlacedChords:
    track_id: str
    chord_ids: tuple[str, ...]
    start: int
    end: int
    replaced: int  # existing items removed because the new ones cover them
    new_track: bool


def bar_at_or_after(document: Document, tick: int) -> int:
    """The first bar line at or after `tick` (where a continuation should start)."""
    ts = document.time_signature_map()
    bbt = ts.bbt_at_tick(tick)
    start = ts.bar_start_tick(bbt.bar - 1)
    return start if start >= tick else ts.bar_start_tick(bbt.bar)


def piece_notes(piece: Piece) -> list[Note]:
    """The Piece's notes in document ticks, relative to the Piece's start."""
    out = []
    for onset, dur, pitch, vel in np.asarray(piece.notes).reshape(-1, 4).tolist():
        if not 0 <= pitch <= 127 or onset < 0:
            continue  # cannot happen for a decoded Piece; never let it break a keep
        out.append(Note(int(pitch), to_document_ticks(onset), max(to_document_ticks(dur), 1),
                        int(min(max(vel, 1), 127))))
    return out


def piece_length(piece: Piece) -> int:
    """Whole bars of the Piece in document ticks (at least one bar of its meter)."""
    end = piece.end_tick()
    if end <= 0:
        bars = np.asarray(piece.bars).reshape(-1, 3)
        num, den = (int(bars[0, 1]), int(bars[0, 2])) if len(bars) else (4, 4)
        end = num * 4 * TPQ // den
    return to_document_ticks(end)


def add_piece_as_clip(
    document: Document,
    piece: Piece,
    *,
    start: int,
    track_id: str | None = None,
    name: str = "Generated",
    track_name: str = "Generated",
    program: int = 0,
) -> PlacedClip:
    """A new MIDI clip holding `piece` at `start` (document ticks) on `track_id`, or on
    a new MIDI track (GM `program`) when none is given. One undo step."""
    if start < 0:
        raise DocumentError(f"a clip cannot start before the song (tick {start})")
    notes = piece_notes(piece)
    length = max(piece_length(piece), max((n.end for n in notes), default=0))
    if track_id is not None and document.track(track_id).kind != "midi":
        raise DocumentError("generated notes go on a MIDI track")
    with document.transaction():
        new_track = track_id is None
        if track_id is None:
            track_id = document.add_track("midi", track_name, instrument=Instrument(program))
        clip_id = document.add_midi_clip(track_id, start, length, name)
        document.add_notes(clip_id, notes)
    return PlacedClip(track_id, clip_id, start, length, len(notes), new_track)


def harte_label(root: int, quality: int) -> str:
    """'A:min' for root 9, quality min (the chord track's Harte syntax)."""
    if root == NO_CHORD or root < 0:
        return "N"
    return f"{PITCH_NAMES[root]}:{_QUALITY_NAMES[quality]}"


def piece_chords(piece: Piece, start: int = 0) -> list[ChordItem]:
    """The Piece's chord labels as chord-track items at `start` (document ticks)."""
    items = []
    for onset, dur, root, quality in np.asarray(piece.chords).reshape(-1, 4).tolist():
        if root < 0 or dur <= 0:
            continue
        s = start + to_document_ticks(onset)
        items.append(ChordItem(s, s + to_document_ticks(dur), harte_label(root, quality),
                               bass=-1, confidence=1.0, source="generated"))
    return items


def first_chord_track(document: Document) -> str | None:
    return next((t.id for t in document.tracks() if t.kind == "chord"), None)


def add_chords_to_track(
    document: Document,
    items: Iterable[ChordItem] | Piece,
    *,
    start: int = 0,
    track_id: str | None = None,
    replace: bool = True,
    track_name: str = "Chords",
) -> PlacedChords:
    """Chord items (or a Piece's chords placed at `start`) onto a chord track: the one
    given, else the song's first, else a new one. With `replace`, existing items that
    overlap the new span are removed first, so the track never holds two chords at
    once. One undo step."""
    chords: Sequence[ChordItem] = (
        piece_chords(items, start) if isinstance(items, Piece) else list(items))
    if not chords:
        raise DocumentError("there are no chords to add")
    lo = min(c.start for c in chords)
    hi = max(c.end for c in chords)
    with document.transaction():
        new_track = False
        if track_id is None:
            track_id = first_chord_track(document)
        if track_id is None:
            track_id = document.add_track("chord", track_name)
            new_track = True
        elif document.track(track_id).kind != "chord":
            raise DocumentError("chords go on a chord track")
        replaced = 0
        if replace:
            for cid, item in document.chords(track_id).items():
                if item.start < hi and item.end > lo:
                    document.remove_chord(track_id, cid)
                    replaced += 1
        ids = document.add_chords(track_id, chords)
    return PlacedChords(track_id, tuple(ids), lo, hi, replaced, new_track)


def add_suggested_chord(
    document: Document,
    track_id: str,
    label: str,
    *,
    start: int,
    end: int,
    confidence: float = 1.0,
) -> str:
    """One suggested next chord (Harte label) as a generated item. One undo step."""
    placed = add_chords_to_track(
        document,
        [ChordItem(start, end, label, confidence=min(max(confidence, 0.0), 1.0),
                   source="generated")],
        track_id=track_id,
    )
    return placed.chord_ids[0]
