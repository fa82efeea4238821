"""A device that vanishes while the app runs and comes back: the window says so,
then plays again. The 'device' is a private JACK server that the test stops and
starts again (never the shared test server)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from ui_support import JACK_API, WAIT_MS

from benchmarks.jack_server import JackServer, JackServerError
from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.main_window import MainWindow

SERVER = f"strumspace-ui-lost-{os.getpid()}"


@pytest.fixture
def private_jack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[JackServer]:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", SERVER)
    jack = JackServer(SERVER, realtime=False, log=tmp_path / "jackd.log")
    try:
        jack.start()
    except JackServerError as exc:
        pytest.fail(str(exc))
    yield jack
    jack.stop()


def test_a_vanished_device_is_shown_and_comes_back(qtbot: QtBot, private_jack: JackServer,
                                                   tmp_path: Path) -> None:
    client = EngineClient()
    client.start()
    adapter = EngineAdapter(client)
    settings = AppSettings()
    settings.audio.host_api = JACK_API
    window = MainWindow(settings, adapter, settings_path=tmp_path / "settings.json",
                        config_dir=tmp_path / "config")
    qtbot.addWidget(window)
    try:
        window.show()
        window.connect_engine()
        qtbot.waitUntil(lambda: adapter.stream_running, timeout=WAIT_MS)
        assert window.status.problem == ""
        assert "system (JACK)" in window.status.device_label.text()

        # What the window shows as the loss is reported (the engine's next steps,
        # retrying or failing, may follow within the same poll).
        shown: dict[str, str] = {}
        adapter.stream_lost.connect(lambda message: shown.update(
            message=message, problem=window.status.problem,
            device=window.status.device_label.text(),
            notice=window.notices.texts().get("audio", "")))
        private_jack.stop()  # the interface is unplugged
        qtbot.waitUntil(lambda: "message" in shown, timeout=WAIT_MS)
        assert "keeps trying to reopen it" in shown["message"]
        assert shown["notice"] == shown["message"]
        assert shown["problem"].startswith("Audio device lost")
        assert shown["device"] == "No audio device"
        assert window.notices.texts()["audio"] == shown["message"]
        assert not adapter.stream_running

        recovered: list[dict[str, object]] = []
        adapter.stream_recovered.connect(recovered.append)
        private_jack.start()  # ... and plugged in again
        qtbot.waitUntil(lambda: bool(recovered), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: adapter.stream_running, timeout=WAIT_MS)
        assert "audio" not in window.notices.texts()
        assert window.status.problem == ""
        assert "system (JACK)" in window.status.device_label.text()
    finally:
        adapter.attach(None)
        client.stop()
