"""Recording from the UI: arm a MIDI track, record + play, notes from the engine's
input land in the document as one undo step; the latency dialog measures a JACK
loopback and saves the offset."""

from __future__ import annotations

import jack
from pytestqt.qtbot import QtBot
from ui_support import UI, WAIT_MS

from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.ui.latency_dialog import LatencyDialog
from strumspace_desktop.ui.record_controller import arm_state


def test_record_button_and_arm_record_notes(qtbot: QtBot, ui: UI, engine: EngineClient) -> None:
    w = ui.window
    doc = w.projects.document
    assert w.tracks.tracks  # a new song starts with a track
    tid = w.tracks.tracks[0].id
    row = w.track_panel.rows[tid]
    row.arm_button.click()
    assert tid in arm_state().armed
    w.transport.record_button.click()
    assert w.transport.recorder.enabled
    engine.set_count_in(0)
    w.transport.play_button.click()
    qtbot.waitUntil(lambda: w.transport.recorder.recording, timeout=WAIT_MS)
    before = doc.undo_depth
    w.adapter.note_on(0, 64, 100)
    qtbot.wait(200)
    w.adapter.note_off(0, 64)
    qtbot.wait(100)
    w.adapter.stop_transport()
    qtbot.waitUntil(lambda: not w.transport.recorder.recording, timeout=WAIT_MS)
    clips = doc.clips(tid)
    assert any(n.pitch == 64 for c in clips for n in doc.notes(c.id).values())
    assert doc.undo_depth == before + 1
    row.arm_button.click()
    w.transport.record_button.click()


def test_latency_dialog_measures_a_loopback(qtbot: QtBot, ui: UI) -> None:
    c = jack.Client("StrumSpace-test-wiring", no_start_server=True)
    try:
        for name in [p.name for p in c.get_ports("StrumSpace-audio:in_", is_input=True)]:
            for src in c.get_all_connections(name):
                c.disconnect(src, name)
        c.connect("StrumSpace-audio:out_0", "StrumSpace-audio:in_0")
        dialog = LatencyDialog(ui.window.adapter, ui.window.settings, ui.window)
        qtbot.addWidget(dialog)
        dialog.start_button.click()
        qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=20_000)
        assert dialog.measured_ms is not None, dialog.result_label.text()
        dialog.apply_button.click()
        assert ui.window.settings.recording.latency_ms == dialog.measured_ms > 0
        dialog.close()
    finally:
        c.disconnect("StrumSpace-audio:out_0", "StrumSpace-audio:in_0")
        c.close()
