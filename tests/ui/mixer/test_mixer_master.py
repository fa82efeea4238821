"""The master strip: volume, limiter on/off and ceiling, each gesture one undo step,
and it follows the document."""

from __future__ import annotations

import math

from mixer_support import double_click, drag_slider, make_mix
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import Document, Master
from strumspace_desktop.ui.mixer.scales import FaderTaper


def test_master_volume_fader(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    master = mix.panel.master
    assert master.name == "Master"
    drag_slider(master.fader, FaderTaper().to_pos(-6.0))
    assert math.isclose(mix.doc.master().volume_db, -6.0, abs_tol=0.5)
    assert mix.doc.undo_depth == 1
    double_click(master.fader, master.fader.point_of(master.fader.position))
    assert mix.doc.master().volume_db == 0.0
    mix.doc.undo()
    assert math.isclose(master.fader.value, mix.doc.master().volume_db)
    assert mix.doc.master().volume_db < -5.0


def test_limiter_switch_and_ceiling(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    master = mix.panel.master
    assert master.limiter_button.isChecked() and master.threshold.isEnabled()
    assert master.threshold_label.text() == "Ceiling -1.0 dB"
    drag_slider(master.threshold, 0.5)  # -30..0
    assert math.isclose(mix.doc.master().limiter_threshold_db, -15.0, abs_tol=0.5)
    assert master.threshold_label.text().startswith("Ceiling -1")
    master.limiter_button.click()
    assert mix.doc.master() == Master(0.0, False, mix.doc.master().limiter_threshold_db)
    assert not master.threshold.isEnabled()  # no ceiling without the limiter
    assert mix.doc.undo_depth == 2
    mix.doc.undo()
    assert master.limiter_button.isChecked() and master.threshold.isEnabled()
    mix.doc.undo()
    assert master.threshold.value == -1.0
    assert master.threshold_label.text() == "Ceiling -1.0 dB"


def test_master_follows_a_partner(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    partner = Document.from_state(mix.doc.state())
    seen = mix.doc.state_vector()
    partner.set_master(volume_db=-3.0, limiter=False, limiter_threshold_db=-6.0)
    mix.doc.apply_update(partner.update_since(seen))
    master = mix.panel.master
    assert math.isclose(master.fader.value, -3.0)
    assert not master.limiter_button.isChecked()
    assert master.threshold.value == -6.0
