"""Recording latency calibration, guided: connect output to input, measure, apply.

The measuring is record/latency.py's `LatencyCalibration`; this dialog explains the
wiring, drives it from the adapter's polls and saves the result in the settings
(`recording.latency_ms`), which every audio recording is then shifted by.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.audio.client import EngineError
from strumspace_desktop.audio.input_ring import InputRing
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.record.latency import LatencyCalibration
from strumspace_desktop.ui.adapter import EngineAdapter

INSTRUCTIONS = (
    "<p>StrumSpace plays a few clicks and records them back to measure how late "
    "recorded audio arrives. Recordings are then moved earlier by that much, so what "
    "you play lands where you heard it.</p>"
    "<p><b>Before you start</b>, connect an output of your audio interface to one of "
    "its inputs with a cable (turn the volume down first), or, with JACK, connect "
    "StrumSpace's output port to its input port (e.g. <code>jack_connect "
    "StrumSpace-audio:out_0 StrumSpace-audio:in_0</code>). Unplug or mute "
    "microphones and switch off direct monitoring on the interface.</p>")


class LatencyDialog(QDialog):
    def __init__(self, adapter: EngineAdapter, settings: AppSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Calibrate Recording Latency")
        self.adapter = adapter
        self.settings = settings
        self.calibration: LatencyCalibration | None = None
        self._ring: InputRing | None = None
        self.measured_ms: float | None = None
        text = QLabel(INSTRUCTIONS)
        text.setWordWrap(True)
        self.current = QLabel(f"Current offset: {settings.recording.latency_ms:.2f} ms")
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.start_button = QPushButton("Measure")
        self.start_button.clicked.connect(self.start)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Apply
                                        | QDialogButtonBox.StandardButton.Close)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (text, self.current, self.start_button, self.result_label, self.buttons):
            layout.addWidget(w)
        adapter.events_polled.connect(self._events)
        adapter.status_changed.connect(self._tick)  # input keeps coming between events

    def start(self) -> None:
        client = self.adapter.client
        if client is None or not self.adapter.stream_running:
            self.result_label.setText("No audio device is running.")
            return
        try:
            name = client.request("info")["stream"].get("input_ring")
        except EngineError as exc:
            self.result_label.setText(str(exc))
            return
        if not name:
            self.result_label.setText("The audio device was opened without an input: choose one "
                                "with inputs in Settings.")
            return
        self._close_ring()
        self._ring = InputRing.attach(name)
        status = self.adapter.last_status
        self.calibration = LatencyCalibration(client, self._ring)
        self.calibration.start(status.numerator if status else 4)
        self.start_button.setEnabled(False)
        self.result_label.setText("Measuring…")

    def _tick(self, _status: object) -> None:
        self._events([])

    def _events(self, records: list[tuple[float, ...]]) -> None:
        cal = self.calibration
        if cal is None or not cal.step(records):
            return
        self.calibration = None
        self.start_button.setEnabled(True)
        self._close_ring()
        if cal.result is None:
            self.result_label.setText(cal.error)
            return
        self.measured_ms = cal.result.ms
        self.result_label.setText(f"Measured {cal.result.ms:.2f} ms ({cal.result.frames} samples, "
                            f"{cal.result.clicks} clicks agreeing within "
                            f"{cal.result.spread} samples). Apply to use it.")
        self.apply_button.setEnabled(True)

    def apply(self) -> None:
        if self.measured_ms is None:
            return
        self.settings.recording.latency_ms = self.measured_ms
        self.settings.save()
        self.current.setText(f"Current offset: {self.measured_ms:.2f} ms")

    def _close_ring(self) -> None:
        if self._ring is not None:
            self._ring.close()
            self._ring = None

    def done(self, result: int) -> None:
        self.adapter.events_polled.disconnect(self._events)
        self.adapter.status_changed.disconnect(self._tick)
        self._close_ring()
        super().done(result)
