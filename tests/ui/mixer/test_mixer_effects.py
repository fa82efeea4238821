"""Insert effects on a strip: add from the menu, remove, reorder, bypass and edit a
parameter, each one document edit and one undo step; the chain and open editors
follow the document (undo, a partner's edit)."""

from __future__ import annotations

import math

import pytest
from mixer_support import Mix, double_click, drag_slider, make_mix
from PySide6.QtCore import QPointF, Qt
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import Document
from strumspace_desktop.core.effects import EFFECT_TYPES, MASTER
from strumspace_desktop.ui.mixer.effect_editor import EffectEditor
from strumspace_desktop.ui.mixer.effects_section import EffectsSection, drop_index


def _add(section: EffectsSection, type_name: str) -> None:
    """Pick the effect in the strip's add menu, as a musician does."""
    (action,) = [a for a in section.add_menu.actions() if a.data() == type_name]
    action.trigger()


def _labels(section: EffectsSection) -> list[str]:
    return [section.list.item(i).text() for i in range(section.list.count())]


def _types(mix: Mix, owner: str) -> list[str]:
    return [e.type for e in mix.doc.effects(owner)]


def test_the_menu_offers_every_effect_type_and_vst3(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    section = mix.strip(mix.piano).effects
    offered = [a.data() for a in section.add_menu.actions() if a.data()]
    assert offered == [n for n in EFFECT_TYPES if n != "vst3"]
    assert section.vst3_action.text() == "VST3 plugin…"


def test_add_and_remove_effects(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    section = mix.strip(mix.piano).effects
    _add(section, "reverb")
    _add(section, "delay")
    (reverb, delay) = mix.doc.effects(mix.piano)
    assert (reverb.type, delay.type) == ("reverb", "delay")
    assert reverb.params == EFFECT_TYPES["reverb"].defaults()
    assert _labels(section) == ["Reverb", "Delay"]
    assert section.current_effect_id() == delay.id  # the new one is selected
    assert mix.doc.undo_depth == 2
    section.select(reverb.id)
    section.remove_button.click()
    assert _types(mix, mix.piano) == ["delay"]
    assert _labels(section) == ["Delay"]
    mix.doc.undo()
    assert _labels(section) == ["Reverb", "Delay"]
    assert mix.doc.effects(mix.bass) == []


def test_reorder_with_the_arrow_buttons(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    section = mix.strip(mix.bass).effects
    for name in ("compressor", "eq", "distortion"):
        _add(section, name)
    section.select(mix.doc.effects(mix.bass)[2].id)
    assert not section.down_button.isEnabled()
    section.up_button.click()
    assert _types(mix, mix.bass) == ["compressor", "distortion", "eq"]
    section.up_button.click()
    assert _types(mix, mix.bass) == ["distortion", "compressor", "eq"]
    assert not section.up_button.isEnabled()  # it stays selected, now at the top
    section.down_button.click()
    assert _types(mix, mix.bass) == ["compressor", "distortion", "eq"]
    assert _labels(section) == ["Compressor", "Distortion", "EQ"]
    mix.doc.undo()
    assert _types(mix, mix.bass) == ["distortion", "compressor", "eq"]


def test_a_drop_lands_among_the_others() -> None:
    # Dragging the first of three effects: before row 0 or 1 keeps it first; before row
    # 2 puts it second; past the end puts it last.
    assert [drop_index(0, row, 3) for row in (0, 1, 2, 3)] == [0, 0, 1, 2]
    assert [drop_index(2, row, 3) for row in (0, 1, 2, 3)] == [0, 1, 2, 2]


def test_a_drag_reports_the_move_and_the_document_reorders(qtbot: QtBot,
                                                          qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    section = mix.strip(mix.piano).effects
    for name in ("gain", "reverb", "lowpass"):
        _add(section, name)
    gain = mix.doc.effects(mix.piano)[0].id
    with qtbot.waitSignal(section.list.moved):  # what EffectList.dropEvent emits
        section.list.moved.emit(gain, 2)
    assert _types(mix, mix.piano) == ["reverb", "lowpass", "gain"]
    assert mix.doc.undo_depth == 4


def test_bypass_toggle(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    section = mix.strip(mix.vocals).effects
    _add(section, "chorus")
    item = section.list.item(0)
    assert item.checkState() == Qt.CheckState.Checked
    item.setCheckState(Qt.CheckState.Unchecked)  # the box a click unticks
    (chorus,) = mix.doc.effects(mix.vocals)
    assert chorus.bypass
    assert section.list.item(0).font().italic()
    assert mix.doc.undo_depth == 2
    mix.doc.undo()
    assert not mix.doc.effects(mix.vocals)[0].bypass
    assert section.list.item(0).checkState() == Qt.CheckState.Checked


def _open_editor(mix: Mix, section: EffectsSection, row: int = 0) -> EffectEditor:
    rect = section.list.visualItemRect(section.list.item(row))
    double_click(section.list.viewport(), QPointF(rect.center()))
    effect_id = str(section.list.item(row).data(Qt.ItemDataRole.UserRole))
    editor = mix.panel.editors[effect_id]
    assert editor.isVisible()
    return editor


def test_editing_a_parameter_is_one_undo_step(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    section = mix.strip(mix.piano).effects
    _add(section, "compressor")
    editor = _open_editor(mix, section)
    assert editor.windowTitle() == "Compressor — Piano"
    assert set(editor.sliders) == {"threshold_db", "ratio", "attack_ms", "release_ms"}
    drag_slider(editor.sliders["threshold_db"], 0.5)  # linear: the middle of -60..0
    (comp,) = mix.doc.effects(mix.piano)
    assert math.isclose(comp.params["threshold_db"], -30.0, abs_tol=1.0)
    assert editor.value_labels["threshold_db"].text().endswith(" dB")
    drag_slider(editor.sliders["attack_ms"], 0.5)  # logarithmic: the geometric middle
    attack = mix.doc.effects(mix.piano)[0].params["attack_ms"]
    assert math.isclose(attack, math.sqrt(0.1 * 200.0), rel_tol=0.1)
    assert editor.value_labels["attack_ms"].text().endswith(" ms")
    assert mix.doc.undo_depth == 3  # add, threshold drag, attack drag
    mix.doc.undo()
    assert mix.doc.effects(mix.piano)[0].params["attack_ms"] == 5.0
    assert editor.sliders["attack_ms"].value == 5.0  # the open editor follows
    slider = editor.sliders["threshold_db"]
    double_click(slider, slider.point_of(slider.position))
    assert mix.doc.effects(mix.piano)[0].params["threshold_db"] == -18.0  # its default
    editor.on_box.click()
    assert mix.doc.effects(mix.piano)[0].bypass
    assert section.list.item(0).checkState() == Qt.CheckState.Unchecked


def test_an_editor_closes_when_its_effect_goes(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    section = mix.strip(mix.piano).effects
    _add(section, "phaser")
    editor = _open_editor(mix, section)
    effect_id = editor.effect_id
    mix.doc.remove_effect(effect_id)
    assert effect_id not in mix.panel.editors
    assert not editor.isVisible()


def test_effects_follow_a_partner_and_track_removal(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    partner = Document.from_state(mix.doc.state())
    seen = mix.doc.state_vector()
    partner.add_effect(mix.bass, "highpass", {"cutoff_frequency_hz": 120.0})
    mix.doc.apply_update(partner.update_since(seen))
    section = mix.strip(mix.bass).effects
    assert _labels(section) == ["High-pass"]
    mix.doc.remove_track(mix.bass)
    mix.doc.undo()  # the track comes back with its effects
    assert _labels(mix.strip(mix.bass).effects) == ["High-pass"]


def test_master_inserts(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    section = mix.panel.master.effects
    assert section.owner == MASTER
    _add(section, "eq")
    _add(section, "limiter")
    assert _types(mix, MASTER) == ["eq", "limiter"]
    editor = _open_editor(mix, section, 0)
    assert editor.windowTitle() == "EQ — Master"
    drag_slider(editor.sliders["low_gain_db"], 0.75)  # -24..24: +12 dB
    assert math.isclose(mix.doc.effects(MASTER)[0].params["low_gain_db"], 12.0, abs_tol=1.0)
    section.select(mix.doc.effects(MASTER)[1].id)
    section.remove_button.click()
    assert _types(mix, MASTER) == ["eq"]


def test_a_refused_edit_is_shown_not_raised(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    section = mix.strip(mix.piano).effects
    _add(section, "gain")
    effect_id = mix.doc.effects(mix.piano)[0].id
    partner = Document.from_state(mix.doc.state())
    seen = mix.doc.state_vector()
    partner.remove_effect(effect_id)
    stale = section.effects  # what the strip showed a moment before the partner's edit
    mix.doc.apply_update(partner.update_since(seen))
    section.effects = stale
    section.set_bypass(effect_id, True)
    assert mix.panel.problem_label.isVisibleTo(mix.panel)
    assert effect_id in mix.panel.problem_label.text()


@pytest.mark.parametrize("type_name", [n for n in EFFECT_TYPES if n != "vst3"])
def test_every_type_gets_an_editor_from_its_specs(qtbot: QtBot, qapp: object,
                                                 type_name: str) -> None:
    mix = make_mix(qtbot, qapp)
    section = mix.strip(mix.piano).effects
    _add(section, type_name)
    editor = _open_editor(mix, section)
    kind = EFFECT_TYPES[type_name]
    assert list(editor.sliders) == [p.name for p in kind.params]
    for spec in kind.params:
        assert math.isclose(editor.sliders[spec.name].value, spec.default)
