"""Geometry of the arrangement canvas: where lanes, clips and chords are drawn, and
what lies under a point (for the gestures)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QPointF, QRectF

from strumspace_desktop.core.document import ChordItem
from strumspace_desktop.ui.arrange.model import ArrangeModel, ClipView, Lane, Timeline
from strumspace_desktop.ui.arrange.ruler import LOOP_ZONE
from strumspace_desktop.ui.track_list import HEADER_HEIGHT, ROW_HEIGHT

EDGE_PX = 6  # how close to a clip's edge a press resizes instead of moving
CLIP_MARGIN = 2

HitKind = Literal["loop", "punch", "clip", "clip_left", "clip_right", "chord", "chord_left",
                  "chord_right", "lane", "empty"]


@dataclass(frozen=True, slots=True)
class Hit:
    kind: HitKind
    lane: Lane | None = None
    clip_id: str = ""
    chord_id: str = ""


def lane_top(index: int) -> int:
    return HEADER_HEIGHT + index * ROW_HEIGHT


def lane_at(model: ArrangeModel, y: float) -> Lane | None:
    if y < HEADER_HEIGHT:
        return None
    i = int((y - HEADER_HEIGHT) // ROW_HEIGHT)
    return model.lanes[i] if 0 <= i < len(model.lanes) else None


def lane_index_at(y: float) -> int:
    """The lane index under y, even past the last lane (for drags between lanes)."""
    return int((y - HEADER_HEIGHT) // ROW_HEIGHT)


def span_rect(tl: Timeline, lane_index: int, start: float, end: float) -> QRectF:
    x0, x1 = tl.x_of(start), tl.x_of(end)
    return QRectF(x0, lane_top(lane_index) + CLIP_MARGIN, max(1.0, x1 - x0),
                  ROW_HEIGHT - 2 * CLIP_MARGIN)


def clip_rect(tl: Timeline, lane: Lane, cv: ClipView) -> QRectF:
    return span_rect(tl, lane.index, cv.clip.start, cv.clip.end)


def chord_rect(tl: Timeline, lane: Lane, item: ChordItem) -> QRectF:
    return span_rect(tl, lane.index, item.start, item.end)


def _edge(rect: QRectF, x: float) -> Literal["left", "right", ""]:
    if rect.width() < 3 * EDGE_PX:
        return "right" if x > rect.right() - EDGE_PX / 2 else ""
    if x < rect.left() + EDGE_PX:
        return "left"
    if x > rect.right() - EDGE_PX:
        return "right"
    return ""


def hit_test(model: ArrangeModel, tl: Timeline, visible: list[ClipView],
             pos: QPointF) -> Hit:
    if pos.y() < HEADER_HEIGHT:
        return Hit("loop" if pos.y() < LOOP_ZONE[1] else "punch")
    lane = lane_at(model, pos.y())
    if lane is None:
        return Hit("empty")
    if lane.track.kind == "chord":
        for cid, item in reversed(list(model.chords.get(lane.track.id, {}).items())):
            r = chord_rect(tl, lane, item)
            if r.contains(pos):
                edge = _edge(r, pos.x())
                kind: HitKind = "chord_left" if edge == "left" else (
                    "chord_right" if edge == "right" else "chord")
                return Hit(kind, lane, chord_id=cid)
        return Hit("lane", lane)
    for cv in reversed(visible):  # the last drawn is on top
        if cv.clip.track_id != lane.track.id:
            continue
        r = clip_rect(tl, lane, cv)
        if r.contains(pos):
            edge = _edge(r, pos.x())
            kind = "clip_left" if edge == "left" else ("clip_right" if edge == "right"
                                                        else "clip")
            return Hit(kind, lane, clip_id=cv.clip.id)
    return Hit("lane", lane)
