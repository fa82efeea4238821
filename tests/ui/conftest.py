"""UI test set-up: the main window wired to a real engine on the test JACK server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from ui_support import JACK_API, UI, WAIT_MS

from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.main_window import MainWindow
from strumspace_desktop.ui.project_controller import UnsavedChoice
from strumspace_desktop.ui.theme import apply_dark_theme


@pytest.fixture
def ui(qtbot: QtBot, engine: EngineClient, jack_server: object, qapp: object,
       tmp_path: Path) -> Iterator[UI]:
    """The main window on a running engine, set up as the app does at start."""
    apply_dark_theme(qapp)  # type: ignore[arg-type]
    settings = AppSettings()
    settings.audio.host_api = JACK_API
    # The server's own period, so that opening the device never changes the shared server.
    settings.audio.blocksize = jack_server.period  # type: ignore[attr-defined]
    settings.transport.metronome_on = False
    path = tmp_path / "settings.json"
    adapter = EngineAdapter(engine)
    # Its own config folder (recent projects, autosaves); unsaved test edits are
    # discarded at the end instead of asking with a modal box.
    window = MainWindow(settings, adapter, settings_path=path, config_dir=tmp_path / "config",
                        ask_unsaved=lambda _action: UnsavedChoice.DISCARD)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.connect_engine()
    window.activateWindow()
    window.setFocus()
    qtbot.waitUntil(lambda: adapter.stream_running, timeout=WAIT_MS)
    yield UI(window, adapter, engine, settings, path)
    # The engine fixture stops the engine; only stop following it here.
    adapter.attach(None)
