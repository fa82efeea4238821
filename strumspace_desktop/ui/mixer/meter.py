"""A peak meter: one bar per channel in dB, a peak-hold line and a clip lamp.

Its scale is the volume fader's (same taper, same travel), so a level lines up
with the fader scale's label beside it.

The engine's peaks already decay per block; this widget only holds the highest
value for a moment and latches the clip lamp (a click clears it). It repaints
only itself, and only when what it shows moved by a pixel, so a whole mixer
metering at the status rate stays cheap.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from strumspace_desktop.ui import theme
from strumspace_desktop.ui.mixer.gesture_slider import HANDLE
from strumspace_desktop.ui.mixer.scales import FADER_BOTTOM_DB, FaderTaper

HOLD_S = 1.5
CLIP_LINEAR = 1.0  # 0 dBFS
CLIP_LAMP = HANDLE // 2 - 1  # pixels; the bars span the fader's travel beside it


_TAPER = FaderTaper()
_BACK = QColor("#121417")
_UNLIT = QColor("#1b1e22")
_HOLD = QColor(theme.TEXT)
_HOLD_OVER = QColor(theme.RECORD_RED)
_ZERO_LINE = QColor(theme.DIM_TEXT)
_CLIP_ON = QColor(theme.RECORD_RED)
_CLIP_OFF = QColor("#3a3f46")


def to_db(linear: float) -> float:
    if not math.isfinite(linear) or linear <= 0.0:
        return -math.inf
    return 20.0 * math.log10(linear)


class PeakMeter(QWidget):
    def __init__(self, channels: int = 2, clock: Callable[[], float] = time.monotonic,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channels = channels
        self._clock = clock
        self.levels_db = [-math.inf] * channels
        self.hold_db = [-math.inf] * channels
        self._hold_until = [0.0] * channels
        self.clipped = False
        self.repaints = 0  # for the benchmark and tests: how often it asked to repaint
        self._shown: tuple[object, ...] = ()
        self._lit: QPixmap | None = None
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(80)
        self.setFixedWidth(5 * channels + 4)
        self.setToolTip("Peak level (click to clear the clip lamp)")
        # It paints every pixel: Qt need not repaint the strip behind it first.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)

    def sizeHint(self) -> QSize:
        return QSize(5 * self.channels + 4, 180)

    def set_levels(self, levels: Sequence[float]) -> None:
        """Linear peaks, one per channel (the engine's decaying post-fader peaks)."""
        now = self._clock()
        for i in range(self.channels):
            linear = float(levels[i]) if i < len(levels) else 0.0
            db = to_db(linear)
            self.levels_db[i] = db
            if db >= self.hold_db[i] or now >= self._hold_until[i]:
                self.hold_db[i] = db
                self._hold_until[i] = now + HOLD_S
            if linear >= CLIP_LINEAR:
                self.clipped = True
        self._repaint_if_moved()

    def clear_clip(self) -> None:
        self.clipped = False
        self._repaint_if_moved()

    def reset(self) -> None:
        self.levels_db = [-math.inf] * self.channels
        self.hold_db = [-math.inf] * self.channels
        self.clipped = False
        self._repaint_if_moved()

    def _bar_area(self) -> QRectF:
        return QRectF(0, HANDLE / 2, self.width(), max(1.0, self.height() - HANDLE))

    def y_of(self, db: float) -> float:
        area = self._bar_area()
        return area.bottom() - _TAPER.to_pos(db) * area.height()

    def _repaint_if_moved(self) -> None:
        shown = (tuple(round(self.y_of(d)) for d in self.levels_db),
                 tuple(round(self.y_of(d)) for d in self.hold_db), self.clipped)
        if shown != self._shown:
            self._shown = shown
            self.repaints += 1
            self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clear_clip()

    def _lit_bars(self) -> QPixmap:
        """The bars fully lit, drawn once per size: a repaint copies part of it."""
        if self._lit is not None and self._lit.size() == self.size():
            return self._lit
        pix = QPixmap(self.size())
        pix.fill(QColor(_BACK))
        area = self._bar_area()
        top, bottom = area.top(), area.bottom()
        grad = QLinearGradient(0, top, 0, bottom)

        def at(db: float) -> float:
            return (self.y_of(db) - top) / max(1.0, bottom - top)

        grad.setColorAt(0.0, QColor(theme.RECORD_RED))
        grad.setColorAt(at(0.0), QColor(theme.RECORD_RED))
        grad.setColorAt(at(-3.0), QColor(theme.LOOP_AMBER))
        grad.setColorAt(at(-12.0), QColor(theme.PLAY_GREEN))
        grad.setColorAt(1.0, QColor("#2f8f52"))
        p = QPainter(pix)
        p.fillRect(QRectF(0, top, self.width(), area.height()), grad)
        p.end()
        self._lit = pix
        return pix

    def paintEvent(self, event: QPaintEvent) -> None:
        lit = self._lit_bars()
        p = QPainter(self)
        area = self._bar_area()
        p.fillRect(QRectF(self.rect()), _BACK)
        bar_w = (self.width() - 2 - (self.channels - 1)) / self.channels
        for i in range(self.channels):
            x = 1 + i * (bar_w + 1)
            p.fillRect(QRectF(x, area.top(), bar_w, area.height()), _UNLIT)
            top = self.y_of(self.levels_db[i])
            if top < area.bottom():
                part = QRectF(x, top, bar_w, area.bottom() - top)
                p.drawPixmap(part, lit, part)
            hold = self.hold_db[i]
            if hold > FADER_BOTTOM_DB:
                p.fillRect(QRectF(x, self.y_of(hold) - 1, bar_w, 2),
                           _HOLD_OVER if hold >= 0 else _HOLD)
        # 0 dBFS line, then the clip lamp.
        p.fillRect(QRectF(0, self.y_of(0.0), self.width(), 1), _ZERO_LINE)
        p.fillRect(QRectF(1, 0, self.width() - 2, CLIP_LAMP),
                   _CLIP_ON if self.clipped else _CLIP_OFF)
        p.end()
