"""The volume fader: a vertical gesture slider in dB with its scale drawn beside it."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from strumspace_desktop.ui import theme
from strumspace_desktop.ui.mixer.gesture_slider import GestureSlider
from strumspace_desktop.ui.mixer.scales import SCALE_LABELS, FaderTaper, format_db

LABEL_WIDTH = 22


class VolumeFader(GestureSlider):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(FaderTaper(), 0.0, orientation=Qt.Orientation.Vertical,
                         formatter=format_db, parent=parent)
        self.setMinimumHeight(140)
        self._font = QFont(self.font())
        self._font.setPointSizeF(max(6.0, self._font.pointSizeF() - 2.5))

    def sizeHint(self) -> QSize:
        return QSize(LABEL_WIDTH + 26, 180)

    def groove_x(self) -> float:
        return LABEL_WIDTH + (self.width() - LABEL_WIDTH) / 2

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setFont(self._font)
        taper = FaderTaper()
        for db in SCALE_LABELS:
            y = self.point_of(taper.to_pos(db)).y()
            p.setPen(QColor(theme.TEXT if db == 0 else theme.DIM_TEXT))
            p.drawText(QRectF(0, y - 6, LABEL_WIDTH - 3, 12),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{db:+g}" if db else "0")
            p.setPen(QColor(theme.BORDER))
            p.drawLine(QPointF(LABEL_WIDTH - 1, y), QPointF(self.groove_x() - 6, y))
        p.end()
        super().paintEvent(event)
