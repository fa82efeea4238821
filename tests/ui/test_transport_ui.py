"""The transport bar and its shortcuts, driven like a musician would, against the
real engine on the test JACK server."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_support import UI, WAIT_MS

from strumspace_desktop.audio.protocol import TransportState
from strumspace_desktop.ui.transport_bar import position_text


def test_position_text_uses_bars_beats_ticks() -> None:
    assert position_text(0.0, 4, 4) == "1:1:000"
    assert position_text(5.5, 4, 4) == "2:2:480"
    assert position_text(-4.0, 4, 4) == "0:1:000"  # the count-in bar
    assert position_text(7.0, 6, 8) == "2:2:000"  # eighth-note beats


def test_play_click_space_r_and_l_reach_the_engine(qtbot: QtBot, ui: UI) -> None:
    w, eng = ui.window, ui.engine
    bar = w.transport
    assert eng.status().state == TransportState.STOPPED
    qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
    # The default one-bar count-in comes first, shown as bar 0.
    qtbot.waitUntil(lambda: eng.status().state == TransportState.COUNT_IN, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bar.position_bbt.text().startswith("0:"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: eng.status().state == TransportState.PLAYING, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bar.play_button.isChecked(), timeout=WAIT_MS)
    # The display advances: a later position, in both bar:beat:tick and clock form.
    first_bbt, first_clock = bar.position_bbt.text(), bar.position_clock.text()
    qtbot.waitUntil(lambda: bar.position_bbt.text() != first_bbt
                    and bar.position_clock.text() != first_clock
                    and not bar.position_clock.text().startswith("-"), timeout=WAIT_MS)
    assert bar.position_bbt.text().startswith(("1:", "2:", "3:"))

    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: eng.status().state == TransportState.STOPPED, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not bar.play_button.isChecked(), timeout=WAIT_MS)
    stopped_at = eng.status().beat
    assert stopped_at > 0  # stop keeps the position, as DAWs do

    assert not eng.status().record_armed
    qtbot.keyClick(w, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: eng.status().record_armed, timeout=WAIT_MS)
    assert bar.record_button.isChecked()
    qtbot.keyClick(w, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: not eng.status().record_armed, timeout=WAIT_MS)
    assert not bar.record_button.isChecked()

    assert not eng.status().loop_on
    qtbot.keyClick(w, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: eng.status().loop_on, timeout=WAIT_MS)
    status = eng.status()
    assert (status.loop_start, status.loop_end) == (0.0, 16.0)  # four bars of 4/4
    qtbot.mouseClick(bar.loop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not eng.status().loop_on, timeout=WAIT_MS)

    # Space starts again from where it stopped (count-in first).
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: eng.status().state != TransportState.STOPPED, timeout=WAIT_MS)
    qtbot.mouseClick(bar.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: eng.status().state == TransportState.STOPPED, timeout=WAIT_MS)


def test_typed_tempo_meter_and_count_in_reach_the_engine(qtbot: QtBot, ui: UI) -> None:
    w, eng = ui.window, ui.engine
    spin = w.transport.tempo_spin
    qtbot.mouseClick(spin.lineEdit(), Qt.MouseButton.LeftButton)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "133")
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: abs(eng.status().tempo - 133.0) < 1e-9, timeout=WAIT_MS)
    assert ui.settings.transport.tempo == 133.0
    # Entering the value hands the keyboard back: Space plays again.
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: eng.status().state != TransportState.STOPPED, timeout=WAIT_MS)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: eng.status().state == TransportState.STOPPED, timeout=WAIT_MS)

    w.transport.numerator_spin.setValue(6)
    w.transport.denominator_combo.setCurrentIndex(w.transport.denominator_combo.findData(8))
    qtbot.waitUntil(lambda: (eng.status().numerator, eng.status().denominator) == (6, 8),
                    timeout=WAIT_MS)
    w.transport.count_in_combo.setCurrentIndex(2)
    qtbot.waitUntil(lambda: eng.status().count_in_bars == 2, timeout=WAIT_MS)
    qtbot.mouseClick(w.transport.metronome_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: eng.status().metronome_on, timeout=WAIT_MS)
    assert ui.settings.transport.metronome_on
    assert (ui.settings.transport.numerator, ui.settings.transport.denominator,
            ui.settings.transport.count_in_bars) == (6, 8, 2)


def test_the_songs_loop_range_reaches_the_engine_and_l_only_switches_it(
        qtbot: QtBot, ui: UI) -> None:
    w, eng = ui.window, ui.engine
    doc = w.projects.document
    doc.set_loop(3840 * 2, 3840 * 5, False)  # bars 3 to 5, as a ruler drag writes it
    qtbot.keyClick(w, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: eng.status().loop_on, timeout=WAIT_MS)
    status = eng.status()
    assert (status.loop_start, status.loop_end) == (8.0, 20.0)  # in quarter-note beats
    loop = doc.loop()
    assert (loop.start, loop.end, loop.enabled) == (7680, 19200, True)
    doc.set_loop(start=0, end=3840)  # the ruler moves it while it is on
    qtbot.waitUntil(lambda: eng.status().loop_end == 4.0, timeout=WAIT_MS)
    qtbot.keyClick(w, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: not eng.status().loop_on, timeout=WAIT_MS)
    assert (doc.loop().start, doc.loop().end) == (0, 3840)
