"""The status bar: audio device, round-trip latency, engine load, xruns, MIDI light.

Problems (no device, device lost, engine stopped) stay on its left in red until
they are solved, so a musician can always see why there is no sound.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from strumspace_desktop.audio.client import EngineStatus
from strumspace_desktop.ui import theme

MIDI_FLASH_MS = 150


class MidiActivityLight(QWidget):
    """A small lamp that flashes whenever MIDI arrives from a controller."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lit = False
        self.flashes = 0
        self._off = QTimer(self)
        self._off.setSingleShot(True)
        self._off.setInterval(MIDI_FLASH_MS)
        self._off.timeout.connect(self._turn_off)
        self.setToolTip("MIDI input activity")
        self.setFixedSize(self.sizeHint())

    def sizeHint(self) -> QSize:
        return QSize(14, 14)

    def flash(self) -> None:
        self.flashes += 1
        self.lit = True
        self._off.start()
        self.update()

    def _turn_off(self) -> None:
        self.lit = False
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QColor("#111316"))
        p.setBrush(QColor(theme.PLAY_GREEN) if self.lit else QColor("#3a3f46"))
        p.drawEllipse(2, 2, 10, 10)
        p.end()


class EngineStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.problem_label = QLabel()
        self.problem_label.setObjectName("ProblemLabel")
        self.device_label = QLabel("No audio device")
        self.latency_label = QLabel("Latency –")
        self.load_label = QLabel("DSP –")
        self.xrun_label = QLabel("Xruns 0")
        self.midi_light = MidiActivityLight()
        self._load = 0.0  # smoothed: one callback's load flickers too much to read
        midi_label = QLabel("MIDI")
        self.device_label.setToolTip("Audio device, sample rate and buffer size")
        self.latency_label.setToolTip("Round-trip latency: input plus output, as the "
                                      "audio system reports it")
        self.load_label.setToolTip("Audio engine load: share of each buffer's time "
                                   "spent computing it")
        self.xrun_label.setToolTip("Dropouts (buffer under- or overruns) since the "
                                   "device was opened")
        self.addWidget(self.problem_label, 1)
        for w in (self.device_label, self.latency_label, self.load_label, self.xrun_label,
                  midi_label, self.midi_light):
            self.addPermanentWidget(w)
        self.problem_label.hide()

    def show_stream(self, info: dict[str, Any]) -> None:
        rate = int(info.get("sample_rate", 0))
        api = str(info.get("host_api", ""))
        api = "JACK" if "JACK" in api else api
        self.device_label.setText(
            f"{info.get('device', '?')} ({api}) · {rate / 1000:g} kHz · "
            f"{info.get('blocksize', '?')} frames")
        self.latency_label.setText(f"Latency {float(info.get('round_trip_ms', 0.0)):.1f} ms")

    def show_no_stream(self) -> None:
        self.device_label.setText("No audio device")
        self.latency_label.setText("Latency –")
        self.load_label.setText("DSP –")

    def show_status(self, status: EngineStatus) -> None:
        if status.running:
            self._load = 0.85 * self._load + 0.15 * status.load
            self.load_label.setText(f"DSP {self._load * 100:.0f}%")
            self.load_label.setToolTip(
                "Audio engine load: share of each buffer's time spent computing it "
                f"(recent peak {status.load_peak * 100:.0f}%)")
        self.xrun_label.setText(f"Xruns {status.xruns}")

    def set_problem(self, text: str | None) -> None:
        self.problem_label.setText(text or "")
        self.problem_label.setVisible(bool(text))

    @property
    def problem(self) -> str:
        return self.problem_label.text()
