"""The mixer's one way to edit the document: every gesture is one undo step, and a
refused edit (a track a partner just removed, a read-only project) becomes a
message instead of an exception in a Qt slot."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal

from strumspace_desktop.core.document import Document, DocumentError
from strumspace_desktop.ui.mixer.gesture_slider import GestureSlider

T = TypeVar("T")


class MixerEdits(QObject):
    problem = Signal(str)  # an edit the document refused, in words

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self._groups: list[Document] = []  # where open gestures began

    def set_document(self, document: Document | None) -> None:
        self.end_all()
        self.document = document

    @property
    def editable(self) -> bool:
        return self.document is not None and not self.document.read_only

    # Gestures ------------------------------------------------------------------------------
    def begin_gesture(self) -> None:
        if self.document is not None:
            self.document.begin_undo_group()
            self._groups.append(self.document)

    def end_gesture(self) -> None:
        if self._groups:
            self._groups.pop().end_undo_group()

    def end_all(self) -> None:
        while self._groups:
            self.end_gesture()

    def run(self, edit: Callable[[Document], T]) -> T | None:
        doc = self.document
        if doc is None:
            return None
        try:
            return edit(doc)
        except DocumentError as exc:
            self.problem.emit(str(exc))
            return None

    def bind_slider(self, slider: GestureSlider, apply: Callable[[Document, float], object]
                    ) -> None:
        """A slider's gestures edit the document through `apply(document, value)`."""
        slider.gesture_started.connect(self.begin_gesture)
        slider.gesture_finished.connect(self.end_gesture)
        slider.value_changed.connect(lambda v: self.run(lambda d: apply(d, v)))
