"""The keyboard beside the grid: one key per row, click to hear the pitch."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from strumspace_desktop.ui import theme
from strumspace_desktop.ui.piano_keyboard import is_black, note_name

from .viewport import Viewport

KEYBOARD_WIDTH = 56


class SideKeyboard(QWidget):
    note_pressed = Signal(int, int)  # pitch, velocity
    note_released = Signal(int)

    def __init__(self, viewport: Viewport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewport = viewport
        self.lit: set[int] = set()
        self._held: int | None = None
        self.setFixedWidth(KEYBOARD_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        viewport.changed.connect(lambda _zoomed: self.update())

    def key_rect(self, pitch: int) -> QRectF:
        vp = self.viewport
        return QRectF(0, vp.y_of(pitch), self.width(), vp.row_height)

    def paintEvent(self, event: QPaintEvent) -> None:
        vp = self.viewport
        r = event.rect()
        p = QPainter(self)
        p.fillRect(r, QColor("#15171a"))
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, min(small.pointSizeF() - 1.5, vp.row_height * 0.62)))
        p.setFont(small)
        w = self.width()
        for pitch in range(vp.pitch_at(r.bottom()), vp.pitch_at(r.top()) + 1):
            y = vp.y_of(pitch)
            black = is_black(pitch)
            colour = QColor(theme.ACCENT) if pitch in self.lit else \
                QColor("#2a2d33") if black else QColor("#e8eaee")
            p.fillRect(QRectF(0, y, w * (0.62 if black else 1.0), vp.row_height - 1), colour)
            if black:
                p.fillRect(QRectF(w * 0.62, y, w * 0.38, vp.row_height - 1),
                           QColor("#e8eaee"))
            if pitch % 12 == 0:
                p.setPen(QPen(QColor("#1a1c20")))
                p.drawLine(0, round(y + vp.row_height - 1), w, round(y + vp.row_height - 1))
                if vp.row_height >= 8:
                    p.setPen(QColor("#5d636b"))
                    p.drawText(QRectF(0, y, w - 4, vp.row_height),
                               int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                               note_name(pitch))
        p.end()

    def set_lit(self, pitch: int, on: bool) -> None:
        (self.lit.add if on else self.lit.discard)(pitch)
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press(self.viewport.pitch_at(event.position().y()), event.position().x())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._held is not None:
            pitch = self.viewport.pitch_at(event.position().y())
            if pitch != self._held:
                self._release()
                self._press(pitch, event.position().x())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._release()

    def _press(self, pitch: int, x: float) -> None:
        self._held = pitch
        # Further right on a key plays louder, as deeper on a real key.
        velocity = max(30, min(127, round(40 + 87 * x / max(1, self.width()))))
        self.set_lit(pitch, True)
        self.note_pressed.emit(pitch, velocity)

    def _release(self) -> None:
        pitch, self._held = self._held, None
        if pitch is not None:
            self.set_lit(pitch, False)
            self.note_released.emit(pitch)
