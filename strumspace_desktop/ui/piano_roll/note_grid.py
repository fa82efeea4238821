"""The note grid: rows of pitches across time, the notes, and the editing gestures.

Painting draws only what the paint event asks for (a playhead strip, or all of
it on `repaint()`): rows, grid lines and notes are clipped to the event's rect,
and notes come from the `NoteLayer` cache as a few `drawRects` calls.
"""

from __future__ import annotations

import math
from typing import Literal

from PySide6.QtCore import QEvent, QLineF, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from strumspace_desktop.core.document import DocumentError, Note
from strumspace_desktop.core.timing import PPQ, TimeSignatureMap
from strumspace_desktop.ui import theme

from .editor import NoteEditor
from .gestures import (
    DrawGesture,
    EraseGesture,
    Gesture,
    MoveGesture,
    ResizeGesture,
    RubberBandGesture,
)
from .note_painting import NoteLayer
from .scales import CHROMATIC, KEY_NAMES, shaded_rows
from .snap import FREE_NOTE_LENGTH, snap_floor
from .viewport import Viewport

Tool = Literal["select", "draw", "erase"]
EDGE_PX = 5.0  # how close to a note's edge a press resizes instead of moving
DRAG_PX = 3.0  # how far the pointer must go before a press on a note drags it
LABELS_BELOW = 400  # note names are drawn only when this few notes are on screen
ROW_COLOUR = QColor("#24272c")
SHADED_ROW_COLOUR = QColor("#1a1c20")
ROOT_ROW_COLOUR = QColor("#27303c")
OUTSIDE_CLIP = QColor(0, 0, 0, 90)
_EDIT_KEYS = frozenset({Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_Up,
                        Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right,
                        Qt.Key.Key_Escape, Qt.Key.Key_A, Qt.Key.Key_C, Qt.Key.Key_X,
                        Qt.Key.Key_V, Qt.Key.Key_D})


class NoteGrid(QWidget):
    audition = Signal(int, int)  # pitch, velocity: a note was grabbed or drawn
    audition_end = Signal()
    message = Signal(str)  # why an edit did not happen (read-only, note out of range)

    def __init__(self, viewport: Viewport, editor: NoteEditor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewport = viewport
        self.editor = editor
        self.tool: Tool = "select"
        self.snap: int | None = PPQ // 4
        self.key_root = 0
        self.scale = CHROMATIC
        self.clip_start = 0  # song tick of the clip's start (bar lines follow the song)
        self.clip_length = PPQ * 16
        self.loop: tuple[int, int] | None = None  # clip-relative ticks
        self.meters = TimeSignatureMap.constant(4, 4)
        self.colour = QColor(theme.ACCENT)
        self.channel = 0  # the track's channel, given to drawn notes
        self.new_velocity = 100
        self.playhead: float | None = None  # clip-relative tick
        self.playing = False
        self.cursor_tick = 0  # where Paste puts the clipboard
        self.layer = NoteLayer()
        self.gesture: Gesture | None = None
        self._press_pos = QPointF()
        self._dragging = False
        self.paint_count = 0  # notes drawn by the last paint (for tests and benchmarks)
        self.paints = 0  # paint events so far
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setMinimumSize(120, 80)
        viewport.changed.connect(lambda _zoomed: self.update())

    # Geometry ---------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        self.viewport.set_size(self.width(), self.height())
        super().resizeEvent(event)

    def point_at(self, pos: QPointF) -> tuple[float, int]:
        vp = self.viewport
        return vp.tick_at(pos.x()), vp.pitch_at(pos.y())

    def note_rect(self, note: Note) -> QRectF:
        """Where a note is on screen (tests click on it)."""
        vp = self.viewport
        return QRectF(vp.x_of(note.start), vp.y_of(note.pitch),
                      max(2.0, note.length * vp.px_per_tick), vp.row_height - 1)

    # Playhead -------------------------------------------------------------------------------
    def set_playhead(self, tick: float | None, playing: bool) -> None:
        """Move the playhead, repainting only the strips it leaves and enters."""
        if tick == self.playhead and playing == self.playing:
            return
        old = self.playhead
        self.playhead, self.playing = tick, playing
        for t in (old, tick):
            if t is not None:
                x = round(self.viewport.x_of(t))
                if -3 <= x <= self.width() + 3:
                    self.update(QRect(x - 2, 0, 5, self.height()))

    # Painting -----------------------------------------------------------------------------
    def _ensure_layer(self) -> None:
        vp, ed = self.viewport, self.editor
        notes = ed.notes  # reads the document again if it changed
        key = (ed.revision, ed.selection_revision, vp.px_per_tick, vp.row_height,
               self.colour.rgba())
        if not self.layer.is_current(key):
            self.layer.build(key, notes, ed.selection, vp.px_per_tick, vp.row_height,
                             self.colour)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._ensure_layer()
        self.paints += 1
        vp = self.viewport
        r = event.rect()
        p = QPainter(self)
        p.setClipRect(r)
        x0, x1 = float(r.left()), float(r.right() + 1)
        self._paint_rows(p, r)
        self._paint_time_lines(p, x0, x1, r)
        # Outside the clip: shaded, notes there do not play.
        end_x = vp.x_of(self.clip_length)
        if end_x < x1:
            p.fillRect(QRectF(max(x0, end_x), r.top(), x1 - max(x0, end_x), r.height()),
                       OUTSIDE_CLIP)
        if self.loop is not None:
            lx0, lx1 = vp.x_of(self.loop[0]), vp.x_of(self.loop[1])
            band = QColor(theme.LOOP_AMBER)
            band.setAlpha(14)
            p.fillRect(QRectF(lx0, r.top(), lx1 - lx0, r.height()), band)
            p.setPen(QPen(QColor(theme.LOOP_AMBER), 1))
            p.drawLines([QLineF(lx0, r.top(), lx0, r.bottom() + 1),
                         QLineF(lx1, r.top(), lx1, r.bottom() + 1)])
        # Notes, in content coordinates.
        p.save()
        p.translate(-vp.scroll_x, -vp.scroll_y)
        cx0, cx1 = x0 + vp.scroll_x, x1 + vp.scroll_x
        self.paint_count = self.layer.paint(p, cx0, cx1)
        if self.paint_count and self.paint_count < LABELS_BELOW and vp.row_height >= 11:
            self.layer.paint_labels(p, self.editor.notes, cx0, cx1, vp.px_per_tick,
                                    vp.row_height, KEY_NAMES)
        p.restore()
        g = self.gesture
        if isinstance(g, RubberBandGesture):
            (t0, p0), (t1, p1) = g.origin, g.current
            area = QRectF(QPointF(vp.x_of(min(t0, t1)), vp.y_of(max(p0, p1))),
                          QPointF(vp.x_of(max(t0, t1)), vp.y_of(min(p0, p1)) + vp.row_height))
            fill = QColor(theme.ACCENT)
            fill.setAlpha(40)
            p.setBrush(fill)
            p.setPen(QPen(QColor(theme.ACCENT), 1))
            p.drawRect(area)
        if self.playhead is not None:
            x = vp.x_of(self.playhead)
            if x0 - 2 <= x <= x1 + 2:
                colour = QColor(theme.PLAY_GREEN if self.playing else theme.ACCENT)
                p.setPen(QPen(colour, 1.5))
                p.drawLine(QLineF(x, r.top(), x, r.bottom() + 1))
        p.end()

    def _paint_rows(self, p: QPainter, r: QRect) -> None:
        vp = self.viewport
        shaded = shaded_rows(self.key_root, self.scale)
        root = None if self.scale == CHROMATIC else self.key_root
        top_pitch, bottom_pitch = vp.pitch_at(r.top()), vp.pitch_at(r.bottom())
        rows: dict[int, list[QRectF]] = {0: [], 1: [], 2: []}
        octave_lines: list[QLineF] = []
        x, w = float(r.left()), float(r.width())
        for pitch in range(bottom_pitch, top_pitch + 1):
            y = vp.y_of(pitch)
            pc = pitch % 12
            kind = 2 if pc == root else 1 if pc in shaded else 0
            rows[kind].append(QRectF(x, y, w, vp.row_height))
            if pc == 0:
                octave_lines.append(QLineF(x, y + vp.row_height - 0.5, x + w,
                                           y + vp.row_height - 0.5))
        p.setPen(Qt.PenStyle.NoPen)
        for kind, colour in ((0, ROW_COLOUR), (1, SHADED_ROW_COLOUR), (2, ROOT_ROW_COLOUR)):
            if rows[kind]:
                p.setBrush(colour)
                p.drawRects(rows[kind])
        p.setPen(QPen(QColor(0, 0, 0, 110), 1))
        p.drawLines(octave_lines)

    def _paint_time_lines(self, p: QPainter, x0: float, x1: float, r: QRect) -> None:
        vp = self.viewport
        top, bottom = float(r.top()), float(r.bottom() + 1)
        t0 = math.floor(vp.tick_at(x0 - 1)) + self.clip_start
        t1 = math.ceil(vp.tick_at(x1 + 1)) + self.clip_start
        bars: list[QLineF] = []
        beats: list[QLineF] = []
        subs: list[QLineF] = []

        def line(tick: int) -> QLineF:
            x = round(vp.x_of(tick - self.clip_start)) + 0.5
            return QLineF(x, top, x, bottom)

        grid = self.snap
        if grid is not None and grid * vp.px_per_tick >= 7:
            first = max(0, math.ceil(t0 / grid))
            for k in range(first, t1 // grid + 1):
                subs.append(line(k * grid))
        meters = self.meters
        bar = meters.bbt_at_tick(max(0, t0)).bar - 1
        while (start := meters.bar_start_tick(bar)) <= t1:
            meter = meters.meter_at_bar(bar)
            bars.append(line(start))
            if meter.ticks_per_beat * vp.px_per_tick >= 6:
                for b in range(1, meter.numerator):
                    tick = start + b * meter.ticks_per_beat
                    if t0 <= tick <= t1:
                        beats.append(line(tick))
            # Zoomed far out: skip bars so the loop stays short.
            step = max(1, math.ceil(4 / max(1e-9, meter.ticks_per_bar * vp.px_per_tick)))
            bar += step
        for lines, colour in ((subs, QColor(255, 255, 255, 10)),
                              (beats, QColor(255, 255, 255, 24)),
                              (bars, QColor(255, 255, 255, 60))):
            if lines:
                p.setPen(QPen(colour, 1))
                p.drawLines(lines)

    # Mouse ------------------------------------------------------------------------------
    def _grid(self, event: QMouseEvent | None = None) -> int | None:
        """The snap grid, or None while Alt is held (free placement)."""
        if event is not None and event.modifiers() & Qt.KeyboardModifier.AltModifier:
            return None
        return self.snap

    def _edge_at(self, note: Note, x: float) -> Literal["left", "right"] | None:
        vp = self.viewport
        left, width = vp.x_of(note.start), note.length * vp.px_per_tick
        if width >= 3 * EDGE_PX and abs(x - (left + width)) <= EDGE_PX:
            return "right"
        if width >= 3 * EDGE_PX and abs(x - left) <= EDGE_PX - 1:
            return "left"
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self.gesture is not None or not self.editor.active:
            return
        pos = event.position()
        self._press_pos, self._dragging = pos, False
        tick, pitch = self.point_at(pos)
        grid = self._grid(event)
        mods = event.modifiers()
        hit = self.editor.note_at(tick, pitch)
        try:
            if event.button() == Qt.MouseButton.RightButton:
                if hit is not None and self._can_edit():
                    self.editor.remove([hit])  # one transaction: one undo step
                    self.update()
                return
            if event.button() != Qt.MouseButton.LeftButton:
                return
            if self.tool == "erase":
                if self._can_edit():
                    self.gesture = EraseGesture(self.editor)
                    self.gesture.move(tick, pitch, grid)
            elif hit is not None:
                self._grab(hit, tick, pitch, pos.x(), mods)
            elif self.tool == "draw":
                self._draw(tick, pitch, grid)
            else:
                self.cursor_tick = max(0, snap_floor(tick, grid))
                add = bool(mods & (Qt.KeyboardModifier.ShiftModifier
                                   | Qt.KeyboardModifier.ControlModifier))
                self.gesture = RubberBandGesture(self.editor, tick, pitch, add)
        except DocumentError as exc:
            self._abandon(str(exc))
        self.update()

    def _can_edit(self) -> bool:
        if self.editor.editable:
            return True
        self.message.emit("This project is open read-only: notes cannot be changed.")
        return False

    def _grab(self, hit: str, tick: float, pitch: int, x: float,
              mods: Qt.KeyboardModifier) -> None:
        ed = self.editor
        note = ed.notes[hit]
        if mods & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier):
            ed.toggle(hit)
            if hit not in ed.selection:
                return
        elif hit not in ed.selection:
            ed.select([hit])
        self.cursor_tick = note.start
        self.audition.emit(note.pitch, note.velocity)
        if not self._can_edit():
            return
        edge = self._edge_at(note, x)
        ids = set(ed.selection)
        if edge is not None:
            self.gesture = ResizeGesture(ed, ids, hit, tick, edge)
        else:
            self.gesture = MoveGesture(ed, ids, hit, tick, pitch)

    def _draw(self, tick: float, pitch: int, grid: int | None) -> None:
        if not self._can_edit():
            return
        start = max(0, snap_floor(tick, grid))
        length = grid if grid is not None else FREE_NOTE_LENGTH
        note = Note(pitch, start, length, self.new_velocity, self.channel)
        self.gesture = DrawGesture(self.editor, note)
        self.cursor_tick = start
        self.audition.emit(pitch, note.velocity)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self.editor.active:
            return
        if self.gesture is not None:
            self._finish()
        tick, pitch = self.point_at(event.position())
        if self.tool == "select" and self.editor.note_at(tick, pitch) is None:
            try:
                self._draw(tick, pitch, self._grid(event))
            except DocumentError as exc:
                self._abandon(str(exc))
            self.update()
        else:
            self.mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self.gesture is None:
            self._hover_cursor(pos)
            return
        if isinstance(self.gesture, MoveGesture | ResizeGesture) and not self._dragging:
            # A click that wobbles a pixel or two is still a click, not a move.
            if (pos - self._press_pos).manhattanLength() < DRAG_PX:
                return
            self._dragging = True
        tick, pitch = self.point_at(pos)
        try:
            sound = self.gesture.move(tick, pitch, self._grid(event))
        except DocumentError as exc:
            self._abandon(str(exc))
            return
        if sound is not None:
            self.audition.emit(sound, self.new_velocity)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.gesture is not None:
            self.mouseMoveEvent(event)  # the release point counts, moved to or not
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._finish()

    def _finish(self) -> None:
        g, self.gesture = self.gesture, None
        if g is not None:
            g.finish()
            if isinstance(g, DrawGesture) and g.note_id in self.editor.notes:
                self.cursor_tick = self.editor.notes[g.note_id].end
        self.audition_end.emit()
        self.update()

    def _abandon(self, message: str) -> None:
        """An edit failed (a partner removed the clip, a read-only project): stop."""
        g, self.gesture = self.gesture, None
        if g is not None:
            g.finish()
        self.editor.invalidate()
        self.audition_end.emit()
        self.message.emit(message)
        self.update()

    def cancel_gesture(self) -> None:
        """End a gesture in progress (the clip changes or the widget hides)."""
        if self.gesture is not None:
            self._finish()

    def _hover_cursor(self, pos: QPointF) -> None:
        shape = Qt.CursorShape.CrossCursor if self.tool == "draw" else \
            Qt.CursorShape.ForbiddenCursor if self.tool == "erase" else Qt.CursorShape.ArrowCursor
        if self.editor.active and self.tool != "erase":
            tick, pitch = self.point_at(pos)
            hit = self.editor.note_at(tick, pitch)
            if hit is not None:
                note = self.editor.notes[hit]
                shape = Qt.CursorShape.SizeHorCursor if self._edge_at(note, pos.x()) \
                    else Qt.CursorShape.SizeAllCursor
        self.setCursor(shape)

    def wheelEvent(self, event: QWheelEvent) -> None:
        vp = self.viewport
        mods = event.modifiers()
        d = event.angleDelta()
        steps = (d.y() or d.x()) / 120.0
        if mods & Qt.KeyboardModifier.ControlModifier:
            factor = 1.25 ** steps
            if mods & Qt.KeyboardModifier.ShiftModifier:
                vp.zoom_y(factor, event.position().y())
            else:
                vp.zoom_x(factor, event.position().x())
        elif mods & Qt.KeyboardModifier.ShiftModifier or (d.x() and not d.y()):
            vp.scroll_to(x=vp.scroll_x - steps * 60)
        else:
            vp.scroll_to(y=vp.scroll_y - steps * 3 * vp.row_height)
        event.accept()

    # Keys -------------------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        # Our editing keys win over window shortcuts while the grid has the focus.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and self._is_edit_key(event):
            event.accept()
            return True
        return super().event(event)

    @staticmethod
    def _is_edit_key(event: QKeyEvent) -> bool:
        key = Qt.Key(event.key())
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if key in (Qt.Key.Key_A, Qt.Key.Key_C, Qt.Key.Key_X, Qt.Key.Key_V, Qt.Key.Key_D):
            return ctrl
        return key in _EDIT_KEYS

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.editor.active or not self._is_edit_key(event) or self.gesture is not None:
            super().keyPressEvent(event)
            return
        key = Qt.Key(event.key())
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        ed = self.editor
        try:
            if key == Qt.Key.Key_A:
                ed.select_all()
            elif key == Qt.Key.Key_Escape:
                ed.clear_selection()
            elif key == Qt.Key.Key_C:
                ed.copy()
            elif self._can_edit():
                self._edit_key(key, shift)
        except DocumentError as exc:
            self.message.emit(str(exc))
            ed.invalidate()
        event.accept()
        self.update()

    def _edit_key(self, key: Qt.Key, shift: bool) -> None:
        ed = self.editor
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            ed.delete_selection()
        elif key == Qt.Key.Key_X:
            if ed.copy():
                ed.delete_selection()
        elif key == Qt.Key.Key_V:
            ed.paste(self.cursor_tick)
        elif key == Qt.Key.Key_D:
            ed.duplicate(self.snap)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            step = (12 if shift else 1) * (1 if key == Qt.Key.Key_Up else -1)
            if ed.transpose(step):
                sel = ed.selected_notes()
                if len(sel) == 1:  # hear where a single note went
                    n = next(iter(sel.values()))
                    self.audition.emit(n.pitch, n.velocity)
                    self.audition_end.emit()
            elif ed.selection:
                self.message.emit("Notes cannot go beyond the MIDI range (C-1 to G9).")
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            step = self.snap or PPQ
            if shift:
                step = self.meters.meter_at_tick(self.clip_start).ticks_per_bar
            ed.shift(step if key == Qt.Key.Key_Right else -step)
