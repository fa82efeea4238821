"""Helpers of the piano roll tests: a song with one MIDI clip, a shown roll, and
mouse gestures with modifiers at musical positions."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import Document, Instrument, Note
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.piano_roll import PianoRoll

BAR = PPQ * 4
SIXTEENTH = PPQ // 4
NO_MODS = Qt.KeyboardModifier.NoModifier


@dataclass
class Song:
    doc: Document
    track_id: str
    clip_id: str

    def notes(self) -> dict[str, Note]:
        return self.doc.notes(self.clip_id)

    def only(self) -> Note:
        (note,) = self.notes().values()
        return note


def make_song(notes: list[Note] | None = None, channel: int = 2,
              clip_start: int = 0) -> Song:
    doc = Document.new("piano roll test")
    tid = doc.add_track("midi", "Keys", instrument=Instrument(program=0, channel=channel))
    cid = doc.add_midi_clip(tid, clip_start, 4 * BAR, "Verse")
    if notes:
        doc.add_notes(cid, notes)
    doc.clear_undo_history()
    return Song(doc, tid, cid)


def show_roll(qtbot: QtBot, song: Song, roll: PianoRoll | None = None) -> PianoRoll:
    roll = roll if roll is not None else PianoRoll(None, song.doc)
    qtbot.addWidget(roll)
    roll.resize(1100, 700)
    roll.show()
    qtbot.waitExposed(roll)
    roll.open_clip(song.clip_id)
    # Offscreen, repaint() paints only once the first paint has happened.
    qtbot.waitUntil(lambda: roll.grid.paints > 0)
    return roll


def at(roll: PianoRoll, tick: float, pitch: int) -> QPointF:
    """The screen point of a tick and pitch in the grid (middle of the row)."""
    vp = roll.viewport
    return QPointF(vp.x_of(tick), vp.y_of(pitch) + vp.row_height / 2)


def _send(widget: QWidget, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton,
          buttons: Qt.MouseButton, mods: Qt.KeyboardModifier) -> None:
    global_pos = QPointF(widget.mapToGlobal(pos.toPoint()))
    event = QMouseEvent(kind, pos, global_pos, button, buttons, mods)
    QApplication.sendEvent(widget, event)


def press(widget: QWidget, pos: QPointF, mods: Qt.KeyboardModifier = NO_MODS,
          button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    _send(widget, QEvent.Type.MouseButtonPress, pos, button, button, mods)


def move(widget: QWidget, pos: QPointF, mods: Qt.KeyboardModifier = NO_MODS) -> None:
    _send(widget, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton,
          Qt.MouseButton.LeftButton, mods)


def release(widget: QWidget, pos: QPointF, mods: Qt.KeyboardModifier = NO_MODS,
            button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    _send(widget, QEvent.Type.MouseButtonRelease, pos, button, Qt.MouseButton.NoButton, mods)


def drag(widget: QWidget, start: QPointF, end: QPointF,
         mods: Qt.KeyboardModifier = NO_MODS, steps: int = 4) -> None:
    """Press, move in a few steps, release: one gesture."""
    press(widget, start, mods)
    for i in range(1, steps + 1):
        move(widget, start + (end - start) * (i / steps), mods)
    release(widget, end, mods)


def click(widget: QWidget, pos: QPointF, mods: Qt.KeyboardModifier = NO_MODS,
          button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    press(widget, pos, mods, button)
    release(widget, pos, mods, button)


def double_click(widget: QWidget, pos: QPointF) -> None:
    click(widget, pos)
    _send(widget, QEvent.Type.MouseButtonDblClick, pos, Qt.MouseButton.LeftButton,
          Qt.MouseButton.LeftButton, NO_MODS)
    release(widget, pos)


def point(pos: QPointF) -> QPoint:
    return pos.toPoint()
