"""The velocity lane under the grid: one bar per note, dragged to set velocities.

Pressing on a bar of a selected note sets the velocity of the whole selection;
on another note's bar, of that note only; on empty space, of the selection. The
drag is one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from strumspace_desktop.core.document import Document, DocumentError
from strumspace_desktop.ui import theme

from .editor import NoteEditor
from .viewport import Viewport

LANE_HEIGHT = 72
BAR_WIDTH = 3.0
HIT_PX = 5.0
PAD = 4.0


class VelocityLane(QWidget):
    def __init__(self, viewport: Viewport, editor: NoteEditor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewport = viewport
        self.editor = editor
        self.colour = QColor(theme.ACCENT)
        self.targets: set[str] = set()
        self._doc: Document | None = None  # holds the drag's undo group
        self._key: tuple[object, ...] | None = None
        self._bars: tuple[list[QRectF], list[QRectF]] = ([], [])
        self.setFixedHeight(LANE_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setToolTip("Velocity: drag a bar (or the selection's) up or down")
        viewport.changed.connect(lambda _zoomed: self.update())

    def y_of_velocity(self, velocity: int) -> float:
        return self.height() - PAD - (self.height() - 2 * PAD) * velocity / 127

    def velocity_at(self, y: float) -> int:
        v = round((self.height() - PAD - y) / (self.height() - 2 * PAD) * 127)
        return max(1, min(127, v))

    def bar_x(self, note_id: str) -> float:
        """Screen x of a note's bar (tests press there)."""
        return self.viewport.x_of(self.editor.notes[note_id].start) + BAR_WIDTH / 2

    # Painting -------------------------------------------------------------------------------
    def _ensure_bars(self) -> None:
        ed, vp = self.editor, self.viewport
        notes = ed.notes
        key = (ed.revision, ed.selection_revision, vp.px_per_tick, self.height())
        if key == self._key:
            return
        self._key = key
        plain: list[QRectF] = []
        chosen: list[QRectF] = []
        bottom = self.height() - PAD
        for nid, n in notes.items():
            top = self.y_of_velocity(n.velocity)
            (chosen if nid in ed.selection else plain).append(
                QRectF(n.start * vp.px_per_tick, top, BAR_WIDTH, bottom - top))
        self._bars = (plain, chosen)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._ensure_bars()
        p = QPainter(self)
        r = event.rect()
        p.fillRect(r, QColor("#1b1d21"))
        p.setPen(QPen(QColor(255, 255, 255, 18), 1))
        for v in (32, 64, 96, 127):
            y = self.y_of_velocity(v)
            p.drawLine(QLineF(r.left(), y, r.right() + 1, y))
        p.fillRect(r.left(), 0, r.width(), 1, QColor(theme.BORDER))
        p.translate(-self.viewport.scroll_x, 0)
        p.setPen(Qt.PenStyle.NoPen)
        for bars, colour in ((self._bars[0], self.colour), (self._bars[1],
                                                            QColor(theme.LOOP_AMBER))):
            if bars:
                p.setBrush(colour)
                p.drawRects(bars)
        p.end()

    # Dragging ---------------------------------------------------------------------------
    def _hit(self, x: float) -> str | None:
        vp, ed = self.viewport, self.editor
        best: tuple[float, int, str] | None = None
        for nid, n in ed.notes.items():
            d = abs(vp.x_of(n.start) + BAR_WIDTH / 2 - x)
            if d <= HIT_PX:
                cand = (d, 0 if nid in ed.selection else 1, nid)
                if best is None or cand < best:
                    best = cand
        return None if best is None else best[2]

    def mousePressEvent(self, event: QMouseEvent) -> None:
        ed = self.editor
        if event.button() != Qt.MouseButton.LeftButton or not ed.editable or self._doc:
            return
        hit = self._hit(event.position().x())
        if hit is not None and hit not in ed.selection:
            self.targets = {hit}
        else:
            self.targets = set(ed.selection)
        if not self.targets:
            return
        self._doc = ed.document
        if self._doc is not None:
            self._doc.begin_undo_group()
        self._apply(event.position().y())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._doc is not None:
            self._apply(event.position().y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._doc is not None:
            self._apply(event.position().y())
        self.end_drag()

    def end_drag(self) -> None:
        doc, self._doc = self._doc, None
        if doc is not None:
            doc.end_undo_group()
        self.targets = set()

    def _apply(self, y: float) -> None:
        try:
            self.editor.set_velocity(self.targets, self.velocity_at(y))
        except DocumentError:
            self.editor.invalidate()
            self.end_drag()
        self.update()
