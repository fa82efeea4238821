"""Adding tracks with an instrument, and mute/solo/volume reaching the engine. The
mixing checks listen to the real engine's output: a held note on a muted track
must fall silent while it still sounds (voices > 0) inside the synth."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot
from ui_support import AUDIBLE, SILENT, UI, WAIT_MS, falls_silent, peak, when_dialog_opens

from strumspace_desktop.audio.protocol import St
from strumspace_desktop.core.gm import DRUM_CHANNEL, Instrument
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.instrument_dialog import InstrumentDialog
from strumspace_desktop.ui.main_window import MainWindow
from strumspace_desktop.ui.project_controller import UnsavedChoice

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
    assert added.instrument.name == "TR-808 Kit"
    assert window.tracks.selected == added


def test_the_track_live_midi_plays_is_named_from_the_start(ui: UI) -> None:
    selected = ui.window.tracks.selected
    assert selected is not None
    assert ui.window.playing_label.text() == (
        f"Playing: {selected.name} ({selected.instrument.name})")
