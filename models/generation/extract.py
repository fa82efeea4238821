"""music21 scores -> Pieces on the tick grid (the slow step, run once per corpus file)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from models.generation import harmony
from models.generation.corpus_sources import Source
from models.generation.piece import TPQ, Piece

DEFAULT_VELOCITY = 80


class UnusablePiece(ValueError):
    """A score we skip (no notes, no bars); the message says why."""


def _ticks(ql: Any) -> int:
    return round(Fraction(ql) * TPQ)


def _bars(part: Any) -> tuple[np.ndarray, Fraction]:
    """(start, numerator, denominator) per measure, and the shift that puts the metric
    start of the first bar (before any pickup) at tick 0."""
    from music21 import meter, stream

    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        raise UnusablePiece("no measures")
    shift = Fraction(measures[0].paddingLeft or 0) - Fraction(measures[0].offset)
    rows: list[tuple[int, int, int]] = []
    ts = None
    for m in measures:
        found = m.timeSignature or (m.getElementsByClass(meter.TimeSignature).first())
        if found is not None:
            ts = found
        num, den = (ts.numerator, ts.denominator) if ts is not None else (4, 4)
        # A pickup bar's metric start lies paddingLeft before its first note.
        start = _ticks(Fraction(m.offset) + shift - Fraction(m.paddingLeft or 0))
        if rows and start <= rows[-1][0]:
            continue  # zero-length measure (a bare repeat sign)
        rows.append((start, int(num), int(den)))
    return np.array(rows, dtype=np.int32).reshape(-1, 3), shift


def _part_notes(part: Any, shift: Fraction) -> np.ndarray:
    """(onset, duration, pitch, velocity) of every pitched note of a part (ties joined,
    grace notes dropped)."""
    rows = []
    flat = part.stripTies().flatten()
    for el in flat.notes:
        if el.duration.isGrace or el.quarterLength == 0:
            continue
        onset = _ticks(Fraction(el.offset) + shift)
        dur = max(1, _ticks(el.quarterLength))
        vel = el.volume.velocity if el.hasVolumeInformation() else None
        velocity = int(vel) if vel else DEFAULT_VELOCITY
        for p in getattr(el, "pitches", ()):
            rows.append((onset, dur, int(p.midi), velocity))
    arr = np.array(rows, dtype=np.int32).reshape(-1, 4)
    return arr[np.lexsort((-arr[:, 2], arr[:, 0]))] if len(arr) else arr


def monophonic(notes: np.ndarray) -> np.ndarray:
    """The top line: the highest pitch at each onset, each note cut at the next onset."""
    if len(notes) == 0:
        return notes
    order = np.lexsort((-notes[:, 2], notes[:, 0]))
    notes = notes[order]
    first = np.ones(len(notes), dtype=bool)
    first[1:] = notes[1:, 0] != notes[:-1, 0]
    mel = notes[first].copy()
    nxt = np.append(mel[1:, 0], np.iinfo(np.int32).max)
    mel[:, 1] = np.minimum(mel[:, 1], nxt - mel[:, 0])
    return mel


def _stated_key(score: Any) -> tuple[int, str] | None:
    from music21 import key

    for k in score.recurse().getElementsByClass(key.Key):
        mode = str(k.mode or "major").lower()
        return int(k.tonic.pitchClass), mode if mode in harmony.MODE_SCALES else "major"
    return None


def _key_rows(tonic: int, mode_name: str) -> np.ndarray:
    family = harmony.MODE_SCALES[mode_name][1]
    return np.array([[0, tonic, family]], dtype=np.int32)


@dataclass
class RawPiece:
    """A parsed piece with what chord labelling needs beyond it: every voice's notes
    (harmonic pieces) and the stated mode (folk tunes). Kept in the parse cache so the
    labelling can be tuned without parsing again."""

    piece: Piece
    texture: np.ndarray | None
    mode_name: str


def score_to_piece(score: Any, source: Source, piece_id: str, title: str) -> RawPiece:
    """One score (a folk tune or a harmonic piece) -> Piece with chord labels."""
    parts = list(score.parts) or [score]
    bars, shift = _bars(parts[0])
    if source.kind == "harmonic":
        voiced = [_part_notes(p, shift) for p in parts]
        all_notes = np.concatenate([v for v in voiced if len(v)] or [np.zeros((0, 4), np.int32)])
        top = next((v for p, v in zip(parts, voiced, strict=True)
                    if (p.partName or "").lower().startswith(("soprano", "cantus"))), voiced[0])
        melody = monophonic(top)
    else:
        all_notes = _part_notes(parts[0], shift)
        melody = monophonic(all_notes)
    if len(melody) == 0:
        raise UnusablePiece("no notes")
    stated = _stated_key(score) if source.kind == "folk" else None
    if stated is None:
        tonic, family = harmony.estimate_key(all_notes)
        mode_name = "minor" if family else "major"
    else:
        tonic, mode_name = stated
    piece = Piece(source.name, piece_id, title, notes=melody, bars=bars,
                  keys=_key_rows(tonic, mode_name))
    raw = RawPiece(piece, all_notes if source.kind == "harmonic" else None, mode_name)
    label_chords(raw)
    return raw


def label_chords(raw: RawPiece) -> None:
    """(Re)compute a piece's chords from its notes: texture chords when all voices are
    known, weak bar-level chords from the melody otherwise."""
    piece = raw.piece
    end = piece.end_tick()
    if raw.texture is not None:
        piece.chords = harmony.texture_chords(raw.texture, piece.bars, end)
        piece.chord_kind = "texture"
    elif len(piece.notes):
        tonic = int(piece.keys[0, 1])
        piece.chords = harmony.weak_chords(piece.notes, piece.bars, tonic, raw.mode_name, end)
        piece.chord_kind = "weak"


def analysis_to_piece(score: Any, source: Source, piece_id: str, title: str,
                      group: str) -> Piece:
    """A Roman-numeral analysis -> Piece with human chords and no notes."""
    from music21 import roman

    part = score.parts[0] if score.parts else score
    bars, shift = _bars(part)
    rows = []
    first_key = None
    for rn in part.recurse().getElementsByClass(roman.RomanNumeral):
        onset = _ticks(Fraction(rn.getOffsetInHierarchy(part)) + shift)
        dur = _ticks(rn.quarterLength)
        if dur <= 0:
            continue
        root = int(rn.root().pitchClass)
        pcs = {int(p.pitchClass) for p in rn.pitches}
        rows.append((onset, dur, *harmony.label_of_pitch_classes(root, pcs)))
        if first_key is None and rn.key is not None:
            first_key = (int(rn.key.tonic.pitchClass), str(rn.key.mode).lower())
    if not rows:
        raise UnusablePiece("no Roman numerals")
    tonic, mode_name = first_key or (0, "major")
    chords = harmony.merge_runs(sorted(rows))
    return Piece(source.name, piece_id, title, link=group, bars=bars,
                 keys=_key_rows(tonic, mode_name if mode_name in harmony.MODE_SCALES
                                else "major"),
                 chords=chords, chord_kind="human")


def parse_file(source: Source, path: Path, rel: str) -> tuple[list[RawPiece], list[str]]:
    """Every piece of one corpus file, and a message per piece that could not be used."""
    from music21 import converter, stream

    pieces: list[RawPiece] = []
    errors: list[str] = []
    try:
        parsed = converter.parse(str(path))
    except Exception as exc:  # music21 raises many types on odd files
        return [], [f"{rel}: parse failed: {type(exc).__name__}: {exc}"]
    if source.kind == "analysis":
        text = path.read_text(encoding="utf-8", errors="replace")
        bwv = re.search(r"^BWV:\s*([\d.]+)", text, re.MULTILINE)
        group = f"bwv{bwv.group(1).rstrip('.')}" if bwv else ""  # the chorale's file stem
        title = (parsed.metadata.title if parsed.metadata else "") or path.stem
        try:
            pieces.append(RawPiece(analysis_to_piece(parsed, source, rel, title, group),
                                   None, "major"))
        except (UnusablePiece, Exception) as exc:
            errors.append(f"{rel}: {type(exc).__name__}: {exc}")
        return pieces, errors
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    for i, score in enumerate(scores):
        piece_id = f"{rel}#{i}" if len(scores) > 1 else rel
        md = score.metadata
        title = (md.title if md is not None and md.title else "") or path.stem
        try:
            raw = score_to_piece(score, source, piece_id, title)
        except (UnusablePiece, Exception) as exc:
            errors.append(f"{piece_id}: {type(exc).__name__}: {exc}")
            continue
        if source.name == "bach_chorales":
            raw.piece.link = path.stem  # bwv269, bwv153.1: what an analysis names
        pieces.append(raw)
    return pieces, errors
