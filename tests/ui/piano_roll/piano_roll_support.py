"""Helpers of the piano roll tests: a song with one MIDI clip, a shown roll, and
mouse gestures with modifiers at musical positions."""

from __future__ import annotations

from dataclasses import dataclass

from mouse_support import NO_MODS as NO_MODS
from mouse_support import click as click
from mouse_support import double_click as double_click
from mouse_support import drag as _drag
from mouse_support import move as move
from mouse_support import press as press
from mouse_support import release as release
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import Document, Instrument, Note
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.piano_roll import PianoRoll

BAR = PPQ * 4
SIXTEENTH = PPQ // 4


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


def drag(widget: QWidget, start: QPointF, end: QPointF,
         mods: Qt.KeyboardModifier = NO_MODS, steps: int = 4) -> None:
    """Press, move in a few steps, release: one gesture."""
    _drag(widget, start, end, mods, steps)


def point(pos: QPointF) -> QPoint:
    return pos.toPoint()
