"""Projects in the window: save and open, undo and redo reaching the widgets and the
engine, autosave and crash recovery, and projects that cannot be edited or opened.
Real document, real files, real engine on the test JACK server."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pycrdt import Map
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_support import AUDIBLE, SILENT, UI, WAIT_MS, falls_silent, peak

from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.core.document import Document
from strumspace_desktop.core.document.project_files import (
    MANIFEST_FILE,
    find_recoverable,
    new_project,
    save_project_as,
)
from strumspace_desktop.core.gm import Instrument
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.main_window import MainWindow
from strumspace_desktop.ui.project_controller import UnsavedChoice

VIOLIN = Instrument.melodic(40)




def _sounds(qtbot: QtBot, engine: EngineClient) -> None:
    qtbot.waitUntil(lambda: peak(engine) > AUDIBLE, timeout=WAIT_MS)


def _track_rows(w: MainWindow) -> list[tuple[str, Instrument, int, bool, bool, float]]:
    return [(t.name, t.instrument, t.channel, t.mute, t.solo, t.volume)
            for t in w.tracks.tracks]


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def make_window(qtbot: QtBot, engine: EngineClient, tmp_path: Path,
                ui_settings: AppSettings) -> Iterator[WindowFactory]:
    """Windows on the one test engine, one at a time (a later one takes the engine over),
    sharing a config folder as successive starts of the app would."""
    adapters: list[EngineAdapter] = []

    def make(clock: Callable[[], float] | None = None) -> MainWindow:
        for a in adapters:
            a.attach(None)
        adapter = EngineAdapter(engine)
        adapters.append(adapter)
        extra = {"clock": clock} if clock is not None else {}
        window = MainWindow(ui_settings, adapter, settings_path=tmp_path / "settings.json",
                            config_dir=tmp_path / "config",
                            ask_unsaved=lambda _action: UnsavedChoice.DISCARD, **extra)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.push_state()
        window.activateWindow()
        window.setFocus()
        return window

    yield make
    for a in adapters:
        a.attach(None)


@pytest.fixture
def ui_settings(jack_server: object) -> AppSettings:
    settings = AppSettings()
    settings.transport.metronome_on = False
    return settings


def test_a_saved_song_opens_equal_in_a_fresh_window(
        qtbot: QtBot, make_window: WindowFactory, engine: EngineClient,
        tmp_path: Path) -> None:
    w = make_window()
    assert w.windowTitle() == "Untitled[*] — StrumSpace" and not w.isWindowModified()
    assert [t.name for t in w.tracks.tracks] == ["Piano", "Bass", "Drums"]
    assert not w.undo_action.isEnabled()  # the defaults are not undoable
    violin = w.add_track("Lead Violin", VIOLIN)
    assert violin is not None
    bass = w.tracks.tracks[1]
    w.tracks.rename(bass.id, "Fretless")
    w.tracks.set_instrument(bass.id, Instrument.melodic(35))
    qtbot.mouseClick(w.track_panel.rows[violin.id].mute_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.track_panel.rows[w.tracks.tracks[2].id].solo_button,
                     Qt.MouseButton.LeftButton)
    w.track_panel.rows[bass.id].volume_slider.setValue(35)
    w.transport.tempo_spin.setValue(97.5)
    w.transport.numerator_spin.setValue(3)
    qtbot.mouseClick(w.transport.loop_button, Qt.MouseButton.LeftButton)  # loop on
    qtbot.waitUntil(w.isWindowModified, timeout=WAIT_MS)  # set once the edit is done
    expected = _track_rows(w)

    # Cancel keeps the song; nothing is replaced.
    w.projects.ask_unsaved = lambda _action: UnsavedChoice.CANCEL
    assert not w.projects.new()
    assert _track_rows(w) == expected

    path = tmp_path / "songs" / "Night Drive"
    assert w.projects.save_as(path)
    saved = path.with_name("Night Drive.strumspace")
    assert (saved / MANIFEST_FILE).is_file()
    assert w.windowTitle() == "Night Drive[*] — StrumSpace" and not w.isWindowModified()
    assert w.projects.recent.paths() == [saved.resolve()]
    w.close()
    assert not w.isVisible()

    w2 = make_window()
    assert [t.name for t in w2.tracks.tracks] == ["Piano", "Bass", "Drums"]
    assert w2.projects.open(saved)
    assert _track_rows(w2) == expected
    assert w2.windowTitle() == "Night Drive[*] — StrumSpace" and not w2.isWindowModified()
    bar = w2.transport
    assert (bar.tempo_spin.value(), bar.numerator_spin.value()) == (97.5, 3)
    assert bar.loop_button.isChecked()
    assert w2.track_panel.rows[violin.id].mute_button.isChecked()
    assert w2.track_panel.rows[bass.id].volume_slider.value() == 35
    # The engine follows the opened song.
    qtbot.waitUntil(lambda: engine.status().tempo == 97.5, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: engine.status().numerator == 3 and engine.status().loop_on,
                    timeout=WAIT_MS)
    assert (engine.status().loop_start, engine.status().loop_end) == (0.0, 12.0)
    assert not w2.undo_action.isEnabled()  # opening is not an edit


def test_undo_and_redo_reach_the_widgets_and_the_engine(qtbot: QtBot, ui: UI) -> None:
    w, eng = ui.window, ui.engine
    ctrl = Qt.KeyboardModifier.ControlModifier
    shift_ctrl = ctrl | Qt.KeyboardModifier.ShiftModifier
    violin = w.add_track("Lead Violin", VIOLIN)
    assert violin is not None and violin.channel == 2
    qtbot.waitUntil(w.undo_action.isEnabled, timeout=WAIT_MS)
    row = w.track_panel.rows[violin.id]
    qtbot.waitUntil(lambda: peak(eng) < SILENT, timeout=WAIT_MS)
    qtbot.keyPress(w, Qt.Key.Key_A)  # hold middle C on the violin
    _sounds(qtbot, eng)

    # Mute, then undo and redo it with the keyboard.
    qtbot.mouseClick(row.mute_button, Qt.MouseButton.LeftButton)
    falls_silent(qtbot, eng)
    qtbot.keyClick(w, Qt.Key.Key_Z, ctrl)
    assert not row.mute_button.isChecked() and not w.tracks.get(violin.id).mute
    _sounds(qtbot, eng)
    qtbot.waitUntil(w.redo_action.isEnabled, timeout=WAIT_MS)
    qtbot.keyClick(w, Qt.Key.Key_Z, shift_ctrl)
    assert row.mute_button.isChecked()
    falls_silent(qtbot, eng)
    qtbot.keyClick(w, Qt.Key.Key_Y, ctrl)  # nothing left to redo: no change
    assert row.mute_button.isChecked()
    qtbot.keyClick(w, Qt.Key.Key_Z, ctrl)
    _sounds(qtbot, eng)

    # A fader drag, press to release, is one undo step however many values it passes.
    depth = w.projects.document.undo_depth
    slider = row.volume_slider
    slider.setSliderDown(True)
    for value in (70, 50, 20, 5, 0):
        slider.setValue(value)
    slider.setSliderDown(False)
    assert w.tracks.get(violin.id).volume == 0.0
    falls_silent(qtbot, eng)
    assert w.projects.document.undo_depth == depth + 1
    qtbot.keyClick(w, Qt.Key.Key_Z, ctrl)
    assert slider.value() == 80 and w.tracks.get(violin.id).volume == 0.8
    _sounds(qtbot, eng)

    # Undoing the add removes the row and silences its channel; redo brings both back.
    w.projects.undo()  # the redo stack's mute was dropped by the drag: this is the add
    assert violin.id not in w.track_panel.rows
    assert [t.name for t in w.tracks.tracks] == ["Piano", "Bass", "Drums"]
    falls_silent(qtbot, eng)
    w.projects.redo()
    assert w.track_panel.rows[violin.id].channel_label.text() == "CH 3"
    _sounds(qtbot, eng)
    qtbot.keyRelease(w, Qt.Key.Key_A)


def test_autosave_and_recovery_after_a_crash(
        qtbot: QtBot, make_window: WindowFactory, tmp_path: Path) -> None:
    now = [1000.0]
    w = make_window(clock=lambda: now[0])
    piano = w.tracks.tracks[0]
    w.tracks.rename(piano.id, "Grand")
    w.add_track("Strings", Instrument.melodic(48))
    w.transport.tempo_spin.setValue(101.0)
    saver = w.projects.autosaver
    assert saver is not None and w.projects.timer.isActive()
    autosave = saver.session_dir / "autosave.ystate"
    w.projects.autosave_tick()
    assert not autosave.exists()  # too early: the Autosaver decides
    now[0] += 31.0
    w.projects.autosave_tick()
    copy = Document.from_state(autosave.read_bytes())
    assert [t.name for t in copy.tracks()] == ["Grand", "Bass", "Drums", "Strings"]
    assert copy.tempo_changes()[0].bpm == 101.0

    # A crash leaves the session folder behind with nobody holding its lock; this copy
    # is such a folder (the running window keeps its own lock).
    crashed = saver.session_dir.with_name("crashed-session")
    shutil.copytree(saver.session_dir, crashed)
    w.close()  # the test's answer discards this window's own changes
    assert not saver.session_dir.exists()

    w2 = make_window()
    notice = w2.notices.notice("recovery")
    assert notice is not None
    assert "stopped unexpectedly" in notice.label.text()
    assert "untitled song" in notice.label.text()
    assert [t.name for t in w2.tracks.tracks] == ["Piano", "Bass", "Drums"]
    qtbot.mouseClick(notice.action_buttons["Recover"], Qt.MouseButton.LeftButton)
    assert [t.name for t in w2.tracks.tracks] == ["Grand", "Bass", "Drums", "Strings"]
    assert w2.transport.tempo_spin.value() == 101.0
    assert w2.isWindowModified()  # recovered work is unsaved until saved
    assert "recovery" not in w2.notices.texts()
    assert crashed.exists()  # kept until this session holds its own copy
    assert w2.projects.save_as(tmp_path / "Rescued")
    assert not crashed.exists() and not w2.isWindowModified()
    assert find_recoverable(w2.projects.recovery_dir) == []


def test_a_discarded_recovery_is_gone(make_window: WindowFactory) -> None:
    w = make_window()
    w.tracks.rename(w.tracks.tracks[0].id, "Keys")
    saver = w.projects.autosaver
    assert saver is not None
    saver.autosave()
    crashed = saver.session_dir.with_name("crashed-session")
    shutil.copytree(saver.session_dir, crashed)
    w.projects.ask_unsaved = lambda _action: UnsavedChoice.DISCARD
    w.close()
    w2 = make_window()
    notice = w2.notices.notice("recovery")
    assert notice is not None
    notice.action_buttons["Discard"].click()
    assert not crashed.exists() and "recovery" not in w2.notices.texts()
    assert [t.name for t in w2.tracks.tracks] == ["Piano", "Bass", "Drums"]


def _saved_song(folder: Path, title: str = "") -> Path:
    project = new_project(folder / "scratch")
    doc = project.document
    doc.add_track("midi", "Only Track")
    doc.set_tempo(0, 140.0)
    if title:
        doc.set_title(title)
    path = folder / "Song.strumspace"
    save_project_as(project, path)
    return path


def test_a_corrupt_project_shows_a_notice_and_changes_nothing(
        qtbot: QtBot, ui: UI, tmp_path: Path) -> None:
    w = ui.window
    path = _saved_song(tmp_path)
    state = path / "document.ystate"
    state.write_bytes(state.read_bytes()[:-7] + b"garbage")
    before = _files(path)
    shown = _track_rows(w)
    assert not w.projects.open(path)
    assert "damaged" in w.notices.texts()["open"]
    assert _files(path) == before
    assert _track_rows(w) == shown and w.windowTitle() == "Untitled[*] — StrumSpace"
    assert w.projects.recent.paths() == []

    (path / MANIFEST_FILE).write_text("{ not json", encoding="utf-8")
    before = _files(path)
    assert not w.projects.open(path)
    assert "damaged" in w.notices.texts()["open"]
    assert _files(path) == before


def test_a_newer_schema_opens_read_only_with_a_notice(
        qtbot: QtBot, ui: UI, tmp_path: Path) -> None:
    w = ui.window
    project = new_project(tmp_path / "scratch")
    project.document.add_track("midi", "From the future")
    project.document.ydoc.get("meta", type=Map)["schema_version"] = 99
    path = tmp_path / "Future.strumspace"
    save_project_as(project, path)
    before = _files(path)

    assert w.projects.open(path)
    assert "newer StrumSpace" in w.notices.texts()["project"]
    assert w.windowTitle() == "Future[*] (read-only) — StrumSpace"
    assert [t.name for t in w.tracks.tracks] == ["From the future"]
    row = next(iter(w.track_panel.rows.values()))
    assert not row.mute_button.isEnabled() and not row.volume_slider.isEnabled()
    assert not w.track_panel.add_button.isEnabled()
    assert not w.transport.tempo_spin.isEnabled()
    assert not (w.save_action.isEnabled() or w.save_as_action.isEnabled())
    assert not w.undo_action.isEnabled()
    assert not w.projects.save()
    assert _files(path) == before
