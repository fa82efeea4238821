"""The generation panel (View > Generate, Ctrl+G): pick a task, set the controls, take
the prompt from the arrangement's selection, Generate (with progress and Cancel; the
model runs in the generation worker process, so the UI never waits), audition the
variations and Keep one (a new clip and/or chord items, one undo step) or Discard.

Messages from the generator (a CPU fallback, a missing model, a clamped setting, bad
input) are shown in the panel; a failure also goes to the window's notice area.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from models.generation.piece import MAJOR, MINOR, Piece
from strumspace_desktop.core.document import Document, DocumentError
from strumspace_desktop.generate.chord_labels import ChordNameError, short_name, to_harte
from strumspace_desktop.generate.events import (
    Cancelled,
    Failed,
    GenerationEvent,
    Notice,
    Progress,
    Ready,
    Result,
)
from strumspace_desktop.generate.into_document import add_suggested_chord
from strumspace_desktop.generate.keep import keep_result
from strumspace_desktop.generate.prompts import key_name
from strumspace_desktop.ui.generate.bridge import GenerationBridge
from strumspace_desktop.ui.generate.plan import (
    NOTE_TASKS,
    TASKS,
    Plan,
    Selection,
    SelectionProblem,
    plan,
)
from strumspace_desktop.ui.generate.preview import PiecePreview
from strumspace_desktop.ui.generate.suggest import ChordSuggester
from strumspace_desktop.ui.toggle_dock import ToggleDock

if TYPE_CHECKING:
    from strumspace_desktop.ui.main_window import MainWindow

NOTICE_KEY = "generate"
TEMPERATURE_STEPS = 40  # the "adventurous" slider: 0..2 in steps of 0.05


@dataclass
class Variation:
    """One listed result: a piece to audition and keep, or a next-chord suggestion."""

    piece: Piece | None
    suggestion: tuple[str, float] | None = None
    kept: bool = False

    def describe(self, number: int, task: str) -> str:
        if self.suggestion is not None:
            label, prob = self.suggestion
            return f"{label}   ({prob:.0%})"
        assert self.piece is not None
        notes = len(self.piece.notes)
        bars = len(self.piece.bars)
        chords = " ".join(_short_chords(self.piece))
        text = f"Variation {number}: "
        if task in NOTE_TASKS:
            text += f"{notes} notes, {bars} bars"
            if chords and task == "continue":
                text += f" over {chords}"
        else:
            text += chords or "no chords"
        return text + ("  ✓ kept" if self.kept else "")


def _short_chords(piece: Piece, limit: int = 12) -> list[str]:
    names = [short_name(int(r), int(q)) for _, _, r, q in piece.chords.tolist() if r >= 0]
    return names[:limit] + (["…"] if len(names) > limit else [])


class GenerationPanel(QWidget):
    """The panel's widgets and logic. `window` gives the song (its projects, tracks,
    arrangement selection, notices) and the engine adapter for auditions."""

    result_listed = Signal()  # variations (or suggestions) are in the list
    kept = Signal(object)  # what keep_result returned, or the new chord's id

    def __init__(self, window: MainWindow, bridge: GenerationBridge,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("GenerationPanel")
        self.window_ = window
        self.bridge = bridge
        self.preview = PiecePreview(window.adapter, self)
        self.job: int | None = None
        self.plan: Plan | None = None  # of the running job
        self._job_document: Document | None = None  # the song it was asked for
        self.shown_plan: Plan | None = None  # of the listed variations
        self.shown_document: Document | None = None
        self.variations: list[Variation] = []
        self.messages: list[str] = []
        self._build()
        bridge.received.connect(self._event)
        window.arrange.canvas.selection_changed.connect(self.refresh_prompt)
        # Edits to the song change the prompt too: refreshed a moment after the view
        # changes (it also changes on scroll and zoom, hence the short delay).
        self._refresh_soon = QTimer(self)
        self._refresh_soon.setSingleShot(True)
        self._refresh_soon.setInterval(150)
        self._refresh_soon.timeout.connect(self.refresh_prompt)
        window.arrange.canvas.view_changed.connect(
            lambda: self._refresh_soon.start() if self.isVisible() else None)
        window.projects.project_replaced.connect(self._project_replaced)
        self.preview.finished.connect(self._preview_done)
        self.refresh_prompt()

    # Layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self.task = QComboBox()
        for code, text in TASKS:
            self.task.addItem(text, code)
        self.task.currentIndexChanged.connect(lambda _i: self._task_changed())
        self.prompt_label = QLabel()
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setObjectName("FieldLabel")

        self.key = QComboBox()
        self.key.addItem("Auto (from the prompt)", None)
        for mode in (MAJOR, MINOR):
            for tonic in range(12):
                self.key.addItem(key_name((tonic, mode)), (tonic, mode))
        self.key.currentIndexChanged.connect(lambda _i: self.refresh_prompt())
        self.chords_edit = QLineEdit()
        self.chords_edit.setPlaceholderText("e.g. C G Am F (one per bar)")
        self.chords_edit.textChanged.connect(lambda _t: self.refresh_prompt())
        self.bars = QSpinBox()
        self.bars.setRange(0, 64)
        self.bars.setSpecialValueText("Auto")
        self.bars.setValue(4)
        self.adventurous = QSlider(Qt.Orientation.Horizontal)
        self.adventurous.setRange(0, TEMPERATURE_STEPS)
        self.adventurous.setValue(TEMPERATURE_STEPS // 2)
        self.adventurous_label = QLabel()
        self.adventurous.valueChanged.connect(lambda _v: self._show_temperature())
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.05, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(0.95)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.variations_spin = QSpinBox()
        self.variations_spin.setRange(1, 8)
        self.variations_spin.setValue(3)
        self.density = QDoubleSpinBox()
        self.density.setRange(0.25, 4.0)
        self.density.setSingleStep(0.25)
        self.density.setValue(1.0)
        self.density.setToolTip("Notes per bar relative to the model's habit (1 = as learnt)")
        self.keep_in_key = QCheckBox("Keep in key")

        form = QFormLayout()
        form.addRow("Task", self.task)
        form.addRow("Prompt", self.prompt_label)
        form.addRow("Key", self.key)
        form.addRow("Chords", self.chords_edit)
        form.addRow("Bars", self.bars)
        temp_row = QHBoxLayout()
        temp_row.addWidget(self.adventurous, 1)
        temp_row.addWidget(self.adventurous_label)
        form.addRow("Adventurous", temp_row)
        form.addRow("Top-p", self.top_p)
        form.addRow("Seed", self.seed)
        form.addRow("Variations", self.variations_spin)
        form.addRow("Density", self.density)
        form.addRow("", self.keep_in_key)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 1)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setObjectName("GenerationMessages")
        self.message_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.backend_label = QLabel("Model: not loaded yet (loads with the first request)")
        self.backend_label.setObjectName("FieldLabel")

        self.results = QListWidget()
        self.results.setMinimumHeight(90)
        self.results.currentRowChanged.connect(lambda _r: self._result_buttons())
        self.results.itemDoubleClicked.connect(lambda _i: self.play_selected())
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.play_selected)
        self.keep_button = QPushButton("Keep")
        self.keep_button.clicked.connect(self.keep_selected)
        self.discard_button = QPushButton("Discard")
        self.discard_button.clicked.connect(self.discard_selected)
        result_buttons = QHBoxLayout()
        result_buttons.addWidget(self.play_button)
        result_buttons.addWidget(self.keep_button)
        result_buttons.addWidget(self.discard_button)
        self.audition_label = QLabel()
        self.audition_label.setObjectName("FieldLabel")
        self.audition_label.setWordWrap(True)

        v = QVBoxLayout(self)
        v.setContentsMargins(8, 8, 8, 8)
        v.addLayout(form)
        v.addLayout(buttons)
        v.addWidget(self.progress)
        v.addWidget(self.status_label)
        v.addWidget(self.message_label)
        v.addWidget(QLabel("Variations"))
        v.addWidget(self.results, 1)
        v.addLayout(result_buttons)
        v.addWidget(self.audition_label)
        v.addWidget(self.backend_label)
        self._show_temperature()
        self._task_changed()
        self._result_buttons()

    def _show_temperature(self) -> None:
        self.adventurous_label.setText(f"{self.temperature:.2f}")

    @property
    def temperature(self) -> float:
        return self.adventurous.value() * 2.0 / TEMPERATURE_STEPS

    def set_task(self, task: str) -> None:
        self.task.setCurrentIndex(self.task.findData(task))

    @property
    def task_code(self) -> str:
        return str(self.task.currentData())

    def _task_changed(self) -> None:
        task = self.task_code
        self.chords_edit.setEnabled(task == "melody")
        for w in (self.bars, self.adventurous, self.top_p, self.seed, self.variations_spin):
            w.setEnabled(task != "next-chord")
        self.bars.setEnabled(task in ("continue", "melody", "chords"))
        self.density.setEnabled(task in NOTE_TASKS)
        self.keep_in_key.setEnabled(task in NOTE_TASKS)
        self.refresh_prompt()

    # The prompt ---------------------------------------------------------------------------
    def selection(self) -> Selection:
        canvas = self.window_.arrange.canvas
        live = self.window_.tracks.live
        return Selection(tuple(sorted(canvas.selected)), tuple(sorted(canvas.selected_chords)),
                         max(int(canvas.playhead), 0), live.id if live is not None else None)

    def controls(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "temperature": self.temperature, "top_p": round(self.top_p.value(), 3),
            "seed": self.seed.value(), "variations": self.variations_spin.value()}
        if self.bars.value() > 0 and self.bars.isEnabled():
            out["bars"] = self.bars.value()
        if self.task_code in NOTE_TASKS:
            out["density"] = self.density.value()
            out["keep_in_key"] = self.keep_in_key.isChecked()
        return out

    def make_plan(self) -> Plan:
        """The request the selection and controls give now (SelectionProblem if none)."""
        try:
            return plan(self.window_.projects.document, self.task_code, self.selection(),
                        key=self.key.currentData(), chords_text=self.chords_edit.text(),
                        controls=self.controls())
        except DocumentError as exc:
            raise SelectionProblem(str(exc)) from exc

    def refresh_prompt(self) -> None:
        try:
            p = self.make_plan()
        except SelectionProblem as exc:
            self.prompt_label.setText(str(exc))
            self.prompt_label.setStyleSheet("color: #f0b429;")
            self.generate_button.setEnabled(False)
            return
        self.prompt_label.setText(p.summary)
        self.prompt_label.setStyleSheet("")
        self.generate_button.setEnabled(self.job is None)

    # Jobs ------------------------------------------------------------------------------------
    def generate(self) -> int | None:
        """Submit the current task; returns its job number (None when the selection
        does not fit: the prompt line says why)."""
        if self.job is not None:
            return None
        try:
            p = self.make_plan()
        except SelectionProblem as exc:
            self._say_problem(str(exc))
            return None
        self.preview.stop()
        self.plan = p
        self._job_document = self.window_.projects.document
        self.messages = list(p.warnings)
        self.job = self.bridge.submit(p.request)
        self.progress.setValue(0)
        self.status_label.setText("Starting the generator…" if not self.bridge.backend
                                  else "Generating…")
        self.generate_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._show_messages()
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.bridge.cancel(self.job)
            self.status_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _event(self, event: GenerationEvent) -> None:
        if isinstance(event, Ready):
            self.backend_label.setText(f"Model: {_backend_text(event.backend)}")
            return
        if isinstance(event, Notice) and event.job is None:
            self.messages.append(event.message)
            self._show_messages()
            return
        if self.job is None or event.job != self.job:
            return  # another listener's job (the chord suggestions)
        if isinstance(event, Progress):
            self.progress.setValue(round(event.fraction * 100))
            self.status_label.setText("Generating…")
        elif isinstance(event, Notice):
            self.messages.append(event.message)
            self._show_messages()
        elif isinstance(event, Result):
            self._finished()
            self.progress.setValue(100)
            if event.backend:
                self.backend_label.setText(f"Model: {_backend_text(event.backend)}")
            self._list_result(event)
        elif isinstance(event, Failed):
            self._finished()
            self.progress.setValue(0)
            self.status_label.setText("Generation failed.")
            self.messages.append(event.message)
            self._show_messages(error=True)
            self.window_.notices.show_notice(NOTICE_KEY, event.message,
                                             "error" if event.reason == "model" else "warning")
        elif isinstance(event, Cancelled):
            self._finished()
            self.progress.setValue(0)
            self.status_label.setText("Cancelled: nothing was changed.")

    def _finished(self) -> None:
        self.job = None
        self.cancel_button.setEnabled(False)
        self.refresh_prompt()

    def _list_result(self, event: Result) -> None:
        assert self.plan is not None
        self.shown_plan = self.plan
        self.shown_document = self._job_document
        if self.plan.task == "next-chord":
            self.variations = [Variation(None, s) for s in event.suggestions]
        else:
            self.variations = [Variation(p) for p in event.pieces]
        self._fill_results()
        n = len(self.variations)
        what = "suggestion" if self.plan.task == "next-chord" else "variation"
        self.status_label.setText(
            f"{n} {what}{'s' if n != 1 else ''} in {event.seconds:.1f} s. "
            + ("Select one and Keep it; Play to listen first." if n else ""))
        if self.variations:
            self.results.setCurrentRow(0)
        self.window_.notices.clear(NOTICE_KEY)
        self.result_listed.emit()

    def _fill_results(self) -> None:
        row = self.results.currentRow()
        self.results.clear()
        task = self.shown_plan.task if self.shown_plan is not None else ""
        for i, var in enumerate(self.variations, 1):
            QListWidgetItem(var.describe(i, task), self.results)
        if 0 <= row < self.results.count():
            self.results.setCurrentRow(row)
        self._result_buttons()

    def _result_buttons(self) -> None:
        var = self.current_variation()
        self.play_button.setEnabled(var is not None and var.piece is not None)
        self.keep_button.setEnabled(var is not None and not var.kept
                                    and not self.window_.projects.document.read_only)
        self.discard_button.setEnabled(var is not None)

    def current_variation(self) -> Variation | None:
        row = self.results.currentRow()
        return self.variations[row] if 0 <= row < len(self.variations) else None

    # Audition, keep, discard ------------------------------------------------------------------
    def play_selected(self) -> None:
        var = self.current_variation()
        if self.preview.playing:
            self.preview.stop()
            return
        if var is None or var.piece is None or self.shown_plan is None:
            return
        p = self.shown_plan
        doc = self.window_.projects.document
        bpm = doc.tempo_map().bpm_at_tick(p.start)
        channel = self._channel(p)
        self.preview.play(var.piece, channel, bpm, chords=p.task not in NOTE_TASKS)
        self.play_button.setText("Stop")
        self.audition_label.setText(
            f"Playing on channel {channel + 1} through the engine's live notes (not "
             "written to the song)." if self.preview.audible else
             "No audio engine is running: nothing sounds.")

    def _preview_done(self) -> None:
        self.play_button.setText("Play")

    def _channel(self, p: Plan) -> int:
        tracks = self.window_.tracks
        for tid in (p.track_id,):
            if tid is not None:
                try:
                    ch = tracks.get(tid).channel
                except (KeyError, ValueError):
                    ch = None
                if ch is not None:
                    return ch
        live = tracks.live
        return live.channel if live is not None and live.channel is not None else 0

    def keep_selected(self) -> object | None:
        """Put the selected variation into the song (one undo step)."""
        var = self.current_variation()
        p = self.shown_plan
        if var is None or p is None or var.kept:
            return None
        doc = self.window_.projects.document
        if doc is not self.shown_document:
            self._say_problem("Another song is open now: generate again to keep a result "
                              "in it.")
            return None
        if doc.read_only:
            self._say_problem("This song is read-only: nothing can be kept in it.")
            return None
        self.preview.stop()
        try:
            if var.suggestion is not None:
                assert p.suggestion_span is not None and p.chord_track is not None
                start, end = p.suggestion_span
                kept: object = add_suggested_chord(
                    doc, p.chord_track, to_harte(var.suggestion[0]), start=start, end=end,
                    confidence=var.suggestion[1])
                where = f"{var.suggestion[0]} added to the chord track"
            else:
                assert var.piece is not None
                program = self._program(p.track_id)
                kept = keep_result(doc, p.task, var.piece, prompt=p.prompt, start=p.start,
                                   track_id=p.track_id, chord_track=p.chord_track,
                                   chords_from_track=p.chords_from_track, program=program)
                where = _kept_text(kept)
        except (DocumentError, ChordNameError, ValueError, KeyError) as exc:
            self._say_problem(f"The result could not be kept: {exc}")
            return None
        var.kept = True
        self._fill_results()
        self.status_label.setText(f"Kept: {where}. Edit ▸ Undo takes it back.")
        self.kept.emit(kept)
        return kept

    def _program(self, track_id: str | None) -> int:
        if track_id is None:
            return 0
        try:
            inst = self.window_.tracks.get(track_id).instrument
        except (KeyError, ValueError):
            return 0
        return int(getattr(inst, "program", 0)) if inst is not None else 0

    def discard_selected(self) -> None:
        row = self.results.currentRow()
        if not 0 <= row < len(self.variations):
            return
        self.preview.stop()
        del self.variations[row]
        self._fill_results()
        if self.variations:
            self.results.setCurrentRow(min(row, len(self.variations) - 1))
        self._result_buttons()

    def _project_replaced(self) -> None:
        self.preview.stop()
        self.variations = []
        self.shown_plan = None
        self._fill_results()
        self.refresh_prompt()

    # Messages ------------------------------------------------------------------------------------
    def _say_problem(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color: #f0b429;")

    def _show_messages(self, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #ff4d4d;" if error else "")
        self.message_label.setText("\n".join(f"• {m}" for m in self.messages[-6:]))
        self.message_label.setStyleSheet("color: #ff4d4d;" if error else "color: #f0b429;")

    def shutdown(self) -> None:
        self.preview.stop()


def _backend_text(name: str) -> str:
    if name.startswith("onnx"):
        return f"{name} (CPU, ONNX Runtime int8)"
    if "cuda" in name:
        return f"{name} (GPU)"
    return name


def _kept_text(kept: Any) -> str:
    parts = []
    if getattr(kept, "clip", None) is not None:
        clip = kept.clip
        parts.append(f"a clip of {clip.notes} notes" + (" on a new track" if clip.new_track
                                                        else ""))
    if getattr(kept, "chords", None) is not None:
        parts.append(f"{len(kept.chords.chord_ids)} chords on the chord track")
    return " and ".join(parts) or "nothing (the variation was empty)"


class GenerationDock(ToggleDock):
    """The panel as a dock of the main window, with the chord lane's suggestions; it owns
    the window's generation bridge (the worker process)."""

    def __init__(self, window: MainWindow, bridge: GenerationBridge | None = None) -> None:
        super().__init__("Generate", window)
        self.setObjectName("GenerationDock")
        self.bridge = bridge or GenerationBridge(self)
        self.panel = GenerationPanel(window, self.bridge)
        self.setWidget(self.panel)
        self.suggester = ChordSuggester(window, self.bridge, self)

    def use_bridge(self, bridge: GenerationBridge) -> None:
        """Drive another worker (e.g. one already running, or another model folder);
        the old one is shut down when this dock owned it."""
        old, self.bridge = self.bridge, bridge
        for listener in (self.panel, self.suggester):
            old.received.disconnect(listener._event)
            listener.bridge = bridge
            bridge.received.connect(listener._event)
        self.panel.job = self.suggester.job = None
        if old.parent() is self:
            old.shutdown()

    def on_shown(self) -> None:
        self.panel.refresh_prompt()

    def shutdown(self) -> None:
        """Stop auditions and the worker process (on quit)."""
        self.panel.shutdown()
        self.suggester.close_popup()
        self.bridge.shutdown()
