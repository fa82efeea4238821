"""The mixer in the main window (no engine needed): View > Mixer (F3) shows it, it
mixes the window's project, follows New, and agrees with the track list and Edit >
Undo."""

from __future__ import annotations

from pathlib import Path

from mixer_support import drag_slider
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot
from ui_support import window_without_engine

from strumspace_desktop.ui.mixer.scales import FaderTaper


def test_view_mixer_shows_the_projects_mix(qtbot: QtBot, tmp_path: Path) -> None:
    window = window_without_engine(qtbot, tmp_path)
    dock = window.mixer_dock
    panel = dock.panel
    assert not dock.isVisible()
    assert window.mixer_action.shortcut() == QKeySequence("F3")
    assert window.mixer_action in window._menus["&View"].actions()
    window.mixer_action.trigger()
    assert dock.isVisible()
    doc = window.projects.document
    assert panel.document is doc
    assert [panel.strips[t].name for t in panel.order] == ["Piano", "Bass", "Drums"]

    # The track list and the mixer edit the same document.
    piano = panel.order[0]
    window.track_panel.rows[piano].mute_button.click()
    assert panel.strips[piano].mute_button.isChecked()
    drag_slider(panel.strips[piano].fader, FaderTaper().to_pos(-10.0))
    assert doc.track(piano).mixer.volume_db < -9.0
    qtbot.waitUntil(window.undo_action.isEnabled)  # the menus follow after each edit
    window.undo_action.trigger()  # the drag, as one step
    assert panel.strips[piano].fader.value == doc.track(piano).mixer.volume_db
    assert doc.track(piano).mixer.volume_db > -9.0
    assert doc.track(piano).mixer.mute

    # New project: the mixer follows it.
    assert window.projects.new()
    assert panel.document is window.projects.document is not doc
    assert piano not in panel.strips
    assert len(panel.order) == 3
    window.mixer_action.trigger()
    assert not dock.isVisible()
