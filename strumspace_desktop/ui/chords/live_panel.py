"""The live chord display: the chord being played, large, its confidence, the likely
next chord beside it, and a strip of the last chords with their times.

It listens to the adapter's `live_chord` / `live_chord_status` signals. Listening
costs a worker process (the chord model), so it runs only while the panel is shown
and its Listen toggle is on; the adapter then starts, follows (device lost, engine
restarted) and stops the worker with the engine's input. Every state the musician
cannot play into (no engine, no input, the model missing) is said in words.

The next-chord hint: `models.generation.tasks.next_chords` through the window's
generation worker (the same worker as the Generate panel and the chord lane's
"Suggest Next Chord"), asked whenever the chord changes; until it answers (or when
generation is not installed or fails) a clearly labelled fallback shows the chord
that most often followed the current one in the recent history.
"""

from __future__ import annotations

import importlib.util
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.analysis.live import LiveChordService
from strumspace_desktop.analysis.live_events import LiveChord, LiveState, LiveStatus
from strumspace_desktop.ui import theme
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.chords.notation import ChordNamer

HISTORY = 8  # chords in the strip
HISTORY_COLUMNS = 4
HINT_HISTORY = 8  # chords sent to next_chords
HINT_COUNT = 3
SOURCE_MODEL = "model"
SOURCE_HISTORY = "history"
GENERATION_AVAILABLE = importlib.util.find_spec("models.generation.tasks") is not None

_STATE_TEXT = {
    LiveState.OFF: "Live chords are off.",
    LiveState.STARTING: "Loading the chord model…",
    LiveState.LISTENING: "Listening to the audio input.",
    LiveState.NO_INPUT: "No audio input.",
    LiveState.FAILED: "Live chord recognition is not available.",
}


@dataclass(frozen=True)
class HistoryEntry:
    label: str  # Harte
    seconds: float  # on the stream's time line


def clock_text(seconds: float) -> str:
    s = max(0.0, seconds)
    return f"{int(s // 60)}:{s % 60:04.1f}"


def fallback_next(history: list[str], current: str, n: int = HINT_COUNT) -> list[str]:
    """The chords that followed `current` in `history` (most often first): what the
    display shows when no model answers."""
    after = Counter(b for a, b in pairwise(history)
                    if a == current and b != current)
    return [label for label, _ in after.most_common(n)]


class LiveChordPanel(QWidget):
    listening_changed = Signal(bool)

    def __init__(self, adapter: EngineAdapter, namer: Callable[[], ChordNamer],
                 bridge: Callable[[], Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LiveChordPanel")
        self.setMinimumWidth(340)
        self.adapter = adapter
        self.namer = namer
        self._bridge_of = bridge  # the window's GenerationBridge, looked up when asking
        self._bridge: Any = None
        self.service: LiveChordService | None = None
        self.current: LiveChord | None = None
        self.history: deque[HistoryEntry] = deque(maxlen=max(HISTORY, HINT_HISTORY))
        self.hint: list[str] = []  # Harte labels
        self.hint_source = ""
        self.hint_job: int | None = None
        self._shown = False
        self.use_generation = GENERATION_AVAILABLE  # False: the history fallback only
        self._build()
        adapter.live_chord.connect(self.show_chord)
        adapter.live_chord_status.connect(self.show_status)
        adapter.engine_died.connect(lambda _m: self._engine_state())
        adapter.stream_opened.connect(lambda _i: self._engine_state())
        self.show_status(LiveStatus(LiveState.OFF))

    # Layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.listen_button = QPushButton("Listen")
        self.listen_button.setCheckable(True)
        self.listen_button.setChecked(True)
        self.listen_button.setToolTip("Recognise the chords played into the audio input")
        self.listen_button.toggled.connect(lambda _on: self._update_listening())
        self.status_label = QLabel()
        self.status_label.setObjectName("FieldLabel")
        self.status_label.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.status_label, 1)
        top.addWidget(self.listen_button)

        self.chord_label = QLabel("–")
        self.chord_label.setObjectName("LiveChordName")
        big = QFont(self.font())
        big.setPointSize(44)
        big.setBold(True)
        self.chord_label.setFont(big)
        self.chord_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.chord_label.setMinimumWidth(180)
        self.shape_label = QLabel()
        self.shape_label.setObjectName("FieldLabel")
        self.shape_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_bar = QProgressBar()
        self.confidence_bar.setRange(0, 100)
        self.confidence_bar.setTextVisible(True)
        self.confidence_bar.setFormat("confidence %p%")
        self.confidence_bar.setMaximumHeight(14)
        now = QVBoxLayout()
        now.addWidget(self.chord_label)
        now.addWidget(self.shape_label)
        now.addWidget(self.confidence_bar)

        self.next_label = QLabel("–")
        mid = QFont(self.font())
        mid.setPointSize(20)
        mid.setBold(True)
        self.next_label.setFont(mid)
        self.next_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_label.setStyleSheet(f"color: {theme.ACCENT};")
        self.next_title = QLabel("Next")
        self.next_title.setObjectName("FieldLabel")
        self.next_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_source = QLabel()
        self.next_source.setObjectName("FieldLabel")
        self.next_source.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_source.setWordWrap(True)
        nxt = QVBoxLayout()
        nxt.addWidget(self.next_title)
        nxt.addWidget(self.next_label)
        nxt.addWidget(self.next_source)
        nxt.addStretch(1)
        nxt_box = QFrame()
        nxt_box.setLayout(nxt)
        nxt_box.setMinimumWidth(110)

        row = QHBoxLayout()
        row.addLayout(now, 3)
        row.addWidget(nxt_box, 2)

        self.history_strip = QGridLayout()  # oldest first, HISTORY_COLUMNS a row
        self.history_strip.setSpacing(4)
        self.history_labels: list[QLabel] = []
        for i in range(HISTORY):
            label = QLabel()
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet(f"background: {theme.RAISED}; border: 1px solid {theme.BORDER};"
                                " border-radius: 3px; padding: 2px 4px;")
            label.hide()
            self.history_labels.append(label)
            self.history_strip.addWidget(label, i // HISTORY_COLUMNS, i % HISTORY_COLUMNS)
        history_title = QLabel("Recent chords")
        history_title.setObjectName("FieldLabel")

        v = QVBoxLayout(self)
        v.setContentsMargins(8, 6, 8, 8)
        v.addLayout(top)
        v.addLayout(row)
        v.addWidget(history_title)
        v.addLayout(self.history_strip)
        v.addStretch(1)

    # Listening ------------------------------------------------------------------------
    @property
    def listening(self) -> bool:
        return self.service is not None

    def set_shown(self, shown: bool) -> None:
        """The dock became visible or hidden: listen only while it shows."""
        self._shown = shown
        self._update_listening()

    def _update_listening(self) -> None:
        want = self._shown and self.listen_button.isChecked()
        if want and self.service is None:
            self.service = LiveChordService()
            self.adapter.attach_live_chords(self.service)
            self._engine_state()
            self.listening_changed.emit(True)
        elif not want and self.service is not None:
            service, self.service = self.service, None
            self.adapter.attach_live_chords(None)
            service.stop()
            self.show_status(LiveStatus(LiveState.OFF))
            self.listening_changed.emit(False)

    def _engine_state(self) -> None:
        """Say so when there is no engine to listen to (the service waits for one)."""
        if self.service is None:
            return
        if not self.adapter.engine_running:
            self.show_status(LiveStatus(LiveState.NO_INPUT, "The audio engine is not "
                                        "running: live chords need its audio input."))
        elif self.service.status.state is LiveState.OFF:
            self.show_status(LiveStatus(LiveState.NO_INPUT, "No audio device is open: "
                                        "choose one with an input in Audio & MIDI Settings."))

    def shutdown(self) -> None:
        self.listen_button.setChecked(False)
        self._cancel_hint()

    # Events ---------------------------------------------------------------------------
    def show_status(self, status: LiveStatus) -> None:
        text = status.message or _STATE_TEXT[status.state]
        if status.state is LiveState.OFF and not self.listen_button.isChecked():
            text = "Live chords are off: press Listen to hear the audio input."
        self.status_label.setText(text)
        bad = status.state in (LiveState.FAILED, LiveState.NO_INPUT)
        self.status_label.setStyleSheet("color: #ff8a80;" if bad else "")
        self.status_state = status.state
        if status.state is not LiveState.LISTENING:
            self.chord_label.setEnabled(False)  # greyed: what it shows is not live

    def show_chord(self, chord: LiveChord) -> None:
        if self.service is None:
            return  # a late event after listening stopped
        self.chord_label.setEnabled(True)
        first = self.current is None
        self.current = chord
        self.confidence_bar.setValue(round(100 * chord.confidence))
        if not (chord.changed or first):
            return
        self.refresh_names()
        if chord.label == "N":
            return
        if not self.history or self.history[-1].label != chord.label:
            self.history.append(HistoryEntry(chord.label, chord.seconds))
            self._render_history()
            self._ask_hint()

    # Rendering (again whenever the chord name settings change) ------------------------
    def refresh_names(self) -> None:
        namer = self.namer()
        chord = self.current
        if chord is None:
            self.chord_label.setText("–")
            self.shape_label.setText("Play a chord…" if self.listening else "")
        else:
            shape = namer.shape(chord.label)
            self.chord_label.setText(shape or namer.name(chord.label))
            self.shape_label.setText(f"capo {namer.capo} · sounds {namer.name(chord.label)}"
                                     if shape else "")
        self._render_hint()
        self._render_history()

    def _render_history(self) -> None:
        namer = self.namer()
        entries = list(self.history)[-HISTORY:]
        for label, entry in zip(self.history_labels, [*entries, *[None] * HISTORY],
                                strict=False):
            if entry is None:
                label.hide()
                continue
            name = namer.shape(entry.label) or namer.name(entry.label)
            label.setText(f"<b>{name}</b><br><small>{clock_text(entry.seconds)}</small>")
            label.show()

    def _render_hint(self) -> None:
        namer = self.namer()
        if not self.hint:
            self.next_label.setText("–")
            self.next_source.setText("asking the generation model…" if self.hint_job is not None
                                     else "")
            return
        names = [namer.shape(h) or namer.name(h) for h in self.hint]
        self.next_label.setText(names[0])
        more = ", ".join(names[1:])
        if self.hint_source == SOURCE_MODEL:
            src = "likely next, from the generation model (next_chords)"
        else:
            src = "fallback: what followed it in your recent chords"
        self.next_source.setText(src + (f"; then {more}" if more else ""))

    # The next-chord hint -------------------------------------------------------------
    def _history_labels(self) -> list[str]:
        return [e.label for e in self.history]

    def _ask_hint(self) -> None:
        # The fallback shows at once (labelled); the model's answer replaces it.
        self._cancel_hint()
        self._set_hint(fallback_next(self._history_labels(), self.history[-1].label),
                       SOURCE_HISTORY)
        bridge = self._bridge_of() if (self._bridge_of is not None
                                       and self.use_generation) else None
        if bridge is None:
            return
        from strumspace_desktop.generate.chord_labels import (
            ChordNameError,
            from_harte,
            short_name,
        )
        from strumspace_desktop.generate.prompts import make_request

        names = []
        for label in self._history_labels()[-HINT_HISTORY:]:
            try:
                parsed = from_harte(label)
            except ChordNameError:
                continue
            if parsed is not None:
                names.append(short_name(*parsed))
        if not names:
            return
        if bridge is not self._bridge:
            if self._bridge is not None:
                self._bridge.received.disconnect(self._hint_event)
            bridge.received.connect(self._hint_event)
            self._bridge = bridge
        self.hint_job = bridge.submit(make_request("next-chord", None, chords=" ".join(names),
                                                   variations=HINT_COUNT))
        self._render_hint()

    def _cancel_hint(self) -> None:
        if self.hint_job is not None and self._bridge is not None:
            self._bridge.cancel(self.hint_job)
        self.hint_job = None

    def _hint_event(self, event: Any) -> None:
        from strumspace_desktop.generate.chord_labels import ChordNameError, to_harte
        from strumspace_desktop.generate.events import Cancelled, Failed, Result

        if self.hint_job is None or getattr(event, "job", None) != self.hint_job:
            return
        if not isinstance(event, Result | Failed | Cancelled):
            return
        self.hint_job = None
        if isinstance(event, Result):
            labels = []
            for name, _p in event.suggestions:
                try:
                    labels.append(to_harte(name))
                except ChordNameError:
                    continue
            self._set_hint(labels[:HINT_COUNT], SOURCE_MODEL)
        elif isinstance(event, Failed) and self.history:
            self._set_hint(fallback_next(self._history_labels(), self.history[-1].label),
                           SOURCE_HISTORY)
            self.next_source.setText(self.next_source.text()
                                     + f" (the model did not answer: {event.message})")

    def _set_hint(self, labels: list[str], source: str) -> None:
        self.hint, self.hint_source = labels, source
        self._render_hint()
