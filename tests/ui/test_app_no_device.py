"""The app's start-up path without any audio device: the window still opens, says
why there is no sound, and stays usable."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot
from ui_support import JACK_API, when_dialog_opens

from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.ui.app import launch, run_app
from strumspace_desktop.ui.settings_dialog import AudioMidiSettingsDialog


@pytest.fixture
def no_audio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Settings that ask for JACK, on a machine where no JACK server (and no sound card)
    exists: the engine process inherits this environment."""
    monkeypatch.setenv("STRUMSPACE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "strumspace-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    settings = AppSettings()
    settings.audio.host_api = JACK_API
    return settings.save()


def test_window_opens_with_the_reason_in_words(qtbot: QtBot, no_audio: Path) -> None:
    session = launch()
    w = session.window
    try:
        assert w.isVisible()
        assert session.engine_error is None  # the engine runs; only the device is missing
        assert session.adapter.engine_running and not session.adapter.stream_running
        assert w.status.problem.startswith("No audio")
        assert w.status.device_label.text() == "No audio device"
        audio = w.notices.texts()["audio"]
        assert "StrumSpace cannot play sound right now" in audio
        assert "No audio output device was found" in audio
        assert w.notices.isVisible()

        # Still usable: the keyboard, the transport and the tracks do not fail.
        qtbot.keyClick(w, Qt.Key.Key_A)
        qtbot.mouseClick(w.transport.play_button, Qt.MouseButton.LeftButton)
        qtbot.keyClick(w, Qt.Key.Key_R)
        assert w.transport.record_button.isChecked()
        assert len(w.tracks) == 3

        # The notice's button opens the settings, where the choice is kept.
        seen: dict[str, str] = {}

        def look(d: AudioMidiSettingsDialog) -> None:
            seen["api"] = d.host_api_combo.currentText()
            d.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()

        when_dialog_opens(AudioMidiSettingsDialog, look)
        notice = w.notices.notice("audio")
        assert notice is not None and notice.action_button is not None
        notice.action_button.click()
        assert seen["api"].startswith(JACK_API)  # kept, marked "(not connected)"
    finally:
        w.close()
        session.shutdown()
    # The settings were saved on the way out, and still name JACK.
    assert AppSettings.load(no_audio)[0].audio.host_api == JACK_API


def test_run_app_takes_a_screenshot_without_a_device(qtbot: QtBot, no_audio: Path,
                                                     tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    assert run_app(screenshot=str(shot)) == 0
    image = QImage(str(shot))
    assert not image.isNull()
    assert image.width() >= 800 and image.height() >= 500
