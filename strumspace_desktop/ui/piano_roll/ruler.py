"""The ruler above the grid: bar numbers, the clip's extent, the loop and the playhead."""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from strumspace_desktop.ui import theme

from .note_grid import NoteGrid

RULER_HEIGHT = 22


class Ruler(QWidget):
    locate_requested = Signal(int)  # song tick

    def __init__(self, grid: NoteGrid, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = grid  # shares its clip, meters, loop and playhead
        self._playhead: float | None = None
        self.setFixedHeight(RULER_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setToolTip("Click to move the playhead")
        grid.viewport.changed.connect(lambda _zoomed: self.update())

    def playhead_moved(self) -> None:
        old, new = self._playhead, self.grid.playhead
        self._playhead = new
        for t in (old, new):
            if t is not None:
                x = round(self.grid.viewport.x_of(t))
                self.update(QRect(x - 6, 0, 13, self.height()))

    def paintEvent(self, event: QPaintEvent) -> None:
        g, vp = self.grid, self.grid.viewport
        r = event.rect()
        h = self.height()
        p = QPainter(self)
        p.fillRect(r, QColor(theme.PANEL))
        # The clip itself is lighter than what lies outside it.
        x_end = vp.x_of(g.clip_length)
        p.fillRect(QRectF(vp.x_of(0), 0, x_end - vp.x_of(0), h), QColor("#2c3440"))
        p.fillRect(QRectF(x_end - 1, 0, 2, h), QColor(theme.ACCENT))
        if g.loop is not None:
            lx0, lx1 = vp.x_of(g.loop[0]), vp.x_of(g.loop[1])
            band = QColor(theme.LOOP_AMBER)
            band.setAlpha(90)
            p.fillRect(QRectF(lx0, 2, lx1 - lx0, 6), band)
        t0 = math.floor(vp.tick_at(r.left() - 40)) + g.clip_start
        t1 = math.ceil(vp.tick_at(r.right() + 1)) + g.clip_start
        bar = g.meters.bbt_at_tick(max(0, t0)).bar - 1
        p.setPen(QColor(theme.DIM_TEXT))
        flags = int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        min_gap = 0.0
        while (start := g.meters.bar_start_tick(bar)) <= t1:
            x = vp.x_of(start - g.clip_start)
            if x >= min_gap - 1:
                p.drawLine(QLineF(x + 0.5, h - 8, x + 0.5, h))
                p.drawText(QRectF(x + 3, 0, 40, h - 2), flags, str(bar + 1))
                min_gap = x + 28  # keep numbers apart when zoomed out
            bar += 1
        p.fillRect(r.left(), h - 1, r.width(), 1, QColor(theme.BORDER))
        if g.playhead is not None:
            x = vp.x_of(g.playhead)
            colour = QColor(theme.PLAY_GREEN if g.playing else theme.ACCENT)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawPolygon(QPolygonF([QPointF(x - 5, h - 9), QPointF(x + 5, h - 9),
                                     QPointF(x, h)]))
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            tick = round(self.grid.viewport.tick_at(event.position().x()))
            self.locate_requested.emit(max(0, tick + self.grid.clip_start))
