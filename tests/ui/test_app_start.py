"""Start-up problems that must not stop the app (a damaged settings file, a broken
SoundFont), and recovery when the engine process dies."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_support import JACK_API, UI, WAIT_MS

from strumspace_desktop.audio.protocol import St
from strumspace_desktop.core.settings import SETTINGS_FILENAME, AppSettings
from strumspace_desktop.ui.app import launch


def test_damaged_settings_and_a_broken_soundfont_become_messages(
        qtbot: QtBot, jack_server: object, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setenv("STRUMSPACE_CONFIG_DIR", str(tmp_path))
    (tmp_path / SETTINGS_FILENAME).write_text("{ this is not json", encoding="utf-8")
    session = launch()
    w = session.window
    try:
        assert session.settings_warning is not None
        assert "damaged" in w.notices.texts()["settings"]
        qtbot.waitUntil(lambda: session.adapter.stream_running, timeout=WAIT_MS)
        assert w.stream_info is not None and w.stream_info["host_api"] == JACK_API
        assert w.status.problem == ""
    finally:
        w.close()
        session.shutdown()

    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFX not a soundfont at all")
    settings = AppSettings()
    settings.instrument.soundfont_path = str(broken)
    settings.save()
    session = launch()
    w = session.window
    try:
        text = w.notices.texts()["soundfont"]
        assert "broken.sf2 is not a SoundFont" in text
        assert "StrumSpace keeps running" in text
        # Sound still works with the system's font, and the chosen path is kept.
        qtbot.waitUntil(lambda: session.adapter.stream_running, timeout=WAIT_MS)
        assert session.settings.instrument.soundfont_path == str(broken)
    finally:
        w.close()
        session.shutdown()


def test_engine_crash_is_shown_and_the_session_comes_back(qtbot: QtBot, ui: UI) -> None:
    w, client = ui.window, ui.engine
    old_pid = client.pid
    assert old_pid is not None
    w.transport.tempo_spin.setValue(97.0)
    qtbot.waitUntil(lambda: client.status().tempo == 97.0, timeout=WAIT_MS)
    recovered: list[dict[str, object]] = []
    ui.adapter.stream_recovered.connect(recovered.append)
    os.kill(old_pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: "engine" in w.notices.texts(), timeout=WAIT_MS)
    assert "stopped unexpectedly" in w.notices.texts()["engine"]
    assert w.status.problem == "Audio engine stopped"
    qtbot.keyClick(w, Qt.Key.Key_A)  # harmless while there is no engine
    w.transport.tempo_spin.setValue(88.0)  # changed while the engine is away

    # The client starts a fresh engine and reopens the device by itself.
    qtbot.waitUntil(lambda: bool(recovered), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: ui.adapter.stream_running, timeout=WAIT_MS)
    assert client.pid != old_pid
    assert "engine" not in w.notices.texts()
    assert w.status.problem == ""
    assert "system (JACK)" in w.status.device_label.text()
    qtbot.waitUntil(lambda: client.status().tempo == 88.0, timeout=WAIT_MS)
    selected = w.tracks.selected
    assert selected is not None
    qtbot.waitUntil(lambda: int(client.block.status[St.INPUT_CHANNEL]) == selected.channel,
                    timeout=WAIT_MS)
    # And it plays again.
    with qtbot.waitSignal(ui.adapter.note_on_received, timeout=WAIT_MS):
        qtbot.keyClick(w, Qt.Key.Key_S)


def test_restart_button_starts_a_new_engine(qtbot: QtBot, ui: UI) -> None:
    w = ui.window
    old = ui.engine
    w.show_engine_problem("Testing the button.")
    notice = w.notices.notice("engine")
    assert notice is not None and notice.action_button is not None
    qtbot.mouseClick(notice.action_button, Qt.MouseButton.LeftButton)
    new = ui.adapter.client
    try:
        assert new is not None and new is not old and not old.alive
        qtbot.waitUntil(lambda: ui.adapter.stream_running, timeout=WAIT_MS)
        assert "engine" not in w.notices.texts()
        assert w.status.problem == ""
        selected = w.tracks.selected
        assert selected is not None
        assert int(new.block.status[St.INPUT_CHANNEL]) == selected.channel
    finally:
        ui.adapter.attach(None)
        if new is not None and new is not old:
            new.stop()
