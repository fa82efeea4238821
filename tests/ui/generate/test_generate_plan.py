"""Which prompt each task takes from the arrangement's selection, where its result
lands, and the message when the selection does not fit (no Qt, no model)."""

from __future__ import annotations

import pytest

from strumspace_desktop.core.document import ChordItem, Document, Note
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.generate.plan import (
    Selection,
    SelectionProblem,
    plan,
    suggestion_span,
)

BAR = 4 * PPQ


def _song() -> tuple[Document, str, str, str]:
    """Bars 2-3 hold a melody clip; the chord track has C G Am F from bar 2."""
    doc = Document.new(bpm=100.0)
    midi = doc.add_track("midi", "Piano")
    chords = doc.add_track("chord", "Chords")
    clip = doc.add_midi_clip(midi, 2 * BAR, 2 * BAR, "Tune")
    doc.add_notes(clip, [Note(60 + 2 * i, i * PPQ, PPQ, 90) for i in range(8)])
    doc.add_chords(chords, [ChordItem((2 + i) * BAR, (3 + i) * BAR, label) for i, label in
                            enumerate(["C:maj", "G:maj", "A:min", "F:maj"])])
    return doc, midi, chords, clip


def test_continue_follows_the_selected_clip_on_its_track() -> None:
    doc, midi, _chords, clip = _song()
    p = plan(doc, "continue", Selection(clips=(clip,)), controls={"bars": 2, "seed": 3})
    assert (p.start, p.track_id) == (4 * BAR, midi)
    assert p.request.task == "continue" and p.request.bars == 2 and p.request.seed == 3
    assert len(p.request.prompt.notes) == 8
    assert p.prompt is not None and p.prompt.chords  # the chords under it go along
    with pytest.raises(SelectionProblem, match="select the clip"):
        plan(doc, "continue", Selection())


def test_melody_takes_the_selected_chords_or_typed_ones() -> None:
    doc, midi, chords, _clip = _song()
    ids = list(doc.chords(chords))
    sel = Selection(chords=((chords, ids[1]), (chords, ids[2])), melody_track=midi)
    p = plan(doc, "melody", sel)
    assert p.prompt is not None and p.prompt.chord_string == "G Am"
    assert (p.start, p.track_id, p.chords_from_track) == (3 * BAR, midi, True)
    assert len(p.request.prompt.notes) == 0  # only the chords are the prompt
    typed = plan(doc, "melody", Selection(playhead=BAR + 10), chords_text="Dm G C",
                 key=(0, 0))
    assert typed.request.chords == "Dm G C" and typed.request.key == "C major"
    assert typed.start == 2 * BAR  # the bar line after the playhead
    assert not typed.chords_from_track
    with pytest.raises(SelectionProblem, match="Chords field"):
        plan(Document.new(), "melody", Selection())


def test_harmonize_chords_and_next_chord_places() -> None:
    doc, _midi, chords, clip = _song()
    h = plan(doc, "harmonize", Selection(clips=(clip,)), controls={"bars": 8})
    assert h.start == 2 * BAR and h.request.bars is None  # the melody's length decides
    ids = list(doc.chords(chords))
    c = plan(doc, "chords", Selection(chords=((chords, ids[0]), (chords, ids[1]))))
    assert c.start == 4 * BAR and c.prompt is not None and c.prompt.chord_string == "C G"
    fresh = plan(doc, "chords", Selection(playhead=3 * BAR + 5))
    assert fresh.start == 3 * BAR and fresh.warnings  # no key chosen: said so
    n = plan(doc, "next-chord", Selection())
    assert n.suggestion_span == (6 * BAR, 7 * BAR) and n.chord_track == chords
    assert suggestion_span(doc, chords) == (6 * BAR, 7 * BAR)
    with pytest.raises(SelectionProblem, match="Next chord needs chords"):
        plan(Document.new(), "next-chord", Selection())
