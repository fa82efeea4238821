"""Helpers of the arrangement tests: a song in a shown ArrangeView, positions of
musical places on the canvas, and mouse gestures with modifiers."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mouse_support import LEFT as LEFT
from mouse_support import NO_MODS as NO_MODS
from mouse_support import click as click
from mouse_support import double_click as double_click
from mouse_support import drag as drag
from mouse_support import move as move
from mouse_support import press as press
from mouse_support import release as release
from mouse_support import wheel as wheel
from PySide6.QtCore import QPointF, Qt
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import Document, Note
from strumspace_desktop.core.document.project_files import Project, new_project
from strumspace_desktop.core.gm import Instrument
from strumspace_desktop.core.peaks import CACHE_ENV
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.core.tracks import TrackList
from strumspace_desktop.ui.arrange import ArrangeView
from strumspace_desktop.ui.arrange.canvas import ArrangeCanvas
from strumspace_desktop.ui.arrange.hits import lane_top
from strumspace_desktop.ui.notice_area import NoticeArea
from strumspace_desktop.ui.track_list import ROW_HEIGHT

# Waveform peaks of dropped audio go to a scratch cache, never the user's.
os.environ.setdefault(CACHE_ENV, tempfile.mkdtemp(prefix="strumspace-test-peaks-"))

BAR = PPQ * 4
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


@dataclass
class Song:
    project: Project
    tracks: TrackList
    view: ArrangeView
    notices: NoticeArea
    piano: str  # MIDI track ids
    bass: str
    clip: str  # a 2-bar clip on the piano track at bar 1 (tick 0), four notes

    @property
    def doc(self) -> Document:
        return self.project.document

    @property
    def canvas(self) -> ArrangeCanvas:
        return self.view.canvas


def make_song(qtbot: QtBot, tmp_path: Path) -> Song:
    project = new_project(tmp_path / "audio", "arrange test")
    doc = project.document
    tracks = TrackList(doc)
    piano = tracks.add("Piano", Instrument.melodic(0)).id
    bass = tracks.add("Bass", Instrument.melodic(33)).id
    clip = doc.add_midi_clip(piano, 0, 2 * BAR, "Verse")
    doc.add_notes(clip, [Note(60 + i, i * PPQ * 2, PPQ) for i in range(4)])
    doc.clear_undo_history()
    notices = NoticeArea()
    view = ArrangeView(tracks, notices=notices)
    view.canvas.project_provider = lambda: project
    qtbot.addWidget(view)
    qtbot.addWidget(notices)
    view.resize(1200, 500)
    view.show()
    qtbot.waitExposed(view)
    view.set_grid("beat")
    return Song(project, tracks, view, notices, piano, bass, clip)


def at(song: Song, tick: float, lane: int, dy: float = ROW_HEIGHT / 2) -> QPointF:
    """The canvas point of a tick in a lane (its middle unless `dy` says otherwise)."""
    return QPointF(song.canvas.timeline.x_of(tick), lane_top(lane) + dy)


def lane_index(song: Song, track_id: str) -> int:
    lane = song.canvas.model.lane_of(track_id)
    assert lane is not None, f"no lane for {track_id}"
    return lane.index


