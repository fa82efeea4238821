"""The bar/beat ruler above the lanes, and the grid lines below it.

Bars follow the song's meters (TimeSignatureMap), so a 3/4 bar is shorter than a
4/4 one; meter and tempo changes are labelled where they happen. The ruler's top
half holds the loop range, its bottom half the punch range: dragging in a half
sets that range, a click locates the playhead.
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from strumspace_desktop.core.timing import TimeSignatureMap
from strumspace_desktop.ui import theme
from strumspace_desktop.ui.arrange.model import ArrangeModel, Timeline
from strumspace_desktop.ui.track_list import HEADER_HEIGHT

LOOP_ZONE = (0, HEADER_HEIGHT // 2)
PUNCH_ZONE = (HEADER_HEIGHT // 2, HEADER_HEIGHT)
PUNCH_RED = "#e05555"
MIN_LABEL_PX = 28  # bar numbers closer than this are thinned out
LANE_COLOUR = "#202327"


def bar_lines(meters: TimeSignatureMap, tl: Timeline, x_from: float,
              x_to: float) -> Iterator[tuple[int, int]]:
    """(0-based bar, start tick) of each bar line between two x positions."""
    first = meters.bbt_at_tick(max(0.0, tl.tick_at(x_from))).bar - 1
    bar = max(0, first)
    while True:
        tick = meters.bar_start_tick(bar)
        if tl.x_of(tick) > x_to:
            return
        yield bar, tick
        bar += 1


def label_every(meters: TimeSignatureMap, tl: Timeline) -> int:
    bar_px = meters.meter_at_bar(0).ticks_per_bar * tl.px_per_tick
    n = 1
    while bar_px * n < MIN_LABEL_PX:
        n *= 2
    return n


def _over_lane(alpha: int) -> QColor:
    """White at `alpha` over the lane colour, as an opaque colour: opaque lines draw
    several times faster than blended ones, and the grid is most of a frame's lines."""
    lane = QColor(LANE_COLOUR)
    a = alpha / 255
    return QColor(*(round(c + (255 - c) * a) for c in (lane.red(), lane.green(), lane.blue())))


BAR_LINE = _over_lane(40)
BEAT_LINE = _over_lane(14)


def paint_grid(p: QPainter, model: ArrangeModel, tl: Timeline, rect: QRectF,
               top: float) -> None:
    """Bar lines strong, beat lines faint (when they are far enough apart), each kind
    drawn in one batch."""
    bottom = rect.bottom()
    y0 = max(top, rect.top())
    bars: list[QLineF] = []
    beats: list[QLineF] = []
    for bar, tick in bar_lines(model.meters, tl, rect.left() - 1, rect.right() + 1):
        meter = model.meters.meter_at_bar(bar)
        x = round(tl.x_of(tick)) + 0.5
        bars.append(QLineF(x, y0, x, bottom))
        if meter.ticks_per_beat * tl.px_per_tick >= 8:
            for b in range(1, meter.numerator):
                bx = round(tl.x_of(tick + b * meter.ticks_per_beat)) + 0.5
                beats.append(QLineF(bx, y0, bx, bottom))
    p.setPen(QPen(BEAT_LINE, 1))
    p.drawLines(beats)
    p.setPen(QPen(BAR_LINE, 1))
    p.drawLines(bars)


def paint_ruler(p: QPainter, model: ArrangeModel, tl: Timeline, width: int,
                loop: tuple[int, int, bool] | None,
                punch: tuple[int, int, bool] | None) -> None:
    p.fillRect(0, 0, width, HEADER_HEIGHT, QColor(theme.PANEL))
    p.fillRect(0, HEADER_HEIGHT - 1, width, 1, QColor(theme.BORDER))
    for rng, colour, (y0, y1) in ((loop, theme.LOOP_AMBER, LOOP_ZONE),
                                  (punch, PUNCH_RED, PUNCH_ZONE)):
        if rng is None or rng[1] <= rng[0]:
            continue
        band = QColor(colour)
        band.setAlpha(150 if rng[2] else 55)
        x0, x1 = tl.x_of(rng[0]), tl.x_of(rng[1])
        p.fillRect(QRectF(x0, y0 + 2, x1 - x0, y1 - y0 - 4), band)
    every = label_every(model.meters, tl)
    p.setPen(QColor(theme.DIM_TEXT))
    for bar, tick in bar_lines(model.meters, tl, -MIN_LABEL_PX, width):
        x = round(tl.x_of(tick))
        p.drawLine(x, HEADER_HEIGHT - 8, x, HEADER_HEIGHT - 1)
        if bar % every == 0:
            p.drawText(QRectF(x + 3, 0, 60, LOOP_ZONE[1] + 2),
                       int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                       str(bar + 1))
    # Meter and tempo changes after the start, in the lower half.
    small = p.font()
    small.setPointSizeF(max(6.0, small.pointSizeF() - 2))
    p.setFont(small)
    labels: dict[int, list[str]] = {}
    for change in model.meters.changes[1:]:
        tick = model.meters.bar_start_tick(change.bar)
        labels.setdefault(tick, []).append(f"{change.numerator}/{change.denominator}")
    for tc in model.tempo.changes[1:]:
        labels.setdefault(tc.tick, []).append(f"♩{tc.bpm:g}")
    for at, parts in labels.items():
        lx = tl.x_of(at)
        if -60 < lx < width:
            p.drawText(QRectF(lx + 3, PUNCH_ZONE[0], 80, PUNCH_ZONE[1] - PUNCH_ZONE[0]),
                       int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                       " ".join(parts))
