"""The audio & MIDI settings dialog against the real engine: it lists the JACK
device, and what is chosen is applied to the engine and saved for the next run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QPushButton
from pytestqt.qtbot import QtBot
from ui_support import JACK_API, UI, WAIT_MS, when_dialog_opens

from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.ui.settings_dialog import NOT_CONNECTED, AudioMidiSettingsDialog


def _ok(dialog: AudioMidiSettingsDialog) -> QPushButton:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_dialog_lists_jack_and_saves_the_choice(qtbot: QtBot, ui: UI, soundfont: Path,
                                                jack_server: object) -> None:
    w = ui.window
    period = jack_server.period  # type: ignore[attr-defined]
    seen: dict[str, object] = {}

    def choose(d: AudioMidiSettingsDialog) -> None:
        apis = [d.host_api_combo.itemData(i) for i in range(d.host_api_combo.count())]
        seen["apis"] = apis
        d.host_api_combo.setCurrentIndex(d.host_api_combo.findData(JACK_API))
        outputs = [d.output_combo.itemData(i) for i in range(d.output_combo.count())]
        seen["outputs"] = outputs
        d.output_combo.setCurrentIndex(d.output_combo.findData("system"))
        d.input_combo.setCurrentIndex(d.input_combo.findData("system"))
        d.blocksize_combo.setCurrentIndex(d.blocksize_combo.findData(period))
        seen["all_ports"] = d.all_ports_check.isChecked()
        seen["virtual"] = d.virtual_hint.text()
        qtbot.mouseClick(d.refresh_button, Qt.MouseButton.LeftButton)
        d.soundfont_edit.setText(str(soundfont))
        qtbot.mouseClick(_ok(d), Qt.MouseButton.LeftButton)

    when_dialog_opens(AudioMidiSettingsDialog, choose)
    w.open_settings()

    assert JACK_API in seen["apis"]  # type: ignore[operator]
    assert "system" in seen["outputs"]  # type: ignore[operator]
    assert seen["all_ports"] is True
    assert "StrumSpace" in str(seen["virtual"]) and "midi_in" in str(seen["virtual"])
    # Applied: the stream was reopened on the chosen device.
    assert w.stream_info is not None
    assert (w.stream_info["device"], w.stream_info["host_api"]) == ("system", JACK_API)
    assert w.stream_info["blocksize"] == period
    assert "system (JACK)" in w.status.device_label.text()
    assert "Latency" in w.status.latency_label.text() and "ms" in w.status.latency_label.text()
    qtbot.waitUntil(lambda: ui.adapter.stream_running, timeout=WAIT_MS)
    assert not w.notices.texts().get("soundfont")

    saved, warning = AppSettings.load(ui.settings_path)
    assert warning is None
    assert (saved.audio.host_api, saved.audio.output_device, saved.audio.input_device) == (
        JACK_API, "system", "system")
    assert saved.audio.blocksize == period
    assert saved.midi.input_ports == []  # all ports
    assert saved.instrument.soundfont_path == str(soundfont)


def test_a_device_that_is_not_connected_stays_listed(qtbot: QtBot, ui: UI) -> None:
    ui.settings.audio.output_device = "USB Audio Interface"
    ui.settings.audio.host_api = JACK_API
    ui.settings.midi.input_ports = ["Keystation 88"]
    dialog = AudioMidiSettingsDialog(ui.settings, ui.adapter, ui.window)
    qtbot.addWidget(dialog)
    assert dialog.output_combo.currentText() == f"USB Audio Interface{NOT_CONNECTED}"
    assert not dialog.all_ports_check.isChecked()
    labels = [dialog.ports_list.item(i).text() for i in range(dialog.ports_list.count())]
    assert f"Keystation 88{NOT_CONNECTED}" in labels
    dialog.blocksize_combo.setCurrentIndex(dialog.blocksize_combo.findData(128))
    assert "2.7 ms" in dialog.latency_hint.text()  # 128 frames at 48 kHz
    dialog.reject()
    assert ui.settings.audio.blocksize != 128  # cancel changes nothing
