"""The arrangement in the main window (no engine needed): it shows the project's
document, follows New, and its lanes line up with the track list's rows."""

from __future__ import annotations

from pathlib import Path

from arrange_support import BAR
from PySide6.QtCore import QPoint
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.arrange import ArrangeView
from strumspace_desktop.ui.arrange.hits import lane_top
from strumspace_desktop.ui.main_window import MainWindow
from strumspace_desktop.ui.project_controller import UnsavedChoice


def test_the_window_shows_the_project_and_lanes_match_rows(qtbot: QtBot,
                                                           tmp_path: Path) -> None:
    window = MainWindow(AppSettings(), EngineAdapter(), config_dir=tmp_path,
                        ask_unsaved=lambda _action: UnsavedChoice.DISCARD)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    arrange = window.arrange
    assert isinstance(arrange, ArrangeView)
    doc = window.projects.document
    assert arrange.canvas.document is doc
    lanes = arrange.canvas.model.lanes
    assert [lane.track.id for lane in lanes] == [t.id for t in window.tracks.tracks]
    for lane in lanes:
        row = window.track_panel.rows[lane.track.id]
        row_y = row.mapTo(window, QPoint(0, 0)).y()
        lane_y = arrange.canvas.mapTo(window, QPoint(0, lane_top(lane.index))).y()
        assert row_y == lane_y
    clip = doc.add_midi_clip(lanes[0].track.id, 0, BAR, "Intro")
    assert clip in arrange.canvas.model.clips
    assert window.projects.new()
    assert arrange.canvas.document is window.projects.document is not doc
    assert not arrange.canvas.model.clips
