"""Channel strips: one per sounding track in track order, following the document,
and each gesture on them (fader or pan drag, double-click, mute or solo click) is
one document edit and one undo step."""

from __future__ import annotations

import math

from mixer_support import Mix, double_click, drag_slider, make_mix
from pycrdt import Doc
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.document import Document, Instrument
from strumspace_desktop.ui.mixer import MixerPanel
from strumspace_desktop.ui.mixer.scales import FaderTaper, format_db


def _volume(mix: Mix, track_id: str) -> float:
    return mix.doc.track(track_id).mixer.volume_db


def test_one_strip_per_sounding_track_in_track_order(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    assert mix.panel.order == [mix.piano, mix.bass, mix.vocals]  # the chord track has none
    assert mix.strip_names() == ["Piano", "Bass", "Vocals"]
    assert mix.chords not in mix.panel.strips
    assert not mix.panel.empty_label.isVisible()


def test_fader_drag_sets_the_volume_as_one_undo_step(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    fader = mix.strip(mix.piano).fader
    drag_slider(fader, FaderTaper().to_pos(-12.0))
    assert math.isclose(_volume(mix, mix.piano), -12.0, abs_tol=0.5)
    assert mix.strip(mix.piano).readout.text() == format_db(_volume(mix, mix.piano))
    assert _volume(mix, mix.bass) == 0.0
    assert mix.doc.undo_depth == 1  # eight moves, one step
    assert mix.doc.undo()
    assert _volume(mix, mix.piano) == 0.0
    assert fader.value == 0.0  # the fader follows the undo
    assert mix.strip(mix.piano).readout.text() == "0.0 dB"


def test_fader_to_the_bottom_is_silence(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    drag_slider(mix.strip(mix.bass).fader, 0.0)
    assert _volume(mix, mix.bass) == -200.0
    assert mix.strip(mix.bass).readout.text() == "-∞ dB"


def test_double_click_resets_the_fader_to_0_db(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    mix.doc.set_mixer(mix.piano, volume_db=-20.0)
    mix.doc.clear_undo_history()
    fader = mix.strip(mix.piano).fader
    assert math.isclose(fader.value, -20.0)
    double_click(fader, fader.point_of(fader.position))
    assert _volume(mix, mix.piano) == 0.0
    assert mix.doc.undo_depth == 1
    mix.doc.undo()
    assert _volume(mix, mix.piano) == -20.0


def test_pan_drag_and_double_click_centre(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    strip = mix.strip(mix.bass)
    drag_slider(strip.pan, 0.25)  # a quarter of the way from left to right
    assert math.isclose(mix.doc.track(mix.bass).mixer.pan, -0.5, abs_tol=0.02)
    assert strip.pan_label.text().startswith("L")
    assert mix.doc.undo_depth == 1
    double_click(strip.pan, strip.pan.point_of(strip.pan.position))
    assert mix.doc.track(mix.bass).mixer.pan == 0.0
    assert strip.pan_label.text() == "C"
    assert mix.doc.undo_depth == 2


def test_a_click_without_movement_changes_nothing(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    fader = mix.strip(mix.piano).fader
    drag_slider(fader, fader.position)  # a click on the handle: no jump, no edit
    assert _volume(mix, mix.piano) == 0.0
    assert not mix.doc.can_undo()


def test_mute_and_solo_clicks(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    strip = mix.strip(mix.vocals)
    strip.mute_button.click()
    assert mix.doc.track(mix.vocals).mixer.mute
    strip.solo_button.click()
    assert mix.doc.track(mix.vocals).mixer.solo
    assert mix.doc.undo_depth == 2
    mix.doc.undo()
    assert not strip.solo_button.isChecked()
    assert strip.mute_button.isChecked()
    mix.doc.undo()
    assert not strip.mute_button.isChecked()
    assert not mix.doc.track(mix.vocals).mixer.mute


def test_strips_follow_tracks_added_renamed_moved_removed_and_undo(qtbot: QtBot,
                                                                  qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    doc = mix.doc
    drums = doc.add_track("midi", "Drums", instrument=Instrument(bank=128, channel=9))
    assert mix.strip_names() == ["Piano", "Bass", "Vocals", "Drums"]
    doc.update_track(mix.bass, name="Upright bass")
    assert mix.strip(mix.bass).name == "Upright bass"
    doc.move_track(drums, 0)
    assert mix.panel.order == [drums, mix.piano, mix.bass, mix.vocals]
    doc.set_mixer(mix.bass, volume_db=-3.0, mute=True)
    doc.remove_track(mix.bass)
    assert mix.bass not in mix.panel.strips
    assert mix.strip_names() == ["Drums", "Piano", "Vocals"]
    doc.undo()  # the removal: the strip is back at its place, with its mix
    assert mix.strip_names() == ["Drums", "Piano", "Upright bass", "Vocals"]
    strip = mix.strip(mix.bass)
    assert math.isclose(strip.fader.value, -3.0) and strip.mute_button.isChecked()
    # Each strip's meter reads the engine strip its track plays through.
    assert strip.engine_strip == 1 and mix.strip(drums).engine_strip == 9
    assert mix.strip(mix.vocals).engine_strip == 16
    # A second track on the piano's channel plays with the piano's mix: it says so.
    doubled = doc.add_track("midi", "Piano 2", instrument=Instrument(channel=0))
    assert mix.strip(doubled).engine_strip == 0
    assert mix.strip(doubled).shared_with == "Piano"
    assert "Piano's volume" in mix.strip(doubled).header.toolTip()
    assert mix.strip(mix.piano).shared_with is None


def test_strips_follow_a_partners_edit(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    partner = Document.from_state(mix.doc.state())
    seen = mix.doc.state_vector()
    partner.set_mixer(mix.piano, volume_db=-9.0, pan=0.5, solo=True)
    partner.update_track(mix.vocals, name="Lead vocal")
    mix.doc.apply_update(partner.update_since(seen))
    strip = mix.strip(mix.piano)
    assert math.isclose(strip.fader.value, -9.0)
    assert math.isclose(strip.pan.value, 0.5)
    assert strip.solo_button.isChecked()
    assert mix.strip(mix.vocals).name == "Lead vocal"
    assert not mix.doc.can_undo()  # a partner's edit is not ours to undo


def test_a_new_document_replaces_the_strips(qtbot: QtBot, qapp: object) -> None:
    mix = make_mix(qtbot, qapp)
    other = Document.new("other")
    keys = other.add_track("midi", "Keys")
    mix.panel.set_document(other)
    assert mix.panel.order == [keys]
    mix.doc.add_track("midi", "Ignored")  # the old document no longer shows
    assert mix.panel.order == [keys]
    mix.panel.set_document(Document.new("empty"))
    assert mix.panel.order == []
    assert mix.panel.empty_label.isVisibleTo(mix.panel)


def test_a_read_only_song_offers_no_edits(qtbot: QtBot, qapp: object) -> None:
    src = Document.new("newer")
    tid = src.add_track("midi", "Piano")
    src.add_effect(tid, "reverb")
    ydoc: Doc = Doc()
    ydoc.apply_update(src.state())
    doc = Document(ydoc, read_only_reason="saved by a newer version")
    panel = MixerPanel()
    qtbot.addWidget(panel)
    panel.set_document(doc)
    strip = panel.strips[tid]
    for w in (strip.fader, strip.pan, strip.mute_button, strip.solo_button,
              strip.effects.add_button, panel.master.fader, panel.master.limiter_button):
        assert not w.isEnabled()
    assert strip.effects.list.count() == 1
