"""The audio and MIDI settings dialog: host API, devices, sample rate, buffer size,
MIDI input ports and the SoundFont.

It only edits a copy of the settings; the main window applies what changed (reopen
the device, reload the SoundFont, reopen MIDI ports) and saves them. Devices that
the settings name but that are not connected now stay listed, marked, so that
opening the dialog never silently forgets a musician's interface.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.audio.client import EngineError
from strumspace_desktop.core.settings import SAMPLE_RATES, AppSettings
from strumspace_desktop.ui.adapter import EngineAdapter

BLOCKSIZES = (64, 128, 256, 512, 1024)
AUTOMATIC = "Automatic"
NOT_CONNECTED = " (not connected)"


def _hint(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setObjectName("FieldLabel")
    lab.setWordWrap(True)
    return lab


class AudioMidiSettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, adapter: EngineAdapter,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audio & MIDI Settings")
        self.setMinimumWidth(520)
        self.adapter = adapter
        self.original = settings
        self.result_settings = copy.deepcopy(settings)
        self._devices: list[dict[str, Any]] = []
        self._host_apis: list[str] = []
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #ff8a80;")
        self.problem_label.hide()

        # Audio ------------------------------------------------------------------------
        self.host_api_combo = QComboBox()
        self.output_combo = QComboBox()
        self.input_combo = QComboBox()
        self.rate_combo = QComboBox()
        for rate in SAMPLE_RATES:
            self.rate_combo.addItem(f"{rate} Hz", rate)
        self.blocksize_combo = QComboBox()
        for bs in BLOCKSIZES:
            self.blocksize_combo.addItem(f"{bs} frames", bs)
        self.latency_hint = _hint("")
        self.blocksize_combo.currentIndexChanged.connect(self._update_latency_hint)
        self.rate_combo.currentIndexChanged.connect(self._update_latency_hint)
        audio = QGroupBox("Audio")
        form = QFormLayout(audio)
        form.addRow("Audio system", self.host_api_combo)
        form.addRow("Output", self.output_combo)
        form.addRow("Input", self.input_combo)
        form.addRow("Sample rate", self.rate_combo)
        form.addRow("Buffer size", self.blocksize_combo)
        form.addRow("", self.latency_hint)

        # MIDI -------------------------------------------------------------------------
        self.all_ports_check = QCheckBox("Listen to all MIDI input ports")
        self.ports_list = QListWidget()
        self.ports_list.setMaximumHeight(120)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_midi)
        self.virtual_hint = _hint("")
        self.all_ports_check.toggled.connect(lambda on: self.ports_list.setEnabled(not on))
        midi = QGroupBox("MIDI inputs")
        ml = QVBoxLayout(midi)
        top = QHBoxLayout()
        top.addWidget(self.all_ports_check, 1)
        top.addWidget(self.refresh_button)
        ml.addLayout(top)
        ml.addWidget(self.ports_list)
        ml.addWidget(self.virtual_hint)

        # Instrument -------------------------------------------------------------------
        self.soundfont_edit = QLineEdit()
        self.soundfont_edit.setPlaceholderText("The system's General MIDI SoundFont")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse_soundfont)
        default = QPushButton("Default")
        default.setToolTip("Use the system's General MIDI SoundFont")
        default.clicked.connect(self.soundfont_edit.clear)
        inst = QGroupBox("Instrument sounds (SoundFont)")
        il = QHBoxLayout(inst)
        il.addWidget(self.soundfont_edit, 1)
        il.addWidget(browse)
        il.addWidget(default)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.problem_label)
        layout.addWidget(audio)
        layout.addWidget(midi)
        layout.addWidget(inst)
        layout.addWidget(self.buttons)

        self._load(settings)
        self.host_api_combo.currentIndexChanged.connect(self._fill_devices)
        adapter.midi_ports_changed.connect(self._show_midi_state)

    # Filling ----------------------------------------------------------------------------
    def _load(self, s: AppSettings) -> None:
        try:
            listing = self.adapter.list_devices()
            self._devices = list(listing.get("devices", []))
            self._host_apis = list(listing.get("host_apis", []))
        except EngineError as exc:
            self._show_problem(f"{exc} Device lists are unavailable; your choices are kept "
                               "and used the next time the engine starts.")
        self.host_api_combo.addItem(AUTOMATIC, None)
        for api in self._host_apis:
            self.host_api_combo.addItem(api, api)
        self._select(self.host_api_combo, s.audio.host_api)
        self._fill_devices()
        self._select(self.rate_combo, s.audio.sample_rate)
        self._select(self.blocksize_combo, s.audio.blocksize)
        self.all_ports_check.setChecked(not s.midi.input_ports)
        self.ports_list.setEnabled(bool(s.midi.input_ports))
        self.soundfont_edit.setText(s.instrument.soundfont_path or "")
        self.refresh_midi()
        self._update_latency_hint()

    def _select(self, combo: QComboBox, value: object) -> None:
        """Select the item holding `value`, adding it marked as absent if missing."""
        i = combo.findData(value)
        if i < 0 and value is not None:
            combo.addItem(f"{value}{NOT_CONNECTED}", value)
            i = combo.count() - 1
        combo.setCurrentIndex(max(i, 0))

    def _fill_devices(self) -> None:
        api = self.host_api_combo.currentData()
        keep_out = self.output_combo.currentData() if self.output_combo.count() else \
            self.original.audio.output_device
        keep_in = self.input_combo.currentData() if self.input_combo.count() else \
            self.original.audio.input_device
        on_api = [d for d in self._devices if api is None or d["host_api"] == api]
        self.output_combo.clear()
        self.output_combo.addItem("Default output", None)
        for d in on_api:
            if d["max_output_channels"] > 0:
                self.output_combo.addItem(self._device_label(d, api), d["name"])
        self.input_combo.clear()
        self.input_combo.addItem("Default input", None)
        for d in on_api:
            if d["max_input_channels"] > 0:
                self.input_combo.addItem(self._device_label(d, api), d["name"])
        self._select(self.output_combo, keep_out)
        self._select(self.input_combo, keep_in)

    @staticmethod
    def _device_label(d: dict[str, Any], api: str | None) -> str:
        return str(d["name"]) if api else f"{d['name']} ({d['host_api']})"

    def _update_latency_hint(self) -> None:
        bs = int(self.blocksize_combo.currentData())
        rate = int(self.rate_combo.currentData())
        text = (f"One buffer is {bs / rate * 1000:.1f} ms. Smaller buffers feel more "
                "immediate but can crackle on a busy computer.")
        if "JACK" in str(self.host_api_combo.currentData() or ""):
            text += " With JACK, the server's sample rate is used."
        self.latency_hint.setText(text)

    def refresh_midi(self) -> None:
        try:
            state = self.adapter.midi_state()
        except EngineError:
            state = {"ports": [], "open": [], "virtual": None}
        self._show_midi_state(state)

    def _show_midi_state(self, state: dict[str, Any]) -> None:
        wanted = set(self._checked_ports()) if self.ports_list.count() else \
            set(self.original.midi.input_ports)
        ports = list(state.get("ports", []))
        self.ports_list.clear()
        for name in ports + sorted(wanted - set(ports)):
            label = name if name in ports else f"{name}{NOT_CONNECTED}"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in wanted
                               else Qt.CheckState.Unchecked)
            self.ports_list.addItem(item)
        if not ports:
            self.ports_list.addItem(QListWidgetItem("No MIDI input ports found"))
        virtual = state.get("virtual")
        self.virtual_hint.setText(
            f"Other programs can also play StrumSpace through its own port, {virtual}."
            if virtual else "")

    def _checked_ports(self) -> list[str]:
        out = []
        for i in range(self.ports_list.count()):
            item = self.ports_list.item(i)
            name = item.data(Qt.ItemDataRole.UserRole)
            if name and item.checkState() == Qt.CheckState.Checked:
                out.append(str(name))
        return out

    def _browse_soundfont(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a SoundFont", self.soundfont_edit.text(),
            "SoundFonts (*.sf2 *.sf3);;All files (*)")
        if path:
            self.soundfont_edit.setText(path)

    def _show_problem(self, text: str) -> None:
        self.problem_label.setText(text)
        self.problem_label.show()

    # Result -----------------------------------------------------------------------------
    def accept(self) -> None:
        r = self.result_settings
        r.audio.host_api = self.host_api_combo.currentData()
        r.audio.output_device = self.output_combo.currentData()
        r.audio.input_device = self.input_combo.currentData()
        r.audio.sample_rate = int(self.rate_combo.currentData())
        r.audio.blocksize = int(self.blocksize_combo.currentData())
        # An empty list means "all ports" in the settings file.
        r.midi.input_ports = [] if self.all_ports_check.isChecked() else self._checked_ports()
        r.instrument.soundfont_path = self.soundfont_edit.text().strip() or None
        super().accept()
