"""A slider that edits one value with whole gestures, for faders, pan and parameters.

Unlike QSlider it never jumps on a click in its groove (a stray click must not
change a mix): a press starts a relative drag (Shift for fine control), the
release ends it. Each gesture is bracketed by `gesture_started` and
`gesture_finished`, so the owner makes it one undo step; a double-click resets the
value to its default, the arrow keys and the wheel nudge it (each its own gesture).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from strumspace_desktop.ui import theme
from strumspace_desktop.ui.mixer.scales import Mapping

FINE = 0.1  # Shift: a tenth of the speed
KEY_STEP = 0.01  # arrow keys and one wheel notch, in position units
HANDLE = 12  # the handle's length along the travel, in pixels


class GestureSlider(QWidget):
    gesture_started = Signal()
    value_changed = Signal(float)  # by the user only, never by set_value
    gesture_finished = Signal()

    def __init__(self, mapping: Mapping, default: float, *,
                 orientation: Qt.Orientation = Qt.Orientation.Horizontal,
                 centred: bool = False, formatter: Callable[[float], str] = str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mapping = mapping
        self.default = default
        self.orientation = orientation
        self.centred = centred  # the fill starts in the middle (pan)
        self.formatter = formatter
        self.colour = QColor(theme.ACCENT)
        self._pos = mapping.to_pos(default)
        self._value = default
        self._drag: tuple[float, float] | None = None  # press coordinate, position then
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        if orientation == Qt.Orientation.Horizontal:
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        else:
            self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self._tip()

    # Value --------------------------------------------------------------------------------
    @property
    def value(self) -> float:
        return self._value

    @property
    def position(self) -> float:
        return self._pos

    @property
    def dragging(self) -> bool:
        return self._drag is not None

    def set_value(self, value: float) -> None:
        """Show a value from the document (no signal)."""
        pos = self.mapping.to_pos(value)
        if value == self._value and pos == self._pos:
            return
        self._value = value
        if self._drag is None or abs(pos - self._pos) > 1e-9:
            self._pos = pos
        self._tip()
        self.update()

    def _user_pos(self, pos: float) -> None:
        pos = min(1.0, max(0.0, pos))
        if pos == self._pos:
            return
        self._pos = pos
        self._value = self.mapping.to_value(pos)
        self._tip()
        self.update()
        self.value_changed.emit(self._value)

    def _one_step(self, change: Callable[[], None]) -> None:
        self.gesture_started.emit()
        try:
            change()
        finally:
            self.gesture_finished.emit()

    def reset(self) -> None:
        """The default value, as one gesture (double-click)."""
        def to_default() -> None:
            self._pos = self.mapping.to_pos(self.default)
            self._value = self.default
            self._tip()
            self.update()
            self.value_changed.emit(self._value)

        self._one_step(to_default)

    def _tip(self) -> None:
        self.setToolTip(f"{self.formatter(self._value)} (double-click: "
                        f"{self.formatter(self.default)}; Shift-drag: fine)")

    # Geometry -------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(120, 18) if self.orientation == Qt.Orientation.Horizontal \
            else QSize(24, 160)

    def travel(self) -> tuple[float, float]:
        """Pixel coordinates (along the travel) of position 0 and position 1."""
        if self.orientation == Qt.Orientation.Horizontal:
            return HANDLE / 2, self.width() - HANDLE / 2
        return self.height() - HANDLE / 2, HANDLE / 2

    def point_of(self, pos: float) -> QPointF:
        """Where position `pos` lies on the widget (the handle's centre then)."""
        a, b = self.travel()
        along = a + (b - a) * pos
        if self.orientation == Qt.Orientation.Horizontal:
            return QPointF(along, self.height() / 2)
        return QPointF(self.groove_x(), along)

    def groove_x(self) -> float:
        return self.width() / 2

    def _coord(self, p: QPointF) -> float:
        return p.x() if self.orientation == Qt.Orientation.Horizontal else p.y()

    # Input ------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self.isEnabled():
            event.ignore()
            return
        self._drag = (self._coord(event.position()), self._pos)
        self.gesture_started.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            return
        start, pos0 = self._drag
        a, b = self.travel()
        delta = (self._coord(event.position()) - start) / (b - a if b != a else 1.0)
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            delta *= FINE
        self._user_pos(pos0 + delta)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag = None
            self.gesture_finished.emit()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self.isEnabled():
            return
        if self._drag is not None:  # the second press of a double-click began a drag
            self._drag = None
            self.gesture_finished.emit()
        self.reset()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        up = (Qt.Key.Key_Up, Qt.Key.Key_Right, Qt.Key.Key_PageUp)
        down = (Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_PageDown)
        key = event.key()
        step = KEY_STEP * (10 if key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown) else 1)
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            step *= FINE
        if key in up and self._drag is None:
            self._one_step(lambda: self._user_pos(self._pos + step))
        elif key in down and self._drag is None:
            self._one_step(lambda: self._user_pos(self._pos - step))
        elif key in (Qt.Key.Key_Home, Qt.Key.Key_Delete, Qt.Key.Key_Backspace) \
                and self._drag is None:
            self.reset()
        else:
            super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120
        if not notches or self._drag is not None or not self.isEnabled():
            event.ignore()
            return
        step = KEY_STEP * notches
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            step *= FINE
        self._one_step(lambda: self._user_pos(self._pos + step))
        event.accept()

    # Painting ---------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        enabled = self.isEnabled()
        groove = QColor("#15171a")
        fill = QColor(self.colour) if enabled else QColor(theme.DIM_TEXT)
        start = self.point_of(0.5 if self.centred else 0.0)
        here = self.point_of(self._pos)
        if self.orientation == Qt.Orientation.Horizontal:
            a, b = self.travel()
            cy = self.height() / 2
            p.fillRect(QRectF(a, cy - 2, b - a, 4), groove)
            x0, x1 = sorted((start.x(), here.x()))
            p.fillRect(QRectF(x0, cy - 2, x1 - x0, 4), fill)
            handle = QRectF(here.x() - HANDLE / 2, cy - 7, HANDLE, 14)
        else:
            gx = self.groove_x()
            b, a = self.travel()
            p.fillRect(QRectF(gx - 2, a, 4, b - a), groove)
            y0, y1 = sorted((start.y(), here.y()))
            p.fillRect(QRectF(gx - 2, y0, 4, y1 - y0), fill)
            handle = QRectF(gx - 11, here.y() - HANDLE / 2, 22, HANDLE)
        p.setPen(QColor(theme.BORDER))
        p.setBrush(QColor("#d6dae0") if enabled else QColor("#5d636b"))
        p.drawRoundedRect(handle, 2, 2)
        if self.orientation == Qt.Orientation.Vertical:
            p.setPen(QColor("#30343a"))
            p.drawLine(QPointF(handle.left() + 3, here.y()), QPointF(handle.right() - 3, here.y()))
        if self.hasFocus():
            p.setPen(QColor(theme.ACCENT))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        p.end()
