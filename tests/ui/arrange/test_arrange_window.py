"""The arrangement in the main window (no engine needed): it shows the project's
document, follows New, and its lanes line up with the track list's rows."""

from __future__ import annotations

from pathlib import Path

from arrange_support import BAR
from PySide6.QtCore import QPoint
from pytestqt.qtbot import QtBot
from ui_support import window_without_engine

from strumspace_desktop.ui.arrange import ArrangeView
from strumspace_desktop.ui.arrange.hits import lane_top


def test_the_window_shows_the_project_and_lanes_match_rows(qtbot: QtBot,
                                                           tmp_path: Path) -> None:
    window = window_without_engine(qtbot, tmp_path)
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


def test_window_wiring_piano_roll_recorder_imports_and_latency_dialog(
        qtbot: QtBot, tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf
    from arrange_support import double_click
    from PySide6.QtCore import QPointF

    from strumspace_desktop.ui.arrange.hits import lane_top as top

    window = window_without_engine(qtbot, tmp_path)
    canvas = window.arrange.canvas
    doc = window.projects.document
    lane = canvas.model.lanes[0]
    clip = doc.add_midi_clip(lane.track.id, 0, BAR, "Intro")
    double_click(canvas, QPointF(canvas.timeline.x_of(BAR / 2), top(lane.index) + 10))
    qtbot.waitUntil(lambda: window.piano_roll.clip_id == clip)
    assert window.piano_roll_dock.isVisible()
    # The recorder stores takes in this project; imports land where the playhead is.
    assert window.transport.recorder.project_source() is window.projects.project
    assert window.transport.recorder.settings is window.settings.recording
    canvas.show_playhead(2 * BAR, False)
    wav = tmp_path / "hit.wav"
    sf.write(str(wav), np.zeros((4800, 2), np.float32), 48000)
    assert window.imports.import_audio([wav])
    qtbot.waitUntil(lambda: any(getattr(c, "blob", "") for c in doc.clips()), timeout=10_000)
    region = next(c for c in doc.clips() if getattr(c, "blob", ""))
    assert region.start == 2 * BAR
    dialog = window.open_latency_dialog()
    assert dialog.isVisible()
    dialog.reject()
