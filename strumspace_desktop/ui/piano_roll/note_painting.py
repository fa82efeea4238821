"""Batch painting of a clip's notes.

Per-note Python work happens only when the notes, the selection or the zoom
change: then every note becomes a content-space QRectF in one of a few groups
(velocity shades, selected), each sorted by left edge. A paint is then one
`QPainter.drawRects` per group, restricted by bisection to the notes that can
reach the repainted strip, so a playhead strip costs almost nothing and a full
repaint of 10,000 notes stays a handful of C++ calls.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from strumspace_desktop.core.document import Note
from strumspace_desktop.ui import theme

from .viewport import PITCHES

VELOCITY_SHADES = 8
MIN_NOTE_PX = 2.0  # a very short note is still visible and clickable


class NoteGroup:
    __slots__ = ("brush", "lefts", "max_width", "pen", "rects")

    def __init__(self, brush: QBrush, pen: QPen) -> None:
        self.brush = brush
        self.pen = pen
        self.rects: list[QRectF] = []
        self.lefts: list[float] = []
        self.max_width = 0.0


def velocity_colour(base: QColor, velocity: int) -> QColor:
    """Soft notes dim towards the background, loud ones light up."""
    t = max(0.0, min(1.0, (velocity - 1) / 126))
    bg = QColor(theme.BACKGROUND)
    mix = 0.35 + 0.65 * t
    return QColor(
        round(bg.red() + (base.red() - bg.red()) * mix),
        round(bg.green() + (base.green() - bg.green()) * mix),
        round(bg.blue() + (base.blue() - bg.blue()) * mix),
    )


class NoteLayer:
    """The cached rectangles of one clip's notes at one zoom."""

    def __init__(self) -> None:
        self.groups: list[NoteGroup] = []
        self.count = 0
        self._key: tuple[object, ...] | None = None

    def is_current(self, key: tuple[object, ...]) -> bool:
        return key == self._key

    def build(self, key: tuple[object, ...], notes: Mapping[str, Note], selection: set[str],
              px_per_tick: float, row_height: float, colour: QColor) -> None:
        self._key = key
        outline = QPen(QColor(0, 0, 0, 150), 1)
        outline.setCosmetic(True)
        groups = [NoteGroup(QBrush(velocity_colour(colour, round(1 + 126 * (i + 0.5)
                                                                  / VELOCITY_SHADES))), outline)
                  for i in range(VELOCITY_SHADES)]
        selected_pen = QPen(QColor("#ffffff"), 1)
        selected_pen.setCosmetic(True)
        selected = NoteGroup(QBrush(QColor(theme.LOOP_AMBER)), selected_pen)
        groups.append(selected)
        h = max(1.0, row_height - 1.0)
        top = PITCHES - 1
        for nid, n in sorted(notes.items(), key=lambda kv: kv[1].start):
            g = selected if nid in selection else groups[
                min(VELOCITY_SHADES - 1, (n.velocity - 1) * VELOCITY_SHADES // 127)]
            w = max(MIN_NOTE_PX, n.length * px_per_tick)
            x = n.start * px_per_tick
            g.rects.append(QRectF(x, (top - n.pitch) * row_height, w, h))
            g.lefts.append(x)
            if w > g.max_width:
                g.max_width = w
        self.groups = [g for g in groups if g.rects]
        self.count = len(notes)

    def paint(self, p: QPainter, x0: float, x1: float) -> int:
        """Draw the notes that reach content x range [x0, x1]; returns how many."""
        drawn = 0
        for g in self.groups:
            lo = bisect_left(g.lefts, x0 - g.max_width)
            hi = bisect_right(g.lefts, x1)
            if hi <= lo:
                continue
            p.setPen(g.pen)
            p.setBrush(g.brush)
            p.drawRects(g.rects if lo == 0 and hi == len(g.rects) else g.rects[lo:hi])
            drawn += hi - lo
        return drawn

    def paint_labels(self, p: QPainter, notes: Mapping[str, Note], x0: float, x1: float,
                     px_per_tick: float, row_height: float, names: tuple[str, ...]) -> None:
        """Note names inside wide notes (only called when few notes are on screen)."""
        p.setPen(QColor(0, 0, 0, 200))
        top = PITCHES - 1
        flags = int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        for n in notes.values():
            x = n.start * px_per_tick
            w = n.length * px_per_tick
            if w < 26 or x > x1 or x + w < x0:
                continue
            p.drawText(QRectF(x + 3, (top - n.pitch) * row_height, w - 4, row_height - 1),
                       flags, f"{names[n.pitch % 12]}{n.pitch // 12 - 1}")
