"""The mixer with the real engine: strip meters show the engine's per-strip peaks
and the master meter its output; the mixer's edits reach the engine through the
window's song sync; a VST3 plugin the engine cannot load is marked with the
engine's own message."""

from __future__ import annotations

from pathlib import Path

import pytest
from mixer_support import fake_bundle, make_mix
from pytestqt.qtbot import QtBot
from ui_support import UI, WAIT_MS

from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.audio.song_sync import SongSync

pytestmark = pytest.mark.jack

AUDIBLE_DB = -40.0
SILENT_DB = -70.0


def test_strip_and_master_meters_show_the_engines_peaks(ui: UI, qtbot: QtBot) -> None:
    window = ui.window
    window.mixer_action.trigger()
    panel = window.mixer_dock.panel
    doc = window.projects.document
    piano, bass = panel.order[0], panel.order[1]
    channel = doc.track(piano).instrument.channel
    piano_meter = panel.strips[piano].meter
    assert panel.strips[piano].engine_strip == channel
    ui.adapter.note_on(channel, 60, 120)
    try:
        qtbot.waitUntil(lambda: max(piano_meter.levels_db) > AUDIBLE_DB, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: max(panel.master.meter.levels_db) > AUDIBLE_DB,
                        timeout=WAIT_MS)
        # The note plays through the piano's strip, not the bass's.
        assert max(panel.strips[bass].meter.levels_db) < max(piano_meter.levels_db)
        assert max(piano_meter.hold_db) >= max(piano_meter.levels_db)
    finally:
        ui.adapter.note_off(channel, 60)


def test_an_unloadable_vst3_shows_the_engines_message(
        qtbot: QtBot, qapp: object, engine: EngineClient, tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path, "NotAPlugin")
    mix = make_mix(qtbot, qapp)
    effect_id = mix.doc.add_effect(mix.piano, "vst3", plugin=str(bundle))
    sync = SongSync(mix.doc, engine)
    try:
        sync.flush()  # the engine tries the plugin in a child process and skips it
    finally:
        sync.close()
    assert any("NotAPlugin.vst3" in m for m in sync.messages), sync.messages
    mix.panel.show_engine_messages(sync.messages)
    assert mix.panel.engine_errors[effect_id] in sync.messages
    item = mix.strip(mix.piano).effects.list.item(0)
    assert mix.panel.engine_errors[effect_id] in item.toolTip()
    assert not item.icon().isNull()


def test_the_mixers_mute_and_plugins_reach_the_engine(ui: UI, qtbot: QtBot,
                                                      tmp_path: Path) -> None:
    window = ui.window
    window.mixer_action.trigger()
    panel = window.mixer_dock.panel
    piano = panel.order[0]
    strip = panel.strips[piano]
    channel = window.projects.document.track(piano).instrument.channel
    ui.adapter.note_on(channel, 64, 120)
    try:
        qtbot.waitUntil(lambda: max(strip.meter.levels_db) > AUDIBLE_DB, timeout=WAIT_MS)
        strip.mute_button.click()  # the window's song sync sends the new mix
        qtbot.waitUntil(lambda: max(strip.meter.levels_db) < SILENT_DB, timeout=WAIT_MS)
        assert ui.engine.status().voices > 0  # silent because muted: the note still sounds
    finally:
        ui.adapter.note_off(channel, 64)
    # A plugin the engine cannot load: its message marks the effect in the strip.
    bundle = fake_bundle(tmp_path, "WindowBroken")
    effect_id = strip.effects.add_vst3(bundle)
    assert effect_id is not None
    qtbot.waitUntil(lambda: effect_id in panel.engine_errors, timeout=WAIT_MS)
    message = panel.engine_errors[effect_id]
    assert "WindowBroken.vst3" in message
    assert message in strip.effects.list.item(0).toolTip()
    assert not strip.effects.list.item(0).icon().isNull()
