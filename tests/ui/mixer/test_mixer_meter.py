"""The peak meter: levels in dB on the fader's scale, peak hold, the clip lamp, and
a repaint only when what it shows moved."""

from __future__ import annotations

import math

from mixer_support import press, release
from PySide6.QtCore import QPointF
from pytestqt.qtbot import QtBot

from strumspace_desktop.ui.mixer.fader import VolumeFader
from strumspace_desktop.ui.mixer.meter import HOLD_S, PeakMeter


class Clock:
    """The meter's time source, moved by hand so that hold times need no waiting."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_levels_hold_and_clip(qtbot: QtBot) -> None:
    clock = Clock()
    meter = PeakMeter(2, clock=clock)
    qtbot.addWidget(meter)
    meter.resize(14, 200)
    meter.show()
    meter.set_levels((0.5, 0.25))
    assert math.isclose(meter.levels_db[0], -6.02, abs_tol=0.01)
    assert math.isclose(meter.levels_db[1], -12.04, abs_tol=0.01)
    assert not meter.clipped
    clock.now += 0.1
    meter.set_levels((0.1, 0.1))
    assert math.isclose(meter.hold_db[0], -6.02, abs_tol=0.01)  # held
    clock.now += HOLD_S + 0.01
    meter.set_levels((0.1, 0.0))
    assert math.isclose(meter.hold_db[0], -20.0, abs_tol=0.01)  # then it lets go
    assert meter.hold_db[1] == -math.inf
    meter.set_levels((1.0, 0.3))  # 0 dBFS: the lamp latches
    meter.set_levels((0.0, 0.0))
    assert meter.clipped
    press(meter, QPointF(5, 50))
    release(meter, QPointF(5, 50))
    assert not meter.clipped


def test_repaints_only_when_the_picture_changes(qtbot: QtBot) -> None:
    meter = PeakMeter(2, clock=Clock())
    qtbot.addWidget(meter)
    meter.resize(14, 200)
    meter.set_levels((0.3, 0.3))
    asked = meter.repaints
    for _ in range(50):  # a steady level at the status rate
        meter.set_levels((0.3, 0.3))
    meter.set_levels((0.30001, 0.3))  # less than a pixel
    assert meter.repaints == asked
    meter.set_levels((0.6, 0.3))
    assert meter.repaints == asked + 1


def test_the_meter_shares_the_faders_scale(qtbot: QtBot) -> None:
    fader = VolumeFader()
    meter = PeakMeter(2)
    for w in (fader, meter):
        qtbot.addWidget(w)
        w.resize(w.sizeHint().width(), 240)
    for db in (6.0, 0.0, -12.0, -40.0):
        assert math.isclose(meter.y_of(db), fader.point_of(fader.mapping.to_pos(db)).y())
