"""Edit > Quantize… on the piano roll's selection or the arrangement's clips (no engine)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot
from ui_support import window_without_engine

from strumspace_desktop.core.document import Note
from strumspace_desktop.core.timing import PPQ


def test_quantize_the_arrangements_clips_then_the_piano_rolls_selection(
        qtbot: QtBot, tmp_path: Path) -> None:
    window = window_without_engine(qtbot, tmp_path)
    doc = window.projects.document
    track = window.tracks.tracks[0].id
    clip = doc.add_midi_clip(track, 4 * PPQ, 8 * PPQ)
    ids = doc.add_notes(clip, [Note(60, 100, 200), Note(62, PPQ + 50, 300),
                               Note(64, 2 * PPQ - 30, 100)])
    assert window.quantize_dialog() is None  # nothing selected: a notice says what to do
    window.arrange.canvas.selected = {clip}
    dialog = window.quantize_dialog()
    assert dialog is not None
    dialog.grid_box.setCurrentIndex(dialog.grid_box.findData(4))  # quarter notes
    dialog.accept()
    assert sorted(n.start for n in doc.notes(clip).values()) == [0, PPQ, 2 * PPQ]
    doc.undo()  # one undo step for the whole quantize
    assert sorted(n.start for n in doc.notes(clip).values()) == [100, PPQ + 50, 2 * PPQ - 30]
    # With the clip open in the piano roll and one note selected, only that one moves,
    # halfway (strength 50 %).
    window.open_clip_in_piano_roll(clip)
    window.piano_roll.editor.selection = {ids[1]}
    dialog = window.quantize_dialog()
    assert dialog is not None
    dialog.grid_box.setCurrentIndex(dialog.grid_box.findData(4))
    dialog.strength_slider.setValue(50)
    dialog.accept()
    starts = {k: n.start for k, n in doc.notes(clip).items()}
    assert starts == {ids[0]: 100, ids[1]: PPQ + 25, ids[2]: 2 * PPQ - 30}
