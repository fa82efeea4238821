"""The computer-keyboard piano and the on-screen piano play the selected track,
through the real engine (the notes come back as the engine's own NOTE_ON events)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from pytestqt.qtbot import QtBot
from ui_support import UI, WAIT_MS

from strumspace_desktop.audio.protocol import St
from strumspace_desktop.ui.computer_keyboard import KEY_OFFSETS, ComputerKeyboardPiano


def _select(qtbot: QtBot, ui: UI, name: str) -> int:
    track = next(t for t in ui.window.tracks.tracks if t.name == name)
    qtbot.mouseClick(ui.window.track_panel.rows[track.id], Qt.MouseButton.LeftButton)
    assert ui.window.tracks.selected == track
    # Live MIDI follows the selection too.
    qtbot.waitUntil(lambda: int(ui.engine.block.status[St.INPUT_CHANNEL]) == track.channel,
                    timeout=WAIT_MS)
    return track.channel


def test_computer_keyboard_plays_the_selected_track(qtbot: QtBot, ui: UI) -> None:
    w, a = ui.window, ui.adapter
    channel = _select(qtbot, ui, "Bass")
    assert channel == 1
    with qtbot.waitSignal(a.note_on_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n, v, src: (ch, n, src) == (1, 60, 1)):
        qtbot.keyPress(w, Qt.Key.Key_A)
    assert 60 in w.piano.lit_notes()
    with qtbot.waitSignal(a.note_off_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n: (ch, n) == (1, 60)):
        qtbot.keyRelease(w, Qt.Key.Key_A)
    assert 60 not in w.piano.lit_notes()

    # W is C sharp; Z drops an octave, X raises it again.
    with qtbot.waitSignal(a.note_on_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n, v, src: (ch, n) == (1, 61)):
        qtbot.keyClick(w, Qt.Key.Key_W)
    qtbot.keyClick(w, Qt.Key.Key_Z)
    assert "C3–C4" in w.keyboard_label.text()
    with qtbot.waitSignal(a.note_on_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n, v, src: (ch, n) == (1, 48)):
        qtbot.keyClick(w, Qt.Key.Key_A)
    qtbot.keyClick(w, Qt.Key.Key_X)
    with qtbot.waitSignal(a.note_on_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n, v, src: (ch, n) == (1, 72)):
        qtbot.keyClick(w, Qt.Key.Key_K)

    # The drum track plays the shared drum channel 10 (index 9).
    _select(qtbot, ui, "Drums")
    with qtbot.waitSignal(a.note_on_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n, v, src: (ch, n) == (9, 60)):
        qtbot.keyClick(w, Qt.Key.Key_A)


def test_on_screen_piano_plays_with_the_mouse(qtbot: QtBot, ui: UI) -> None:
    w, a = ui.window, ui.adapter
    _select(qtbot, ui, "Piano")
    piano = w.piano
    centre = piano.key_rect(64).center().toPoint()  # E4
    with qtbot.waitSignal(a.note_on_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n, v, src: (ch, n) == (0, 64)):
        qtbot.mousePress(piano, Qt.MouseButton.LeftButton, pos=centre)
    with qtbot.waitSignal(a.note_off_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n: (ch, n) == (0, 64)):
        qtbot.mouseRelease(piano, Qt.MouseButton.LeftButton, pos=centre)
    # A black key lies over the white keys' gap: F#4 there, not F4 or G4.
    sharp = piano.key_rect(66).center().toPoint()
    assert piano.note_at(sharp) == 66
    with qtbot.waitSignal(a.note_on_received, timeout=WAIT_MS,
                          check_params_cb=lambda ch, n, v, src: (ch, n) == (0, 66)):
        qtbot.mouseClick(piano, Qt.MouseButton.LeftButton, pos=sharp)


def _key(kind: QKeyEvent.Type, key: Qt.Key, repeat: bool = False,
         mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> QKeyEvent:
    return QKeyEvent(kind, key, mods, "", repeat)


def test_keyboard_piano_ignores_auto_repeat_and_shortcuts(qtbot: QtBot) -> None:
    kb = ComputerKeyboardPiano()
    events: list[tuple[str, int]] = []
    kb.note_on.connect(lambda n, v: events.append(("on", n)))
    kb.note_off.connect(lambda n: events.append(("off", n)))
    press, release = QKeyEvent.Type.KeyPress, QKeyEvent.Type.KeyRelease
    assert kb.key_press(_key(press, Qt.Key.Key_D))
    assert kb.key_press(_key(press, Qt.Key.Key_D, repeat=True))
    assert kb.key_release(_key(release, Qt.Key.Key_D, repeat=True))
    assert not kb.key_press(_key(press, Qt.Key.Key_S, mods=Qt.KeyboardModifier.ControlModifier))
    assert not kb.key_press(_key(press, Qt.Key.Key_Q))
    # An octave change while D is held still releases the D that sounded.
    kb.shift_octave(1)
    assert kb.key_release(_key(release, Qt.Key.Key_D))
    assert events == [("on", 64), ("off", 64)]
    assert sorted(KEY_OFFSETS.values()) == list(range(13))
    for _ in range(20):
        kb.shift_octave(1)
    assert kb.base + 12 <= 127
    kb.key_press(_key(press, Qt.Key.Key_K))
    kb.release_all()
    assert events[-1] == ("off", kb.base + 12)
