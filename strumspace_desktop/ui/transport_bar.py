"""The transport bar: play, stop, record-arm, loop, tempo, meter, count-in,
metronome, master volume and the position display.

It sends its settings to the engine through the adapter and shows what the engine
reports: the buttons follow the engine's status, so a change made elsewhere (a
MIDI-learn binding, a keyboard shortcut) shows here too.

Tempo, meter (both at tick 0) and the loop belong to the song: they are written to
the bound document, and a document change from any origin (open, undo, a partner)
sets the widgets and the engine. Count-in, metronome and master volume are the
musician's own settings, not the song's.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.audio.client import EngineStatus
from strumspace_desktop.audio.protocol import TransportState
from strumspace_desktop.core.document import Change, Document
from strumspace_desktop.core.settings import (
    DENOMINATORS,
    MAX_COUNT_IN_BARS,
    MAX_NUMERATOR,
    MAX_TEMPO,
    MIN_TEMPO,
    TransportSettings,
)
from strumspace_desktop.core.timing import PPQ, TimeSignatureMap, format_bbt, format_clock
from strumspace_desktop.ui import theme
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.icons import icon
from strumspace_desktop.ui.record_controller import RecordController

LOOP_BARS = 4  # the loop L switches on in a song that has no loop range yet
DEFAULT_MASTER = 0.8  # the engine's own default


def position_text(beat: float, numerator: int, denominator: int) -> str:
    """'bar:beat:ticks' for a transport position in beats of the meter's unit."""
    ticks_per_beat = PPQ * 4 // denominator
    bbt = TimeSignatureMap.constant(numerator, denominator).bbt_at_tick(beat * ticks_per_beat)
    return format_bbt(bbt)


def _label(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setObjectName("FieldLabel")
    return lab


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setStyleSheet(f"color: {theme.BORDER};")
    return line


class TransportBar(QWidget):
    learn_toggled = Signal(bool)

    def __init__(self, adapter: EngineAdapter, settings: TransportSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TransportBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.adapter = adapter
        self.settings = settings
        self._state = TransportState.STOPPED
        self._last_status: EngineStatus | None = None
        self._document: Document | None = None
        self._unsubscribe: Callable[[], None] = lambda: None

        self.stop_button = self._button("StopButton", "stop", "Stop (Space while playing)")
        self.play_button = self._button("PlayButton", "play", "Play (Space)", "#0c1a10")
        self.record_button = self._button("RecordButton", "record", "Record arm (R)", "#1a0c0c",
                                          colour=theme.RECORD_RED)
        self.loop_button = self._button("LoopButton", "loop", "Loop (L)", "#1a140a")
        for b in (self.play_button, self.record_button, self.loop_button):
            b.setCheckable(True)
        self.play_button.clicked.connect(self._play_clicked)
        self.stop_button.clicked.connect(self.adapter.stop_transport)
        self.record_button.toggled.connect(self._record_toggled)
        # Record + play records the armed tracks (ui/record_controller.py); its options
        # are in the record button's context menu.
        self.recorder = RecordController(adapter, parent=self)
        self.record_button.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.record_button.customContextMenuRequested.connect(
            lambda pos: self.recorder.options_menu(self).exec(
                self.record_button.mapToGlobal(pos)))
        self.loop_button.toggled.connect(self._loop_toggled)

        # Position display.
        self.position_bbt = QLabel("1:1:000")
        self.position_bbt.setObjectName("PositionBBT")
        self.position_clock = QLabel("0:00.000")
        self.position_clock.setObjectName("PositionClock")
        for lab in (self.position_bbt, self.position_clock):
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
        display = QFrame()
        display.setObjectName("PositionDisplay")
        dl = QVBoxLayout(display)
        dl.setContentsMargins(14, 2, 14, 3)
        dl.setSpacing(0)
        dl.addWidget(self.position_bbt)
        dl.addWidget(self.position_clock)
        display.setMinimumWidth(150)

        self.tempo_spin = QDoubleSpinBox()
        self.tempo_spin.setRange(MIN_TEMPO, MAX_TEMPO)
        self.tempo_spin.setDecimals(1)
        self.tempo_spin.setSuffix(" BPM")
        self.tempo_spin.setKeyboardTracking(False)  # send once typing is done
        self.tempo_spin.setValue(settings.tempo)
        self.tempo_spin.setToolTip("Tempo, 20 to 300 beats (quarter notes) per minute")
        self.tempo_spin.valueChanged.connect(self._tempo_changed)

        self.numerator_spin = QSpinBox()
        self.numerator_spin.setRange(1, MAX_NUMERATOR)
        self.numerator_spin.setValue(settings.numerator)
        self.numerator_spin.setKeyboardTracking(False)
        self.denominator_combo = QComboBox()
        for d in DENOMINATORS:
            self.denominator_combo.addItem(str(d), d)
        self.denominator_combo.setCurrentIndex(DENOMINATORS.index(settings.denominator))
        self.numerator_spin.setToolTip("Beats per bar")
        self.denominator_combo.setToolTip("Beat unit")
        self.numerator_spin.valueChanged.connect(self._meter_changed)
        self.denominator_combo.currentIndexChanged.connect(self._meter_changed)

        self.count_in_combo = QComboBox()
        self.count_in_combo.addItem("No count-in", 0)
        for bars in range(1, MAX_COUNT_IN_BARS + 1):
            self.count_in_combo.addItem(f"Count-in {bars} bar{'s' if bars > 1 else ''}", bars)
        self.count_in_combo.setCurrentIndex(settings.count_in_bars)
        self.count_in_combo.setToolTip("Bars of clicks before playing or recording starts")
        self.count_in_combo.currentIndexChanged.connect(self._count_in_changed)

        self.metronome_button = self._button("MetronomeButton", "metronome",
                                             "Metronome on/off", "#1a140a")
        self.metronome_button.setCheckable(True)
        self.metronome_button.setChecked(settings.metronome_on)
        self.metronome_button.toggled.connect(self._metronome_changed)
        self.metronome_volume = self._slider(round(settings.metronome_volume * 100),
                                             "Metronome volume", 80)
        self.metronome_volume.valueChanged.connect(self._metronome_changed)

        # The listening level of this computer (like a monitor knob): a session setting,
        # applied after the song's master bus, never saved in the song or its exports.
        self.master_volume = self._slider(
            round(DEFAULT_MASTER * 100),
            "Monitor level: how loud this computer plays. Not part of the song or its "
            "exports (the song's master fader is in the mixer).", 110)
        self.master_volume.valueChanged.connect(self._master_changed)

        self.learn_button = self._button("LearnButton", "learn",
                                         "MIDI learn: click a control, then move a knob "
                                         "or press a button on your controller", "#1a0c1f")
        self.learn_button.setCheckable(True)
        self.learn_button.setText("Learn")
        self.learn_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.learn_button.toggled.connect(self.learn_toggled)

        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        row.setSpacing(6)
        for w in (self.stop_button, self.play_button, self.record_button, self.loop_button):
            row.addWidget(w)
        row.addSpacing(8)
        row.addWidget(display)
        row.addSpacing(8)
        row.addWidget(self.tempo_spin)
        row.addWidget(self.numerator_spin)
        row.addWidget(_label("/"))
        row.addWidget(self.denominator_combo)
        row.addWidget(_separator())
        row.addWidget(self.count_in_combo)
        row.addWidget(self.metronome_button)
        row.addWidget(self.metronome_volume)
        row.addStretch(1)
        row.addWidget(_label("Monitor"))
        row.addWidget(self.master_volume)
        row.addWidget(_separator())
        row.addWidget(self.learn_button)

        # Editing a field must not keep the keyboard: Space, R, L and the computer
        # keyboard piano work again as soon as the value is entered.
        for spin in (self.tempo_spin, self.numerator_spin):
            spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            spin.editingFinished.connect(self._release_focus)
        for combo in (self.denominator_combo, self.count_in_combo):
            combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    # Building -------------------------------------------------------------------------
    def _button(self, name: str, icon_name: str, tip: str, checked: str | None = None,
                colour: str = theme.TEXT) -> QToolButton:
        b = QToolButton()
        b.setObjectName(name)
        b.setIcon(icon(icon_name, colour, checked))
        b.setIconSize(QSize(22, 22))
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return b

    def _slider(self, value: int, tip: str, width: int) -> QSlider:
        s = QSlider(Qt.Orientation.Horizontal)
        s.setRange(0, 100)
        s.setValue(value)
        s.setFixedWidth(width)
        s.setToolTip(tip)
        s.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return s

    def _release_focus(self) -> None:
        w = self.window()
        if w is not None:
            w.setFocus(Qt.FocusReason.OtherFocusReason)

    # Sending ---------------------------------------------------------------------------
    def push_to_engine(self) -> None:
        """Send every transport setting (a new engine or stream starts from defaults)."""
        a = self.adapter
        a.set_tempo(self.tempo_spin.value())
        a.set_meter(self.numerator_spin.value(), int(self.denominator_combo.currentData()))
        a.set_count_in(int(self.count_in_combo.currentData()))
        a.set_metronome(self.metronome_button.isChecked(), self.metronome_volume.value() / 100)
        a.set_master_gain(self.master_volume.value() / 100)
        a.set_record_arm(self.record_button.isChecked())
        self._send_loop()

    def _play_clicked(self) -> None:
        self.adapter.play()
        # The button shows the engine's state, set by the next status poll.
        self.play_button.setChecked(self._state != TransportState.STOPPED)

    def toggle_play(self) -> None:
        self.adapter.toggle_play()

    def toggle_record(self) -> None:
        self.record_button.toggle()

    def toggle_loop(self) -> None:
        self.loop_button.toggle()

    # Record arm and loop are changed only from here (and the loop from the document),
    # so their buttons hold the truth; following the engine's status instead would let
    # a status read before the command was applied undo a quick second press.
    def _record_toggled(self, armed: bool) -> None:
        self.adapter.set_record_arm(armed)
        self.recorder.set_recording(armed)

    def _loop_toggled(self, on: bool) -> None:
        self._send_loop()
        self._write_loop()

    def _ticks_per_beat(self) -> int:
        return PPQ * 4 // int(self.denominator_combo.currentData())

    def _loop_range(self) -> tuple[int, int]:
        """The song's loop range in ticks; LOOP_BARS bars from the start when the song
        has none yet (the arrangement's ruler sets any other range)."""
        doc = self._document
        if doc is not None:
            loop = doc.loop()
            if loop.end > loop.start:
                return loop.start, loop.end
        return 0, LOOP_BARS * self.numerator_spin.value() * self._ticks_per_beat()

    def _send_loop(self) -> None:
        start, end = self._loop_range()
        per_beat = self._ticks_per_beat()
        self.adapter.set_loop(self.loop_button.isChecked(), start / per_beat, end / per_beat)

    def _write_loop(self) -> None:
        """Switch the song's loop on or off; a song without a range gets the default."""
        doc = self._writable()
        if doc is None:
            return
        loop = doc.loop()
        if loop.end > loop.start:
            if loop.enabled != self.loop_button.isChecked():
                doc.set_loop(enabled=self.loop_button.isChecked())
        else:
            start, end = self._loop_range()
            doc.set_loop(start, end, self.loop_button.isChecked())

    def _tempo_changed(self, bpm: float) -> None:
        self.settings.tempo = bpm  # also the tempo new songs start with
        self.adapter.set_tempo(bpm)
        doc = self._writable()
        if doc is not None and doc.tempo_changes()[0].bpm != bpm:
            doc.set_tempo(0, bpm)

    def _meter_changed(self) -> None:
        self.settings.numerator = self.numerator_spin.value()
        self.settings.denominator = int(self.denominator_combo.currentData())
        self.adapter.set_meter(self.settings.numerator, self.settings.denominator)
        self._send_loop()
        doc = self._writable()
        if doc is not None:
            ts = doc.time_signatures()[0]
            if (ts.numerator, ts.denominator) != (self.settings.numerator,
                                                  self.settings.denominator):
                doc.set_time_signature(0, self.settings.numerator,
                                       self.settings.denominator)

    # The song document ------------------------------------------------------------------
    def bind_document(self, document: Document) -> None:
        """Follow `document`: show its tempo, meter and loop now and after each change."""
        self._unsubscribe()
        self._document = document
        self.recorder.document = document
        self._unsubscribe = document.subscribe(self._document_changed)
        read_only = document.read_only
        for w in (self.tempo_spin, self.numerator_spin, self.denominator_combo):
            w.setEnabled(not read_only)
        self._show_document()

    def _writable(self) -> Document | None:
        doc = self._document
        return doc if doc is not None and not doc.read_only else None

    def _document_changed(self, change: Change) -> None:
        if change.tempo or change.time_signatures or change.meta:
            self._show_document()

    def _show_document(self) -> None:
        """Set the widgets (and so the engine) from the document, without writing back."""
        doc = self._document
        if doc is None:
            return
        bpm = min(MAX_TEMPO, max(MIN_TEMPO, doc.tempo_changes()[0].bpm))
        ts = doc.time_signatures()[0]
        numerator = min(MAX_NUMERATOR, ts.numerator)
        denominator = ts.denominator if ts.denominator in DENOMINATORS else 4
        loop_on = doc.loop().enabled
        widgets = (self.tempo_spin, self.numerator_spin, self.denominator_combo,
                   self.loop_button)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.tempo_spin.setValue(bpm)
            self.numerator_spin.setValue(numerator)
            self.denominator_combo.setCurrentIndex(DENOMINATORS.index(denominator))
            self.loop_button.setChecked(loop_on)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self.adapter.set_tempo(bpm)
        self.adapter.set_meter(numerator, denominator)
        self._send_loop()

    def _count_in_changed(self) -> None:
        self.settings.count_in_bars = int(self.count_in_combo.currentData())
        self.adapter.set_count_in(self.settings.count_in_bars)

    def _metronome_changed(self) -> None:
        self.settings.metronome_on = self.metronome_button.isChecked()
        self.settings.metronome_volume = self.metronome_volume.value() / 100
        self.adapter.set_metronome(self.settings.metronome_on, self.settings.metronome_volume)

    def _master_changed(self, value: int) -> None:
        self.adapter.set_master_gain(value / 100)

    def set_tempo(self, bpm: float) -> None:
        self.tempo_spin.setValue(min(MAX_TEMPO, max(MIN_TEMPO, bpm)))

    def set_master_volume(self, gain: float) -> None:
        self.master_volume.setValue(round(min(1.0, max(0.0, gain)) * 100))

    # Showing the engine's state ----------------------------------------------------------
    def show_status(self, status: EngineStatus) -> None:
        self._last_status = status
        self._state = status.state
        self.play_button.setChecked(status.state != TransportState.STOPPED)
        self.position_bbt.setText(position_text(status.beat, status.numerator or 4,
                                                status.denominator or 4))
        self.position_clock.setText(format_clock(status.seconds))
