"""The chord lane's next-chord hint: right-click the chord lane, "Suggest Next Chord",
and a small popup near the last chord offers the likely next chords (most likely
first, with their probability); a click puts one after the last chord (to the end of
that bar, or a whole bar when the last chord ends on a bar line), one undo step.

The suggestions come from `models.generation.tasks.next_chords` through the generation
worker (the same one as the panel), so asking never blocks the UI; the popup says
"Thinking…" until they arrive, and closing it cancels the request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QPointF, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QMenu, QPushButton, QVBoxLayout, QWidget

from strumspace_desktop.core.document import Document, DocumentError
from strumspace_desktop.generate.chord_labels import ChordNameError, to_harte
from strumspace_desktop.generate.events import Cancelled, Failed, GenerationEvent, Result
from strumspace_desktop.generate.into_document import add_suggested_chord
from strumspace_desktop.generate.prompts import next_chord_request
from strumspace_desktop.ui.arrange.hits import lane_top
from strumspace_desktop.ui.generate.bridge import GenerationBridge
from strumspace_desktop.ui.generate.plan import SUGGESTIONS, suggestion_span

if TYPE_CHECKING:
    from strumspace_desktop.ui.main_window import MainWindow

MENU_TEXT = "Suggest Next Chord"
NOTICE_KEY = "chord-suggest"


class SuggestionPopup(QFrame):
    """A borderless popup: a title, then one button per suggestion."""

    chosen = Signal(str, float)  # short chord name, probability
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("ChordSuggestionPopup")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.setSpacing(3)
        self.title = QLabel("Next chord: thinking…")
        self.title.setObjectName("FieldLabel")
        self._layout.addWidget(self.title)
        self.buttons: list[QPushButton] = []

    def show_suggestions(self, suggestions: list[tuple[str, float]], backend: str) -> None:
        self.title.setText("Next chord" + (f" ({backend})" if backend else "") + ":")
        for label, prob in suggestions:
            button = QPushButton(f"{label}   {prob:.0%}")
            button.setToolTip(f"Put {label} after the last chord")
            button.clicked.connect(lambda _c=False, lb=label, pr=prob: self.chosen.emit(lb, pr))
            self._layout.addWidget(button)
            self.buttons.append(button)
        if not suggestions:
            self.title.setText("No suggestion for these chords.")
        self.adjustSize()

    def show_problem(self, text: str) -> None:
        self.title.setText(text)
        self.title.setWordWrap(True)
        self.adjustSize()

    def hideEvent(self, event: object) -> None:
        super().hideEvent(event)  # type: ignore[arg-type]
        self.closed.emit()


class ChordSuggester(QObject):
    """Adds "Suggest Next Chord" to the chord lane's context menu and runs the popup."""

    inserted = Signal(str)  # the new chord item's id

    def __init__(self, window: MainWindow, bridge: GenerationBridge,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window_ = window
        self.bridge = bridge
        self.canvas = window.arrange.canvas
        self.popup: SuggestionPopup | None = None
        self.job: int | None = None
        self._target: tuple[Document, str, int, int] | None = None  # doc, track, start, end
        self.canvas.chord_menu_extras.append(self.add_menu_entry)
        bridge.received.connect(self._event)

    def add_menu_entry(self, menu: QMenu, track_id: str, pos: QPointF) -> None:
        doc = self.canvas.document
        if not doc.chords(track_id):
            return
        menu.addSeparator()
        menu.addAction(MENU_TEXT, lambda: self.suggest(
            track_id, self.canvas.mapToGlobal(pos.toPoint())))

    def suggest(self, track_id: str, at: QPoint | None = None) -> SuggestionPopup | None:
        """Ask for the chords after the last one of `track_id`; the popup opens at `at`
        (global position) or under the last chord."""
        self.close_popup()
        doc = self.window_.projects.document
        span = suggestion_span(doc, track_id)
        if span is None:
            self.window_.notices.show_notice(
                NOTICE_KEY, "Write a chord or two in the chord lane first; then the next "
                "one can be suggested.", "info")
            return None
        try:
            request, _prompt = next_chord_request(doc, track_id, span[0], n=SUGGESTIONS)
        except DocumentError as exc:
            self.window_.notices.show_notice(NOTICE_KEY, str(exc), "warning")
            return None
        self._target = (doc, track_id, *span)
        popup = SuggestionPopup(self.canvas)
        popup.chosen.connect(self.insert)
        popup.closed.connect(self._popup_closed)
        self.popup = popup
        self.job = self.bridge.submit(request)
        popup.move(at if at is not None else self._under_last_chord(track_id, span[0]))
        popup.show()
        return popup

    def _under_last_chord(self, track_id: str, tick: int) -> QPoint:
        lane = self.canvas.model.lane_of(track_id)
        x = self.canvas.timeline.x_of(tick)
        y = lane_top(lane.index + 1) if lane is not None else 0
        return self.canvas.mapToGlobal(QPoint(int(x), int(y)))

    def _event(self, event: GenerationEvent) -> None:
        if self.job is None or event.job != self.job:
            return
        if not isinstance(event, Result | Failed | Cancelled):
            return
        self.job = None
        popup = self.popup
        if isinstance(event, Failed):
            self.window_.notices.show_notice(NOTICE_KEY, f"No chord suggestion: "
                                             f"{event.message}", "warning")
            if popup is not None:
                popup.show_problem(event.message)
        elif isinstance(event, Result) and popup is not None:
            popup.show_suggestions(list(event.suggestions), event.backend)

    def insert(self, label: str, probability: float) -> str | None:
        """Put a suggested chord after the last chord (one undo step)."""
        target = self._target
        self.close_popup()
        if target is None:
            return None
        doc, track_id, start, end = target
        if doc is not self.window_.projects.document or doc.read_only:
            return None
        try:
            cid = add_suggested_chord(doc, track_id, to_harte(label), start=start, end=end,
                                      confidence=probability)
        except (DocumentError, ChordNameError) as exc:
            self.window_.notices.show_notice(NOTICE_KEY, f"{label} could not be added: {exc}",
                                             "warning")
            return None
        self.window_.notices.clear(NOTICE_KEY)
        self.canvas.select(clips=set(), chords={(track_id, cid)})
        self.inserted.emit(cid)
        return cid

    def _popup_closed(self) -> None:
        if self.job is not None:
            self.bridge.cancel(self.job)
            self.job = None

    def close_popup(self) -> None:
        popup, self.popup = self.popup, None
        if popup is not None:
            popup.hide()
            popup.deleteLater()
