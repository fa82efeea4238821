"""MIDI learn with real MIDI: a JACK MIDI output in this process plays the part of a
USB controller that is plugged in while the app runs; the engine, listening to all
ports (the default), opens it by itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import rtmidi
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from ui_support import UI, WAIT_MS

from strumspace_desktop.audio.protocol import St, TransportState
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.ui.midi_learn import Binding


class Controller:
    """A MIDI controller on JACK: a source port that sends control changes."""

    def __init__(self) -> None:
        self.out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="strumspace-test-ctl")
        self.out.open_virtual_port("out")

    def cc(self, controller: int, value: int, channel: int = 0) -> None:
        self.out.send_message([0xB0 | channel, controller, value])

    def close(self) -> None:
        self.out.close_port()
        self.out.delete()


@pytest.fixture
def controller(ui: UI, qtbot: QtBot) -> Iterator[Controller]:
    ctl = Controller()
    # The engine looks for new ports every second: wait until a message gets through.
    seen: list[tuple[int, int, int]] = []
    ui.adapter.control_changed.connect(lambda *a: seen.append(a))

    def through() -> bool:
        ctl.cc(119, 0)
        return (0, 119, 0) in seen

    qtbot.waitUntil(through, timeout=WAIT_MS)
    # MIDI keeps its order: once this marker is seen, no earlier probe is in flight.
    ctl.cc(119, 127)
    qtbot.waitUntil(lambda: (0, 119, 127) in seen, timeout=WAIT_MS)
    yield ctl
    ctl.close()


def _learn(qtbot: QtBot, ui: UI, ctl: Controller, widget: QWidget, cc: int) -> None:
    learn = ui.window.midi_learn
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    assert learn.armed is not None
    target = learn.armed
    ctl.cc(cc, 0)  # a button's release or a knob at zero binds as well as anything
    qtbot.waitUntil(lambda: learn.binding_for(target) == Binding(target, 0, cc),
                    timeout=WAIT_MS)
    assert learn.armed is None
    assert ui.engine.block.cc_consume[0, cc] == 1  # no longer reaches the synth


def test_learned_controls_drive_tempo_transport_and_volume(
        qtbot: QtBot, ui: UI, controller: Controller) -> None:
    w, eng = ui.window, ui.engine
    bar = w.transport
    qtbot.mouseClick(bar.learn_button, Qt.MouseButton.LeftButton)
    assert w.midi_learn.learning
    _learn(qtbot, ui, controller, bar.tempo_spin.lineEdit(), 21)
    _learn(qtbot, ui, controller, bar.play_button, 22)
    _learn(qtbot, ui, controller, bar.master_volume, 23)
    _learn(qtbot, ui, controller, bar.record_button, 24)
    # Clicking in learn mode armed the controls without operating them.
    assert eng.status().state == TransportState.STOPPED
    assert not eng.status().record_armed
    qtbot.mouseClick(bar.learn_button, Qt.MouseButton.LeftButton)
    assert not w.midi_learn.learning

    controller.cc(21, 127)
    qtbot.waitUntil(lambda: eng.status().tempo == 300.0, timeout=WAIT_MS)
    controller.cc(21, 0)
    qtbot.waitUntil(lambda: eng.status().tempo == 20.0, timeout=WAIT_MS)
    assert bar.tempo_spin.value() == 20.0

    controller.cc(23, 0)
    qtbot.waitUntil(lambda: eng.block.status[St.MASTER_GAIN] == 0.0, timeout=WAIT_MS)
    controller.cc(23, 127)
    qtbot.waitUntil(lambda: eng.block.status[St.MASTER_GAIN] == 1.0, timeout=WAIT_MS)

    # A button: 127 on press starts playback ...
    controller.cc(22, 127)
    qtbot.waitUntil(lambda: eng.status().state != TransportState.STOPPED, timeout=WAIT_MS)
    # ... holding it (127 again, no new press) does nothing ...
    with qtbot.waitSignal(ui.adapter.control_changed, timeout=WAIT_MS,
                          check_params_cb=lambda ch, c, v: (c, v) == (22, 127)):
        controller.cc(22, 127)
    # A wrong toggle would have been sent by now; a few engine blocks apply it.
    blocks = eng.status().heartbeat
    qtbot.waitUntil(lambda: eng.status().heartbeat >= blocks + 4, timeout=WAIT_MS)
    assert eng.status().state != TransportState.STOPPED
    # ... release and press again stops.
    controller.cc(22, 0)
    controller.cc(22, 127)
    qtbot.waitUntil(lambda: eng.status().state == TransportState.STOPPED, timeout=WAIT_MS)

    controller.cc(24, 127)
    qtbot.waitUntil(lambda: eng.status().record_armed, timeout=WAIT_MS)
    controller.cc(24, 0)
    controller.cc(24, 100)
    qtbot.waitUntil(lambda: not eng.status().record_armed, timeout=WAIT_MS)

    assert w.status.midi_light.flashes > 0  # the status bar showed the activity

    saved, _ = AppSettings.load(ui.settings_path)
    assert sorted((b["target"], b["controller"]) for b in saved.midi.learn_bindings) == [
        ("master_volume", 23), ("play", 22), ("record", 24), ("tempo", 21)]


def test_rebinding_moves_a_cc_and_clearing_releases_it(
        qtbot: QtBot, ui: UI, controller: Controller) -> None:
    learn, bar, eng = ui.window.midi_learn, ui.window.transport, ui.engine
    qtbot.mouseClick(bar.learn_button, Qt.MouseButton.LeftButton)
    _learn(qtbot, ui, controller, bar.stop_button, 30)
    _learn(qtbot, ui, controller, bar.stop_button, 31)  # the stop button moves to CC 31
    assert eng.block.cc_consume[0, 30] == 0
    _learn(qtbot, ui, controller, bar.play_button, 31)  # CC 31 now plays instead
    assert learn.binding_for("stop") is None
    assert [b.target for b in learn.bindings] == ["play"]
    qtbot.mouseClick(bar.learn_button, Qt.MouseButton.LeftButton)
    learn.clear()
    assert eng.block.cc_consume[0, 31] == 0
    assert AppSettings.load(ui.settings_path)[0].midi.learn_bindings == []


def test_bindings_from_settings_are_checked() -> None:
    assert Binding.from_dict({"target": "tempo", "channel": 2, "controller": 7}) == \
        Binding("tempo", 2, 7)
    for bad in ({"target": "explode", "channel": 0, "controller": 1},
                {"target": "tempo", "channel": 16, "controller": 1},
                {"target": "tempo", "channel": 0, "controller": 128},
                {"target": "tempo", "channel": True, "controller": 1},
                {"target": "tempo"}):
        assert Binding.from_dict(bad) is None
