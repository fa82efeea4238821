"""The piano roll in the main window, on the real engine: clicking a note or a key
of the side keyboard sounds it on the clip's track channel, the playhead follows
the transport, and the window's undo undoes a piano-roll gesture."""

from __future__ import annotations

from piano_roll_support import BAR, at, click, make_song, press, release, show_roll
from PySide6.QtCore import QPointF, Qt
from pytestqt.qtbot import QtBot
from ui_support import UI, WAIT_MS

from strumspace_desktop.core.document import Note
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.piano_roll import PianoRoll


def _open_bass_clip(qtbot: QtBot, ui: UI) -> tuple[PianoRoll, str, str]:
    doc = ui.window.projects.document
    bass = next(t for t in doc.tracks() if t.name == "Bass")
    assert bass.instrument.channel == 1
    clip = doc.add_midi_clip(bass.id, 0, 4 * BAR, "Bass line")
    (nid,) = doc.add_notes(clip, [Note(45, 0, PPQ, 96, 1)])
    ui.window.open_clip_in_piano_roll(clip)
    roll = ui.window.piano_roll
    assert ui.window.piano_roll_dock.isVisible()
    assert roll.clip_id == clip
    qtbot.waitUntil(lambda: roll.grid.paints > 0, timeout=WAIT_MS)
    return roll, clip, nid


def test_clicking_notes_and_keys_auditions_on_the_track_channel(qtbot: QtBot, ui: UI) -> None:
    roll, _clip, _nid = _open_bass_clip(qtbot, ui)
    a = ui.adapter
    with qtbot.waitSignal(a.note_on_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n, v, src: (ch, n, v, src) == (1, 45, 96, 1)):
        press(roll.grid, at(roll, PPQ / 2, 45))
    with qtbot.waitSignal(a.note_off_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n: (ch, n) == (1, 45)):
        release(roll.grid, at(roll, PPQ / 2, 45))
    key = roll.keyboard.key_rect(50).center()
    with qtbot.waitSignal(a.note_on_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n, v, src: (ch, n, src) == (1, 50, 1)):
        qtbot.mousePress(roll.keyboard, Qt.MouseButton.LeftButton, pos=key.toPoint())
    with qtbot.waitSignal(a.note_off_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n: (ch, n) == (1, 50)):
        qtbot.mouseRelease(roll.keyboard, Qt.MouseButton.LeftButton, pos=key.toPoint())
    # Drawing a note sounds it too.
    roll.set_tool("draw")
    with qtbot.waitSignal(a.note_on_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n, v, src: (ch, n) == (1, 52)):
        click(roll.grid, at(roll, 2 * PPQ + 10, 52))


def test_playhead_follows_the_transport_and_window_undo(qtbot: QtBot, ui: UI) -> None:
    roll, clip, nid = _open_bass_clip(qtbot, ui)
    doc = ui.window.projects.document
    ui.adapter.play()
    try:
        qtbot.waitUntil(lambda: roll.grid.playing and (roll.grid.playhead or 0) > 0,
                        timeout=WAIT_MS)
    finally:
        ui.adapter.stop_transport()
    qtbot.waitUntil(lambda: not roll.grid.playing, timeout=WAIT_MS)
    # A move in the roll is undone by the window's Edit > Undo, and the view follows.
    start = at(roll, PPQ / 2, 45)
    press(roll.grid, start)
    release(roll.grid, start + QPointF(roll.viewport.px_per_tick * PPQ, 0))
    assert doc.notes(clip)[nid].start == PPQ
    ui.window.undo_action.trigger()
    assert doc.notes(clip)[nid].start == 0
    assert roll.editor.notes[nid].start == 0
    # A new project closes the clip (its document is gone from the roll).
    ui.window.projects.new()
    assert roll.clip_id is None and roll.document is ui.window.projects.document


def test_without_an_engine_auditioning_is_silently_nothing(qtbot: QtBot) -> None:
    song = make_song([Note(60, 0, PPQ)])
    roll = show_roll(qtbot, song, PianoRoll(EngineAdapter(), song.doc))
    press(roll.grid, at(roll, PPQ / 2, 60))
    release(roll.grid, at(roll, PPQ / 2, 60))
    qtbot.mouseClick(roll.keyboard, Qt.MouseButton.LeftButton,
                     pos=roll.keyboard.key_rect(62).center().toPoint())
    assert roll.editor.selection == set(song.notes())
