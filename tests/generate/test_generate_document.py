"""Generated results into the document (one undo step each) and prompts from it."""

from __future__ import annotations

import numpy as np
import pytest

from models.generation.piece import MAJOR, MINOR, TPQ, Piece
from strumspace_desktop.core.document import ChordItem, Document, DocumentError, Note
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.generate import chord_labels
from strumspace_desktop.generate.into_document import (
    add_chords_to_track,
    add_piece_as_clip,
    add_suggested_chord,
    bar_at_or_after,
)
from strumspace_desktop.generate.prompts import key_name, prompt_from_clips, prompt_from_range


def _piece(bars: int = 2, num: int = 4, den: int = 4) -> Piece:
    bar = num * 4 * TPQ // den
    notes = [(i * TPQ, TPQ, 60 + (i % 5) * 2, 80) for i in range(bars * bar // TPQ)]
    chords = [(b * bar, bar, (b * 5) % 12, b % 2) for b in range(bars)]
    return Piece("generated", "g", notes=np.array(notes, np.int32),
                 bars=np.array([(b * bar, num, den) for b in range(bars)], np.int32),
                 keys=np.array([[0, 0, MAJOR]], np.int32),
                 chords=np.array(chords, np.int32))


def test_piece_becomes_one_clip_on_a_new_track_and_one_undo_removes_it() -> None:
    doc = Document.new(bpm=97.0)
    doc.set_tempo(PPQ * 4, 140.0)  # a tempo change under the clip moves nothing in ticks
    before = doc.snapshot()
    piece = _piece()
    placed = add_piece_as_clip(doc, piece, start=PPQ * 4, program=40)
    assert placed.new_track and placed.notes == len(piece.notes)
    clip = doc.clip(placed.clip_id)
    assert clip.start == PPQ * 4 and clip.length == 2 * 4 * PPQ
    notes = sorted(doc.notes(placed.clip_id).values(), key=lambda n: n.start)
    assert [n.start for n in notes] == [int(o) * PPQ // TPQ for o in piece.notes[:, 0]]
    assert [n.pitch for n in notes] == piece.notes[:, 2].tolist()
    assert all(n.length == PPQ for n in notes)
    assert doc.track(placed.track_id).instrument.program == 40
    assert doc.undo()
    assert doc.snapshot() == before
    assert doc.redo() and doc.note_count(placed.clip_id) == len(piece.notes)


def test_piece_onto_an_existing_track_and_refusals() -> None:
    doc = Document.new()
    tid = doc.add_track("midi", "Lead")
    chord_tid = doc.add_track("chord", "Chords")
    depth = doc.undo_depth
    placed = add_piece_as_clip(doc, _piece(1, 3, 4), start=0, track_id=tid)
    assert not placed.new_track and doc.clip(placed.clip_id).length == 3 * PPQ
    assert doc.undo_depth == depth + 1
    with pytest.raises(DocumentError):
        add_piece_as_clip(doc, _piece(), start=0, track_id=chord_tid)
    with pytest.raises(DocumentError):
        add_piece_as_clip(doc, _piece(), start=-1)


def test_chords_replace_what_they_cover_in_one_undo_step() -> None:
    doc = Document.new()
    tid = doc.add_track("chord", "Chords")
    doc.add_chord(tid, ChordItem(0, PPQ * 4, "C:maj"))
    doc.add_chord(tid, ChordItem(PPQ * 16, PPQ * 20, "G:maj"))  # outside: kept
    before = doc.snapshot()
    placed = add_chords_to_track(doc, _piece(2), start=PPQ * 2)
    assert placed.track_id == tid and placed.replaced == 1 and not placed.new_track
    items = list(doc.chords(tid).values())
    assert [i.label for i in items] == ["C:maj", "F:min", "G:maj"]
    assert all(i.source == "generated" for i in items[:2])
    assert items[0].start == PPQ * 2 and items[0].end == PPQ * 6
    assert doc.undo() and doc.snapshot() == before


def test_chords_make_a_chord_track_when_there_is_none_and_a_suggestion_lands() -> None:
    doc = Document.new()
    placed = add_chords_to_track(doc, _piece(1))
    assert placed.new_track and doc.track(placed.track_id).kind == "chord"
    cid = add_suggested_chord(doc, placed.track_id, chord_labels.to_harte("Am7"),
                              start=PPQ * 4, end=PPQ * 8, confidence=0.4)
    assert doc.chords(placed.track_id)[cid].label == "A:min7"
    assert doc.undo() and cid not in doc.chords(placed.track_id)
    with pytest.raises(DocumentError):
        add_chords_to_track(doc, [])


def test_prompt_from_clips_reduces_to_a_melody_in_piece_ticks() -> None:
    doc = Document.new()
    doc.set_time_signature(0, 3, 4)
    tid = doc.add_track("midi", "Piano")
    # A clip starting mid-bar 2 (3/4): the prompt starts at bar 2's line.
    cid = doc.add_midi_clip(tid, 3 * PPQ + PPQ, 4 * PPQ)
    doc.add_notes(cid, [Note(57, 0, PPQ), Note(60, 0, PPQ), Note(64, 0, PPQ // 2),
                        Note(62, PPQ, PPQ), Note(69, 2 * PPQ, 3 * PPQ),
                        Note(71, 5 * PPQ, PPQ)])  # starts after the clip's end: silent
    prompt = prompt_from_clips(doc, [cid])
    assert prompt.origin == 3 * PPQ and prompt.end == 3 * PPQ + 2 * 3 * PPQ
    assert prompt.meter == (3, 4) and prompt.bars == 2
    notes = prompt.piece.notes.tolist()
    assert [n[2] for n in notes] == [64, 62, 69]  # top line, the silent note left out
    assert notes[0][0] == TPQ and notes[1][0] == 2 * TPQ
    assert notes[0][1] == TPQ // 2
    assert notes[2][1] == 2 * TPQ  # cut at the clip's end
    assert prompt.piece.bars.tolist() == [[0, 3, 4], [3 * TPQ, 3, 4]]
    assert prompt.key_estimated


def test_prompt_key_from_chords_and_melody() -> None:
    doc = Document.new()
    mid = doc.add_track("midi", "Lead")
    chords = doc.add_track("chord", "Chords")
    for i, label in enumerate(["D:min", "A:7", "D:min", "G:min"]):
        doc.add_chord(chords, ChordItem(i * 4 * PPQ, (i + 1) * 4 * PPQ, label))
    cid = doc.add_midi_clip(mid, 0, 16 * PPQ)
    tune = [62, 65, 69, 74, 73, 69, 64, 61, 62, 65, 69, 62, 67, 70, 74, 67]
    doc.add_notes(cid, [Note(p, i * PPQ, PPQ) for i, p in enumerate(tune)])
    prompt = prompt_from_range(doc, 0, 16 * PPQ, chord_track=chords)
    assert prompt.key == (2, MINOR) and key_name(prompt.key) == "D minor"
    assert prompt.chord_string == "Dm A7 Dm Gm"
    assert prompt.piece.chords[:, 0].tolist() == [0, 4 * TPQ, 8 * TPQ, 12 * TPQ]
    given = prompt_from_range(doc, 0, 4 * PPQ, key=(5, MAJOR))
    assert given.key == (5, MAJOR) and not given.key_estimated


def test_empty_and_odd_prompts_give_clear_fallbacks() -> None:
    doc = Document.new()
    doc.set_time_signature(0, 17, 16)  # not in the generator's vocabulary
    prompt = prompt_from_range(doc, 0, PPQ)
    assert len(prompt.piece.notes) == 0 and prompt.key == (0, MAJOR)
    assert any("key" in w for w in prompt.warnings)
    assert any("17/16" in w for w in prompt.warnings) and prompt.meter == (4, 4)
    with pytest.raises(DocumentError, match="empty"):
        prompt_from_range(doc, PPQ, PPQ)
    with pytest.raises(DocumentError, match="select"):
        prompt_from_clips(doc, [])


def test_bar_at_or_after() -> None:
    doc = Document.new()
    doc.set_time_signature(0, 3, 4)
    assert bar_at_or_after(doc, 0) == 0
    assert bar_at_or_after(doc, 1) == 3 * PPQ
    assert bar_at_or_after(doc, 3 * PPQ) == 3 * PPQ


@pytest.mark.parametrize(("name", "harte"), [
    ("C", "C:maj"), ("Am", "A:min"), ("F#m7", "F#:min7"), ("Bb7", "A#:7"), ("Bdim", "B:dim"),
    ("Gsus4", "G:maj"), ("A:min/b3", "A:min"), ("D/F#", "D:maj"), ("N", "N")])
def test_chord_names(name: str, harte: str) -> None:
    parsed = chord_labels.parse_any(name)
    expected = chord_labels.from_harte(harte)
    assert parsed == expected


def test_bad_chord_names() -> None:
    for bad in ("H", "Cxyz", "", "C:(1,3)"):
        with pytest.raises(chord_labels.ChordNameError):
            chord_labels.parse_any(bad)
