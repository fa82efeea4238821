"""Adding tracks with an instrument, and mute/solo/volume reaching the engine. The
mixing checks listen to the real engine's output: a held note on a muted track
must fall silent while it still sounds (voices > 0) inside the synth. Audio and
chord tracks: added through the dialog and the Tracks menu, their rows' controls,
lanes lined up with rows, and an armed audio track recording its chosen input."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel
from pytestqt.qtbot import QtBot
from ui_support import (
    AUDIBLE,
    SILENT,
    UI,
    WAIT_MS,
    falls_silent,
    peak,
    when_dialog_opens,
    window_without_engine,
)

from strumspace_desktop.audio.protocol import St
from strumspace_desktop.core.document.model import AudioRegion
from strumspace_desktop.core.gm import DRUM_CHANNEL, Instrument
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.core.tracks import Track
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.arrange.hits import lane_top
from strumspace_desktop.ui.instrument_dialog import InstrumentDialog
from strumspace_desktop.ui.main_window import MainWindow
from strumspace_desktop.ui.project_controller import UnsavedChoice
from strumspace_desktop.ui.record_controller import arm_state
from strumspace_desktop.ui.track_list import ROW_HEIGHT, TrackRow

VIOLIN = Instrument.melodic(40)




def _add_violin(qtbot: QtBot, ui: UI) -> str:
    def choose(dialog: InstrumentDialog) -> None:
        dialog.name_edit.setText("Lead Violin")
        qtbot.keyClicks(dialog.search_edit, "violin")
        dialog.select_instrument(VIOLIN)
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                         Qt.MouseButton.LeftButton)

    when_dialog_opens(InstrumentDialog, choose)
    qtbot.mouseClick(ui.window.track_panel.add_button, Qt.MouseButton.LeftButton)
    track = ui.window.tracks.selected
    assert track is not None and track.name == "Lead Violin"
    assert track.instrument == VIOLIN
    return track.id


def test_add_track_mute_and_solo_change_what_the_engine_plays(qtbot: QtBot, ui: UI) -> None:
    w, eng = ui.window, ui.engine
    track_id = _add_violin(qtbot, ui)
    track = w.tracks.get(track_id)
    assert track.channel == 2  # after the default Piano (0) and Bass (1); drums use 9
    assert w.track_panel.rows[track_id].instrument_label.full_text() == "Violin"
    assert w.track_panel.rows[track_id].channel_label.text() == "CH 3"
    qtbot.waitUntil(lambda: int(eng.block.status[St.INPUT_CHANNEL]) == 2, timeout=WAIT_MS)

    qtbot.waitUntil(lambda: peak(eng) < SILENT, timeout=WAIT_MS)
    qtbot.keyPress(w, Qt.Key.Key_A)  # hold middle C on the violin
    qtbot.waitUntil(lambda: peak(eng) > AUDIBLE, timeout=WAIT_MS)

    row = w.track_panel.rows[track_id]
    qtbot.mouseClick(row.mute_button, Qt.MouseButton.LeftButton)
    assert w.tracks.get(track_id).mute
    falls_silent(qtbot, eng)

    qtbot.mouseClick(row.mute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: peak(eng) > AUDIBLE, timeout=WAIT_MS)

    # Soloing another track silences this one; un-soloing brings it back.
    piano = next(t for t in w.tracks.tracks if t.name == "Piano")
    qtbot.mouseClick(w.track_panel.rows[piano.id].solo_button, Qt.MouseButton.LeftButton)
    falls_silent(qtbot, eng)
    qtbot.mouseClick(w.track_panel.rows[piano.id].solo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: peak(eng) > AUDIBLE, timeout=WAIT_MS)

    # The volume fader at zero silences it too.
    row.volume_slider.setValue(0)
    assert w.tracks.get(track_id).volume == 0.0
    falls_silent(qtbot, eng)
    qtbot.keyRelease(w, Qt.Key.Key_A)


def test_the_add_dialog_refuses_a_sixteenth_instrument_track(qtbot: QtBot,
                                                             tmp_path: Path) -> None:
    # No engine at all: the window and its track rules work without one.
    window = MainWindow(AppSettings(), EngineAdapter(), config_dir=tmp_path,
                        ask_unsaved=lambda _action: UnsavedChoice.DISCARD)
    qtbot.addWidget(window)
    for i in range(12):  # 3 default tracks + 12 = 15 melodic-or-drum tracks
        window.tracks.add(f"Synth {i}", Instrument.melodic(80 + i))
    assert window.tracks.melodic_count() == 15 - 1  # the default drum track is not melodic
    window.tracks.add("Last one", Instrument.melodic(0))
    outcome: dict[str, object] = {}

    def choose(dialog: InstrumentDialog) -> None:
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        dialog.select_instrument(Instrument.melodic(24))
        outcome["melodic_ok"] = ok.isEnabled()
        outcome["message"] = dialog.error_label.text()
        dialog.select_instrument(Instrument.kit(25))
        outcome["kit_ok"] = ok.isEnabled()
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    when_dialog_opens(InstrumentDialog, choose)
    added = window.add_track_dialog()
    assert outcome["melodic_ok"] is False
    assert "All 15 instrument channels are in use" in str(outcome["message"])
    assert outcome["kit_ok"] is True
    assert added is not None and added.channel == DRUM_CHANNEL
    assert added.instrument is not None and added.instrument.name == "TR-808 Kit"
    assert window.tracks.selected == added


def test_the_track_live_midi_plays_is_named_from_the_start(ui: UI) -> None:
    selected = ui.window.tracks.selected
    assert selected is not None and selected.instrument is not None
    assert ui.window.playing_label.text() == (
        f"Playing: {selected.name} ({selected.instrument.name})")


# Every kind of track -----------------------------------------------------------------


def _add_through_dialog(qtbot: QtBot, window: MainWindow, kind: str,
                        name: str) -> tuple[Track | None, dict[str, object]]:
    seen: dict[str, object] = {}

    def choose(dialog: InstrumentDialog) -> None:
        qtbot.mouseClick(dialog.kind_buttons[kind], Qt.MouseButton.LeftButton)
        seen["tree_shown"] = dialog.tree.isVisible()
        seen["problem"] = dialog.error_label.text() if dialog.error_label.isVisible() else ""
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        seen["ok"] = ok.isEnabled()
        dialog.name_edit.setText(name)
        if ok.isEnabled():
            qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
        else:
            dialog.reject()

    when_dialog_opens(InstrumentDialog, choose)
    return window.add_track_dialog(), seen


def _controls(row: TrackRow) -> set[str]:
    named = {"instrument": row.instrument_label, "input": row.input_combo,
             "arm": row.arm_button, "mute": row.mute_button, "solo": row.solo_button,
             "volume": row.volume_slider}
    return {k for k, w in named.items() if w.isVisible()}


def test_add_audio_and_chord_tracks_rows_and_lanes_line_up(qtbot: QtBot,
                                                            tmp_path: Path) -> None:
    w = window_without_engine(qtbot, tmp_path)
    drums = w.tracks.tracks[2]
    w.tracks.select(drums.id)
    audio, seen = _add_through_dialog(qtbot, w, "audio", "Vocals")
    assert audio is not None and seen["tree_shown"] is False and seen["ok"] is True
    chords, _ = _add_through_dialog(qtbot, w, "chord", "")
    assert chords is not None and (chords.kind, chords.name) == ("chord", "Chords")
    # One chord track per song: the dialog says so and cannot add another.
    again, seen = _add_through_dialog(qtbot, w, "chord", "More chords")
    assert again is None and seen["ok"] is False
    assert "already has a chord track (Chords)" in str(seen["problem"])
    doc = w.projects.document
    assert [(t.name, t.kind) for t in doc.tracks()] == [
        ("Piano", "midi"), ("Bass", "midi"), ("Drums", "midi"), ("Vocals", "audio"),
        ("Chords", "chord")]
    assert [t.id for t in w.tracks.tracks] == doc.track_ids()

    rows = w.track_panel.rows
    assert _controls(rows[drums.id]) == {"instrument", "arm", "mute", "solo", "volume"}
    assert _controls(rows[audio.id]) == {"input", "arm", "mute", "solo", "volume"}
    assert _controls(rows[chords.id]) == {"instrument"}  # its text: edit chords in the lane
    assert rows[audio.id].channel_label.text() == "AUDIO"
    assert rows[chords.id].channel_label.text() == "CHORDS"

    # Selecting the audio track (to arm it) leaves live MIDI on the drums.
    assert w.tracks.selected == w.tracks.get(chords.id)
    qtbot.mouseClick(rows[audio.id], Qt.MouseButton.LeftButton)
    assert w.tracks.selected == w.tracks.get(audio.id)
    assert w.tracks.live == w.tracks.get(drums.id)
    assert w.playing_label.text() == "Playing: Drums (Standard Kit)"

    # Every lane lines up with its row, and every row has the lanes' height.
    qtbot.waitUntil(lambda: len(w.arrange.canvas.model.lanes) == 5)
    canvas = w.arrange.canvas

    def lined_up() -> bool:
        return all(rows[lane.track.id].mapTo(w, QPoint(0, 0)).y()
                   == canvas.mapTo(w, QPoint(0, lane_top(lane.index))).y()
                   for lane in canvas.model.lanes)

    qtbot.waitUntil(lined_up)  # after the layout's pass
    assert all(lane.has_row for lane in canvas.model.lanes)
    assert {rows[lane.track.id].height() for lane in canvas.model.lanes} == {ROW_HEIGHT}

    # Rename and remove work for every kind, and undo brings a row back in its place.
    w.tracks.rename(audio.id, "Lead Vocal")
    w.tracks.rename(chords.id, "Changes")
    assert rows[audio.id].name_label.full_text() == "Lead Vocal"
    assert rows[chords.id].name_label.full_text() == "Changes"
    w.tracks.select(audio.id)
    w.track_actions[-1].trigger()  # Remove Track
    assert audio.id not in w.track_panel.rows and canvas.model.lane_of(audio.id) is None
    w.projects.undo()
    assert w.track_panel._rows_layout.indexOf(w.track_panel.rows[audio.id]) == 3
    assert canvas.model.lane_of(audio.id) is not None
    w.tracks.remove(chords.id)
    assert chords.id not in w.track_panel.rows


def test_tracks_menu_adds_audio_and_chord_tracks(qtbot: QtBot, tmp_path: Path) -> None:
    w = window_without_engine(qtbot, tmp_path)
    actions = {a.text(): a for a in w.track_actions}
    actions["Add A&udio Track"].trigger()
    actions["Add C&hord Track"].trigger()
    actions["Add C&hord Track"].trigger()  # refused: the song has its chord track
    assert [t.kind for t in w.tracks.tracks] == ["midi", "midi", "midi", "audio", "chord"]
    texts = [label.text() for label in w.notices.findChildren(QLabel)]
    assert any("already has a chord track" in t for t in texts), texts
    # Change Instrument does nothing to a track without an instrument.
    w.change_instrument_dialog(w.tracks.tracks[3].id)
    assert w.tracks.tracks[3].instrument is None


def test_arm_an_audio_track_and_record_its_chosen_input(qtbot: QtBot, ui: UI) -> None:
    w = ui.window
    doc = w.projects.document
    audio, _seen = _add_through_dialog(qtbot, w, "audio", "Guitar")
    assert audio is not None
    row = w.track_panel.rows[audio.id]
    arms = arm_state()
    row.input_combo.setCurrentIndex(row.input_combo.findData("1"))
    assert arms.input_of(audio.id) == "1"
    row.arm_button.click()
    assert audio.id in arms.armed
    try:
        w.transport.record_button.click()
        ui.engine.set_count_in(0)
        w.transport.play_button.click()
        qtbot.waitUntil(lambda: w.transport.recorder.recording, timeout=WAIT_MS)
        qtbot.wait(300)
        w.adapter.stop_transport()
        qtbot.waitUntil(lambda: not w.transport.recorder.recording, timeout=WAIT_MS)
    finally:
        row.arm_button.click()
        if w.transport.recorder.enabled:
            w.transport.record_button.click()
    regions = doc.clips(audio.id)
    assert regions and all(isinstance(r, AudioRegion) for r in regions)
    blob = doc.blobs()[regions[0].blob]  # type: ignore[union-attr]
    assert blob.channels == 1 and blob.frames > 0  # input 1 only: a mono take
