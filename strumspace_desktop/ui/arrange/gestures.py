"""Mouse gestures of the arrangement: select, move, copy, resize, split, rubber band,
loop and punch ranges on the ruler, and the chord lane's items.

A drag is previewed (the canvas draws ghosts) and written to the document once,
on release, as one undo step. Snapping follows the grid; Alt or Shift held while
dragging bypasses it. Ctrl+drag copies; Ctrl-click and Shift-click extend the
selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt

from strumspace_desktop.core.document import ChordItem, DocumentError, MidiClip
from strumspace_desktop.ui.arrange import edits
from strumspace_desktop.ui.arrange.grid import snap
from strumspace_desktop.ui.arrange.hits import Hit, chord_rect, clip_rect, hit_test, lane_index_at

if TYPE_CHECKING:
    from strumspace_desktop.ui.arrange.canvas import ArrangeCanvas

DRAG_START_PX = 4
Mods = Qt.KeyboardModifier


@dataclass
class Drag:
    hit: Hit
    press: QPointF
    mods: Qt.KeyboardModifier
    started: bool = False
    pos: QPointF = field(default_factory=QPointF)
    # Previews the canvas draws while the drag lasts.
    delta: int = 0  # ticks
    lane_delta: int = 0
    range: tuple[int, int] | None = None  # loop, punch, chord or resize span


class Gestures:
    def __init__(self, canvas: ArrangeCanvas) -> None:
        self.c = canvas
        self.drag: Drag | None = None

    # Snapping ----------------------------------------------------------------------------
    def snapped(self, tick: float, mods: Qt.KeyboardModifier) -> int:
        if mods & (Mods.AltModifier | Mods.ShiftModifier):
            return max(0, round(tick))
        return snap(tick, self.c.grid, self.c.model.meters)

    # Press -------------------------------------------------------------------------------
    def press(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        c = self.c
        hit = hit_test(c.model, c.timeline, c.visible_clips(), pos)
        self.drag = Drag(hit, QPointF(pos), mods, pos=QPointF(pos))
        extend = bool(mods & (Mods.ShiftModifier | Mods.ControlModifier))
        if hit.kind in ("clip", "clip_left", "clip_right"):
            if c.tool == "split" and c.editable:
                self.drag = None
                self._split_at(hit.clip_id, c.timeline.tick_at(pos.x()), mods)
                return
            if hit.clip_id not in c.selected:
                c.select(clips={hit.clip_id}, chords=set(), extend=extend)
            elif mods & Mods.ShiftModifier and not mods & Mods.ControlModifier:
                pass  # already selected: keep it so the drag moves the whole selection
        elif hit.kind in ("chord", "chord_left", "chord_right"):
            assert hit.lane is not None
            ref = (hit.lane.track.id, hit.chord_id)
            if ref not in c.selected_chords:
                c.select(clips=set(), chords={ref}, extend=extend)

    # Move --------------------------------------------------------------------------------
    def move(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        d = self.drag
        if d is None:
            return
        if not d.started:
            if (pos - d.press).manhattanLength() < DRAG_START_PX:
                return
            d.started = True
        d.pos = QPointF(pos)
        c, kind = self.c, d.hit.kind
        tl = c.timeline
        here = tl.tick_at(pos.x())
        if kind in ("loop", "punch"):
            a = self.snapped(tl.tick_at(d.press.x()), mods)
            b = self.snapped(here, mods)
            d.range = (min(a, b), max(a, b))
        elif kind in ("clip", "chord") and c.editable:
            d.delta = self._snapped_delta(d, here, mods)
            if kind == "clip":
                d.lane_delta = lane_index_at(pos.y()) - lane_index_at(d.press.y())
        elif kind in ("clip_left", "clip_right", "chord_left", "chord_right") and c.editable:
            d.range = self._resize_span(d, self.snapped(here, mods))
        c.update()

    def _snapped_delta(self, d: Drag, here: float, mods: Qt.KeyboardModifier) -> int:
        """The drag's distance, snapped so the grabbed item's start lands on the grid."""
        start = self._grabbed_span(d)[0]
        raw = here - self.c.timeline.tick_at(d.press.x())
        return self.snapped(start + raw, mods) - start

    def _grabbed_span(self, d: Drag) -> tuple[int, int]:
        c = self.c
        if d.hit.clip_id:
            clip = c.model.clips[d.hit.clip_id].clip
            return clip.start, clip.end
        item = self._chord(d)
        return (item.start, item.end) if item is not None else (0, 0)

    def _chord(self, d: Drag) -> ChordItem | None:
        lane = d.hit.lane
        if lane is None:
            return None
        return self.c.model.chords.get(lane.track.id, {}).get(d.hit.chord_id)

    def _resize_span(self, d: Drag, tick: int) -> tuple[int, int]:
        start, end = self._grabbed_span(d)
        if d.hit.kind.endswith("left"):
            return min(tick, end - 1), end
        return start, max(tick, start + 1)

    # Release -----------------------------------------------------------------------------
    def release(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        d, self.drag = self.drag, None
        if d is None:
            return
        c = self.c
        try:
            if not d.started:
                self._click(d, pos)
            else:
                self._commit(d)
        except DocumentError as exc:
            c.problem(f"That edit was refused: {exc}")
        c.update()

    def _click(self, d: Drag, pos: QPointF) -> None:
        c, kind = self.c, d.hit.kind
        if kind in ("loop", "punch"):
            c.locate(self.snapped(c.timeline.tick_at(pos.x()), d.mods))
        elif kind in ("lane", "empty"):
            if not d.mods & (Mods.ShiftModifier | Mods.ControlModifier):
                c.select(clips=set(), chords=set())
        elif kind.startswith("clip") and d.mods & Mods.ControlModifier:
            c.toggle_clip(d.hit.clip_id)  # Ctrl-click without a drag toggles
        elif kind.startswith("clip") and not d.mods & Mods.ShiftModifier:
            c.select(clips={d.hit.clip_id}, chords=set())

    def _commit(self, d: Drag) -> None:
        c, kind = self.c, d.hit.kind
        doc, model = c.document, c.model
        if kind in ("lane", "empty"):
            self._rubber_band(d)
            return
        if kind == "loop" and d.range is not None and d.range[1] > d.range[0]:
            with doc.undo_group():
                doc.set_loop(d.range[0], d.range[1], True)
            return
        if kind == "punch" and d.range is not None and d.range[1] > d.range[0]:
            with doc.undo_group():
                doc.set_punch(d.range[0], d.range[1], True)
            return
        if not c.editable:
            return
        if kind == "clip":
            copy = bool(d.mods & Mods.ControlModifier)
            if d.delta == 0 and d.lane_delta == 0 and not copy:
                return
            made = edits.move_clips(doc, model, sorted(c.selected), d.delta, d.lane_delta,
                                    copy=copy)
            c.select(clips=set(made), chords=set())
        elif kind in ("clip_left", "clip_right") and d.range is not None:
            if kind == "clip_left":
                edits.resize_clip(doc, model, d.hit.clip_id, "left", d.range[0])
            else:
                edits.resize_clip(doc, model, d.hit.clip_id, "right", d.range[1])
        elif kind == "chord" and d.delta:
            with doc.undo_group():
                for tid, cid in sorted(c.selected_chords):
                    item = model.chords.get(tid, {}).get(cid)
                    if item is not None:
                        edits.place_chord(doc, tid, cid, item, item.start + d.delta,
                                          item.end + d.delta)
        elif kind in ("chord_left", "chord_right") and d.range is not None:
            item = self._chord(d)
            if item is not None and d.hit.lane is not None:
                with doc.undo_group():
                    edits.place_chord(doc, d.hit.lane.track.id, d.hit.chord_id, item,
                                      *d.range)

    def _rubber_band(self, d: Drag) -> None:
        c = self.c
        band = QRectF(d.press, d.pos).normalized()
        clips = {cv.clip.id for cv in c.visible_clips()
                 if (lane := c.model.lane_of(cv.clip.track_id)) is not None
                 and clip_rect(c.timeline, lane, cv).intersects(band)}
        chords = {(lane.track.id, cid) for lane in c.model.lanes
                  for cid, item in c.model.chords.get(lane.track.id, {}).items()
                  if chord_rect(c.timeline, lane, item).intersects(band)}
        c.select(clips=clips, chords=chords,
                 extend=bool(d.mods & (Mods.ShiftModifier | Mods.ControlModifier)))

    def _split_at(self, clip_id: str, tick: float, mods: Qt.KeyboardModifier) -> None:
        try:
            made = edits.split_at(self.c.document, self.c.model, [clip_id],
                                  self.snapped(tick, mods))
        except DocumentError as exc:
            self.c.problem(f"The clip could not be split: {exc}")
            return
        self.c.select(clips={clip_id, *made}, chords=set())

    # Double-click ------------------------------------------------------------------------
    def double_click(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        c = self.c
        self.drag = None
        hit = hit_test(c.model, c.timeline, c.visible_clips(), pos)
        if hit.clip_id:
            if isinstance(c.model.clips[hit.clip_id].clip, MidiClip):
                c.open_clip_requested.emit(hit.clip_id)
            return
        lane = hit.lane
        if lane is None or not c.editable:
            return
        start = snap(c.timeline.tick_at(pos.x()), c.grid, c.model.meters, floor=True)
        bar = c.model.meters.meter_at_tick(start).ticks_per_bar
        try:
            if lane.track.kind == "chord":
                if hit.chord_id:
                    c.edit_chord_label(lane.track.id, hit.chord_id)
                else:
                    c.create_chord(lane.track.id, start, start + bar)
            elif lane.track.kind == "midi":
                with c.document.undo_group():
                    cid = c.document.add_midi_clip(lane.track.id, start, bar)
                c.select(clips={cid}, chords=set())
        except DocumentError as exc:
            c.problem(f"That edit was refused: {exc}")
