"""The live chord dock on the real path: a separate JACK client plays a rendered
progression into the engine's input; showing the dock starts the live worker (the
committed model), its chords reach the display; hiding the dock stops the worker."""

from __future__ import annotations

import pytest
from chords_ui_support import WAIT_MS, JackPlayer, render_clip, tools_of
from pytestqt.qtbot import QtBot
from ui_support import UI

from strumspace_desktop.analysis.live_events import LiveState

pytestmark = [pytest.mark.jack, pytest.mark.slow]


def test_the_dock_shows_the_chords_played_into_the_engine_input(ui: UI, qtbot: QtBot) -> None:
    info = ui.engine.request("info")["stream"]
    assert info["input_ring"], "the engine opened no input"
    audio, _ = render_clip(int(info["sample_rate"]), repeats=2)
    player = JackPlayer(audio)
    tools = tools_of(ui.window)
    panel = tools.panel
    panel.use_generation = False
    try:
        assert player.connect_to_engine() >= 1
        tools.dock.show()
        qtbot.waitUntil(lambda: panel.listening, timeout=WAIT_MS)
        service = panel.service
        assert service is not None
        qtbot.waitUntil(lambda: panel.status_state is LiveState.LISTENING, timeout=WAIT_MS)
        assert panel.status_label.text() == "Listening to the audio input."
        qtbot.waitUntil(lambda: panel.current is not None, timeout=WAIT_MS)
        shown = panel.chord_label.text()
        assert shown and shown != "–"
        assert shown == tools.namer().name(panel.current.label)  # type: ignore[union-attr]
        assert 0 <= panel.confidence_bar.value() <= 100
        pid = service.pid
        tools.dock.hide()  # hiding the dock stops listening
        assert not panel.listening and not service.running
        assert pid is not None
        assert service.status.state is LiveState.OFF
    finally:
        player.close()
