"""The arrangement canvas: ruler, lanes, clips, chords and the playhead in one
widget, with the gestures of gestures.py and the keyboard commands.

Painting cost while playing: a playhead step repaints two thin strips (its old and
new place); clip contents come from ClipContentCache, so a frame is a few pixmap
copies whatever the number of notes. `repaint()` repaints everything (honestly:
every visible lane, clip tile, chord and the ruler are drawn again).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QInputDialog, QMenu, QSizePolicy, QWidget

from strumspace_desktop.core.document import (
    AudioRegion,
    Change,
    ChordItem,
    Document,
    DocumentError,
    MidiClip,
)
from strumspace_desktop.core.document.project_files import Project
from strumspace_desktop.core.gm import DRUM_BANK, DRUM_CHANNEL
from strumspace_desktop.core.peaks import PeakCache
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui import theme
from strumspace_desktop.ui.arrange import edits
from strumspace_desktop.ui.arrange.chord_names import bass_pitch_class, display_label, parse_label
from strumspace_desktop.ui.arrange.clip_render import TILE_WIDTH, ClipContentCache
from strumspace_desktop.ui.arrange.drop import (
    DropError,
    accepts,
    drop_file,
)
from strumspace_desktop.ui.arrange.gestures import Gestures
from strumspace_desktop.ui.arrange.grid import snap
from strumspace_desktop.ui.arrange.hits import (
    chord_rect,
    clip_rect,
    hit_test,
    lane_at,
    lane_top,
    span_rect,
)
from strumspace_desktop.ui.arrange.model import ArrangeModel, ClipView, Lane, Timeline
from strumspace_desktop.ui.arrange.ruler import LANE_COLOUR, paint_grid, paint_ruler
from strumspace_desktop.ui.notice_area import NoticeArea
from strumspace_desktop.ui.track_list import HEADER_HEIGHT, ROW_HEIGHT

BACKGROUND = QColor("#1b1d21")
LANE = QColor(LANE_COLOUR)
LANE_SELECTED = QColor("#222a34")
AUDIO_COLOUR = "#6ec1e4"
CHORD_COLOUR = "#c77dff"
PLAYHEAD_HALF = 6  # pixels either side of the playhead line that a move repaints
ZOOM_STEP = 1.25
FOLLOW_MODES = ("page", "continuous", "off")
NOTICE_KEY = "arrange"


class ArrangeCanvas(QWidget):
    open_clip_requested = Signal(str)  # a MIDI clip was double-clicked: open the piano roll
    locate_requested = Signal(int)  # ticks
    view_changed = Signal()  # zoom, scroll or song length changed
    selection_changed = Signal()
    peaks_ready = Signal(str)  # a blob's waveform peaks are ready (from a worker thread)

    def __init__(self, document: Document, row_ids: Callable[[], list[str]],
                 notices: NoticeArea | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumWidth(300)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.notices = notices
        self.last_problem = ""
        self.timeline = Timeline()
        self.cache = ClipContentCache(self._peaks)
        # Peaks are computed on a worker thread; the queued signal brings news here.
        self.peak_cache = PeakCache(self._blob_path, on_ready=self.peaks_ready.emit)
        self.peaks_ready.connect(self._peaks_arrived, Qt.ConnectionType.QueuedConnection)
        cache = self.peak_cache
        self.destroyed.connect(lambda _o=None: cache.close())
        self.gestures = Gestures(self)
        self.tool = "pointer"  # or "split"
        self.grid = "beat"
        self.follow = "page"
        self.selected: set[str] = set()
        self.selected_chords: set[tuple[str, str]] = set()
        self.selected_track: str | None = None
        self.playhead = 0  # ticks
        self.playing = False
        self.project_provider: Callable[[], Project | None] = lambda: None
        # Extra entries for a chord lane's context menu: fn(menu, track id, position).
        self.chord_menu_extras: list[Callable[[QMenu, str, QPointF], None]] = []
        # How a chord item's Harte label is shown (the Chords tools set the musician's
        # notation and capo here).
        self.chord_namer: Callable[[str], str] = display_label
        self._row_ids = row_ids
        self._visible: list[ClipView] | None = None
        self.document = document
        self.model = ArrangeModel(document, row_ids)
        self._unsubscribe = document.subscribe(self._document_changed)

    # The document ----------------------------------------------------------------------
    def set_document(self, document: Document) -> None:
        self._unsubscribe()
        self.document = document
        self.model = ArrangeModel(document, self._row_ids)
        self._unsubscribe = document.subscribe(self._document_changed)
        self.cache.clear()
        self.selected.clear()
        self.selected_chords.clear()
        self._model_changed()

    @property
    def editable(self) -> bool:
        return not self.document.read_only

    def _document_changed(self, change: Change) -> None:
        self.model.apply(change)
        if change.tempo:
            self.cache.clear()  # audio drawn in ticks moves with the tempo
        self._model_changed()

    def _blob_path(self, sha256: str) -> Path | None:
        project = self.project_provider()
        return project.audio_path(sha256) if project is not None else None

    def _peaks(self, region: AudioRegion, first_px: float, columns: int,
               px_per_tick: float) -> np.ndarray | None:
        """Peaks of the region's pixel columns; the tempo at the region's start sets the
        frames per pixel (a tempo change inside a region is not followed)."""
        rate = self.model.sample_rate(region)
        frames_per_tick = rate * 60.0 / (self.model.tempo.bpm_at_tick(region.start) * PPQ)
        fpp = frames_per_tick / px_per_tick
        peaks = self.peak_cache.get(region.blob, fpp, start_frame=round(
            region.offset + first_px * fpp), columns=columns)
        if peaks is None or len(peaks) == 0:
            return None
        return np.stack([peaks[..., 0].min(axis=1), peaks[..., 1].max(axis=1)], axis=-1)

    def _peaks_arrived(self, sha256: str) -> None:
        if self.model.touch_blob(sha256):
            self._visible = None
            self.update()

    def refresh_rows(self) -> None:
        """The track list's rows changed: lanes follow them."""
        self.model.refresh_rows()
        self._model_changed()

    def _model_changed(self) -> None:
        self._visible = None
        live = set(self.model.clips)
        chords = {(tid, cid) for tid, items in self.model.chords.items() for cid in items}
        if not self.selected <= live or not self.selected_chords <= chords:
            self.selected &= live
            self.selected_chords &= chords
            self.selection_changed.emit()
        self.updateGeometry()
        self.update()
        self.view_changed.emit()

    def visible_clips(self) -> list[ClipView]:
        if self._visible is None:
            self._visible = self.model.visible_clips()
        return self._visible

    # Selection -----------------------------------------------------------------------------
    def select(self, *, clips: set[str], chords: set[tuple[str, str]],
               extend: bool = False) -> None:
        if extend:
            clips, chords = self.selected | clips, self.selected_chords | chords
        self.selected, self.selected_chords = set(clips), set(chords)
        self.selection_changed.emit()
        self.update()

    def toggle_clip(self, clip_id: str) -> None:
        self.selected ^= {clip_id}
        self.selection_changed.emit()
        self.update()

    # Messages --------------------------------------------------------------------------------
    def problem(self, message: str) -> None:
        self.last_problem = message
        if self.notices is not None:
            self.notices.show_notice(NOTICE_KEY, message, "warning")

    # View ---------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(800, self.content_height())

    def minimumSizeHint(self) -> QSize:
        return QSize(300, self.content_height())

    def content_height(self) -> int:
        return lane_top(len(self.model.lanes)) + ROW_HEIGHT  # room to drop a new track

    def content_width(self) -> float:
        """Pixels from tick 0 to a few bars past the song's end."""
        end = self.model.song_end() + 8 * self.model.meters.meter_at_tick(0).ticks_per_bar
        return end * self.timeline.px_per_tick + self.width()

    def set_scroll(self, pixels: float) -> None:
        pixels = max(0.0, pixels)
        if pixels != self.timeline.scroll:
            self.timeline.scroll = pixels
            self.update()
            self.view_changed.emit()

    def zoom(self, factor: float, anchor_x: float | None = None) -> None:
        self.timeline.zoom(factor, self.width() / 2 if anchor_x is None else anchor_x)
        self.update()
        self.view_changed.emit()

    # Playhead -----------------------------------------------------------------------------
    def show_playhead(self, tick: int, playing: bool) -> None:
        if (tick, playing) == (self.playhead, self.playing):
            return
        old = self.timeline.x_of(self.playhead)
        self.playhead, self.playing = tick, playing
        if playing and self._follow(tick):
            return  # scrolled: everything is repainted
        new = self.timeline.x_of(tick)
        h = self.height()
        for x in (old, new):
            self.update(QRect(math.floor(x) - PLAYHEAD_HALF, 0, 2 * PLAYHEAD_HALF + 1, h))

    def _follow(self, tick: int) -> bool:
        x = self.timeline.x_of(tick)
        w = self.width()
        if self.follow == "page" and not 0 <= x < w - 8:
            self.set_scroll(tick * self.timeline.px_per_tick)
            return True
        if self.follow == "continuous" and abs(x - w / 3) >= 1 and (
                x > w / 3 or self.timeline.scroll > 0):
            self.set_scroll(tick * self.timeline.px_per_tick + 12 - w / 3)
            return True
        return False

    def locate(self, tick: int) -> None:
        self.show_playhead(tick, self.playing)
        self.locate_requested.emit(tick)

    # Painting ---------------------------------------------------------------------------------
    def lane_colour(self, lane: Lane) -> QColor:
        t = lane.track
        if t.kind == "midi":
            drums = t.instrument.bank == DRUM_BANK or t.instrument.channel == DRUM_CHANNEL
            return theme.track_colour(DRUM_CHANNEL if drums else t.instrument.channel)
        if t.color and QColor.isValidColorName(t.color):
            return QColor(t.color)
        return QColor(AUDIO_COLOUR if t.kind == "audio" else CHORD_COLOUR)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        rect = QRectF(event.rect())
        w = self.width()
        p.fillRect(rect, BACKGROUND)
        self._paint_lanes(p, rect, w)
        paint_grid(p, self.model, self.timeline, rect, HEADER_HEIGHT)
        loop = self.document.loop()
        if loop.enabled and loop.end > loop.start:
            shade = QColor(theme.LOOP_AMBER)
            shade.setAlpha(12)
            x0, x1 = self.timeline.x_of(loop.start), self.timeline.x_of(loop.end)
            p.fillRect(QRectF(x0, HEADER_HEIGHT, x1 - x0, self.height()), shade)
        for cv in self.visible_clips():
            lane = self.model.lane_of(cv.clip.track_id)
            if lane is None:
                continue
            r = clip_rect(self.timeline, lane, cv)
            if r.intersects(rect):
                self._paint_clip(p, cv, lane, r, rect)
        self._paint_chords(p, rect)
        self._paint_lane_names(p, rect)
        self._paint_drag(p)
        if rect.top() < HEADER_HEIGHT:
            p.save()
            paint_ruler(p, self.model, self.timeline, w, *self._ruler_ranges())
            p.restore()
        self._paint_playhead(p)
        p.end()

    def _paint_lanes(self, p: QPainter, rect: QRectF, w: int) -> None:
        for lane in self.model.lanes:
            top = lane_top(lane.index)
            if top > rect.bottom() or top + ROW_HEIGHT < rect.top():
                continue
            selected = lane.track.id == self.selected_track
            p.fillRect(QRectF(rect.left(), top, rect.width(), ROW_HEIGHT),
                       LANE_SELECTED if selected else LANE)
            p.fillRect(QRectF(rect.left(), top + ROW_HEIGHT - 1, rect.width(), 1),
                       QColor(theme.BORDER))
            if rect.left() < 3:
                p.fillRect(0, top, 3, ROW_HEIGHT, self.lane_colour(lane))

    def _paint_lane_names(self, p: QPainter, rect: QRectF) -> None:
        """Lanes without a row in the track list (audio, chord) are named here, in a
        tag at the lane's bottom right, above its clips."""
        metrics = p.fontMetrics()
        for lane in self.model.lanes:
            if lane.has_row:
                continue
            text = f"{lane.track.name} · {lane.track.kind}"
            w = metrics.horizontalAdvance(text) + 10
            tag = QRectF(self.width() - w - 4, lane_top(lane.index) + ROW_HEIGHT - 17, w, 15)
            if not tag.intersects(rect):
                continue
            back = QColor(theme.PANEL)
            back.setAlpha(220)
            p.fillRect(tag, back)
            p.setPen(QColor(theme.DIM_TEXT))
            p.drawText(tag, int(Qt.AlignmentFlag.AlignCenter), text)

    def _paint_clip(self, p: QPainter, cv: ClipView, lane: Lane, r: QRectF,
                    exposed: QRectF) -> None:
        colour = self.lane_colour(lane)
        moving = self.gestures.drag is not None and self.gestures.drag.started and \
            self.gestures.drag.hit.kind == "clip" and cv.clip.id in self.selected and \
            not self.gestures.drag.mods & Qt.KeyboardModifier.ControlModifier
        p.save()
        p.setOpacity(0.35 if cv.muted or moving else 1.0)
        ppt = self.timeline.px_per_tick
        left = max(r.left(), exposed.left())
        right = min(r.right(), exposed.right())
        first = max(0, math.floor((left - r.left()) / TILE_WIDTH))
        last = max(first, math.floor((right - r.left()) / TILE_WIDTH))
        height = int(r.height())
        for i in range(first, last + 1):
            if i * TILE_WIDTH > r.width():
                break
            pix = self.cache.tile(cv, i, ppt, height, colour)
            p.drawPixmap(QPointF(r.left() + i * TILE_WIDTH, r.top()), pix)
        selected = cv.clip.id in self.selected
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor("#ffffff") if selected else colour, 2 if selected else 1))
        p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5))
        p.setPen(QColor(theme.TEXT))
        name = cv.clip.name or ("Audio" if isinstance(cv.clip, AudioRegion) else "MIDI")
        if cv.take_group:
            takes = self.model.takes_of(cv.take_group)
            if len(takes) > 1:
                number = [t.clip.id for t in takes].index(cv.clip.id) + 1
                name = f"{name}  ▾ take {number}/{len(takes)}"
        if cv.muted:
            name += " (muted)"
        text_x = max(r.left(), 0.0) + 4
        if text_x < r.right() - 8:
            p.drawText(QRectF(text_x, r.top(), r.right() - text_x - 2, 14),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), name)
        p.restore()

    def _paint_chords(self, p: QPainter, exposed: QRectF) -> None:
        for lane in self.model.lanes:
            items = self.model.chords.get(lane.track.id)
            if not items:
                continue
            colour = self.lane_colour(lane)
            for cid, item in items.items():
                r = chord_rect(self.timeline, lane, item)
                if not r.intersects(exposed):
                    continue
                fill = QColor(colour)
                fill.setAlpha(80)
                p.fillRect(r, fill)
                selected = (lane.track.id, cid) in self.selected_chords
                p.setPen(QPen(QColor("#ffffff") if selected else colour, 2 if selected else 1))
                p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5))
                p.setPen(QColor(theme.TEXT))
                p.drawText(r.adjusted(4, 0, -2, 0),
                           int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                           self.chord_namer(item.label))

    def _paint_drag(self, p: QPainter) -> None:
        d = self.gestures.drag
        if d is None or not d.started:
            return
        ghost = QColor(theme.ACCENT)
        p.setPen(QPen(ghost, 1, Qt.PenStyle.DashLine))
        fill = QColor(ghost)
        fill.setAlpha(40)
        p.setBrush(fill)
        tl = self.timeline
        if d.hit.kind in ("lane", "empty"):
            p.drawRect(QRectF(d.press, d.pos).normalized())
        elif d.hit.kind == "clip":
            for cid in self.selected:
                cv = self.model.clips.get(cid)
                lane = self.model.lane_of(cv.clip.track_id) if cv else None
                if cv is None or lane is None:
                    continue
                target = edits._target_track(self.model, cv.clip, d.lane_delta)
                index = self.model.lane_of(target).index  # type: ignore[union-attr]
                p.drawRect(span_rect(tl, index, cv.clip.start + d.delta,
                                     cv.clip.end + d.delta))
        elif d.hit.kind == "chord":
            for tid, cid in self.selected_chords:
                lane = self.model.lane_of(tid)
                item = self.model.chords.get(tid, {}).get(cid)
                if lane is not None and item is not None:
                    p.drawRect(span_rect(tl, lane.index, item.start + d.delta,
                                         item.end + d.delta))
        elif d.range is not None and d.hit.lane is not None and d.hit.kind not in (
                "loop", "punch"):
            p.drawRect(span_rect(tl, d.hit.lane.index, *d.range))

    def _ruler_ranges(self) -> tuple[tuple[int, int, bool] | None,
                                     tuple[int, int, bool] | None]:
        loop = self.document.loop()
        loop_r: tuple[int, int, bool] | None = (loop.start, loop.end, loop.enabled)
        pr = self.document.punch()
        punch_r: tuple[int, int, bool] | None = (pr.start, pr.end, pr.enabled)
        d = self.gestures.drag
        if d is not None and d.started and d.range is not None:
            if d.hit.kind == "loop":
                loop_r = (*d.range, True)
            elif d.hit.kind == "punch":
                punch_r = (*d.range, True)
        return loop_r, punch_r

    def _paint_playhead(self, p: QPainter) -> None:
        x = self.timeline.x_of(self.playhead)
        colour = QColor(theme.PLAY_GREEN if self.playing else theme.ACCENT)
        p.setPen(QPen(colour, 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setBrush(colour)
        p.setPen(Qt.PenStyle.NoPen)
        p.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, 8)]))

    # Mouse -------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.gestures.press(event.position(), event.modifiers())
            self.update()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.gestures.drag is not None:
            self.gestures.move(event.position(), event.modifiers())
        else:
            self._hover_cursor(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.gestures.release(event.position(), event.modifiers())

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.gestures.double_click(event.position(), event.modifiers())

    def _hover_cursor(self, pos: QPointF) -> None:
        hit = hit_test(self.model, self.timeline, self.visible_clips(), pos)
        if self.tool == "split" and hit.clip_id:
            shape = Qt.CursorShape.SplitHCursor
        elif hit.kind.endswith(("_left", "_right")):
            shape = Qt.CursorShape.SizeHorCursor
        else:
            shape = Qt.CursorShape.ArrowCursor
        self.setCursor(shape)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier and delta.y():
            self.zoom(ZOOM_STEP ** (delta.y() / 120), event.position().x())
        elif delta.x() or mods & Qt.KeyboardModifier.ShiftModifier:
            step = delta.x() or delta.y()
            self.set_scroll(self.timeline.scroll - step)
        else:
            event.ignore()  # vertical: the window's scroll area scrolls the lanes
            return
        event.accept()

    # Keyboard ----------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not ctrl:
            self.delete_selection()
        elif ctrl and key == Qt.Key.Key_D:
            self.duplicate_selection()
        elif ctrl and key == Qt.Key.Key_E:
            self.split_at_playhead()
        elif ctrl and key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(ZOOM_STEP)
        elif ctrl and key == Qt.Key.Key_Minus:
            self.zoom(1 / ZOOM_STEP)
        elif ctrl and key == Qt.Key.Key_A:
            self.select(clips={cv.clip.id for cv in self.visible_clips()},
                        chords={(t, c) for t, items in self.model.chords.items()
                                for c in items})
        elif key == Qt.Key.Key_Escape and (self.selected or self.selected_chords):
            self.select(clips=set(), chords=set())
        else:
            event.ignore()  # letters play the computer-keyboard piano in the window
            return
        event.accept()

    def _edit(self, what: str, action: Callable[[], object]) -> None:
        if not self.editable:
            self.problem(self.document.read_only_reason)
            return
        try:
            action()
        except DocumentError as exc:
            self.problem(f"{what} was refused: {exc}")

    def delete_selection(self) -> None:
        clips, chords = sorted(self.selected), sorted(self.selected_chords)
        if clips or chords:
            self._edit("Deleting", lambda: edits.delete(self.document, clips, chords))

    def duplicate_selection(self) -> None:
        def run() -> None:
            made = edits.duplicate(self.document, self.model, sorted(self.selected))
            if made:
                self.select(clips=set(made), chords=set())
        if self.selected:
            self._edit("Duplicating", run)

    def split_at_playhead(self) -> None:
        """Split the selected clips at the playhead (every clip under it if none is)."""
        ids = sorted(self.selected) or [cv.clip.id for cv in self.visible_clips()]

        def run() -> None:
            made = edits.split_at(self.document, self.model, ids, self.playhead)
            if made and self.selected:
                self.select(clips=set(made), chords=set(), extend=True)
        self._edit("Splitting", run)

    # Chords ---------------------------------------------------------------------------------------
    def ask_chord_label(self, current: str) -> str | None:
        """Asks for a chord name ("Cmaj7", "Am/C" or Harte "C:maj7"); None if cancelled
        or unreadable (then a notice says why)."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Chord")
        dialog.setLabelText("Chord name (e.g. Cmaj7, Am/C, F#m7b5, N.C.)")
        dialog.setTextValue(display_label(current) if current else "")
        if dialog.exec() != QInputDialog.DialogCode.Accepted:
            return None
        label = parse_label(dialog.textValue())
        if label is None:
            self.problem(f"“{dialog.textValue()}” is not a chord name StrumSpace reads; "
                         "try e.g. C, Am7, F#maj7, Bb/D or N.C.")
        return label

    def create_chord(self, track_id: str, start: int, end: int) -> str | None:
        label = self.ask_chord_label("")
        if label is None:
            return None
        with self.document.undo_group():
            cid = self.document.add_chord(
                track_id, ChordItem(start, end, label, bass_pitch_class(label)))
        self.select(clips=set(), chords={(track_id, cid)})
        return cid

    def edit_chord_label(self, track_id: str, chord_id: str) -> None:
        item = self.model.chords.get(track_id, {}).get(chord_id)
        if item is None:
            return
        label = self.ask_chord_label(item.label)
        if label is not None and label != item.label:
            self.document.set_chord(track_id, chord_id, ChordItem(
                item.start, item.end, label, bass_pitch_class(label), 1.0,
                edits.hand_edited(item.source)))

    # Context menu ---------------------------------------------------------------------------------
    def context_menu(self, pos: QPointF) -> QMenu:
        menu = QMenu(self)
        hit = hit_test(self.model, self.timeline, self.visible_clips(), pos)
        if hit.clip_id:
            if hit.clip_id not in self.selected:
                self.select(clips={hit.clip_id}, chords=set())
            cv = self.model.clips[hit.clip_id]
            if isinstance(cv.clip, MidiClip):
                menu.addAction("Open in Piano Roll",
                               lambda: self.open_clip_requested.emit(hit.clip_id))
            menu.addAction("Split at Playhead", self.split_at_playhead)
            menu.addAction("Duplicate", self.duplicate_selection)
            menu.addAction("Unmute" if cv.muted else "Mute", lambda: self._edit(
                "Muting", lambda: edits.set_muted(self.document, hit.clip_id, not cv.muted)))
            takes = self.model.takes_of(cv.take_group) if cv.take_group else []
            if len(takes) > 1:
                sub = menu.addMenu("Takes")
                for n, take in enumerate(takes, 1):
                    act = sub.addAction(f"Take {n}" + (f" – {take.clip.name}"
                                                       if take.clip.name else ""))
                    act.setCheckable(True)
                    act.setChecked(take.clip.id == cv.clip.id)
                    act.triggered.connect(lambda _c=False, cid=take.clip.id: self._edit(
                        "Choosing a take", lambda: edits.choose_take(self.document,
                                                                     self.model, cid)))
            menu.addSeparator()
            menu.addAction("Delete", self.delete_selection)
        elif hit.chord_id and hit.lane is not None:
            tid = hit.lane.track.id
            self.select(clips=set(), chords={(tid, hit.chord_id)})
            menu.addAction("Edit Chord…", lambda: self.edit_chord_label(tid, hit.chord_id))
            menu.addAction("Delete", self.delete_selection)
        if not hit.clip_id and hit.lane is not None and hit.lane.track.kind == "chord":
            for extra in self.chord_menu_extras:
                extra(menu, hit.lane.track.id, pos)
        for act in menu.actions():
            act.setEnabled(self.editable or act.text() == "Open in Piano Roll")
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu(QPointF(event.pos()))
        if menu.actions():
            menu.popup(event.globalPos())

    # Drag and drop of files ----------------------------------------------------------------------
    @staticmethod
    def _dropped_paths(event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> list[Path]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [Path(u.toLocalFile()) for u in mime.urls()
                if u.isLocalFile() and accepts(Path(u.toLocalFile()))]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.editable and self._dropped_paths(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self.editable and self._dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self._dropped_paths(event)
        if not paths:
            return
        event.acceptProposedAction()
        self.drop_files(paths, event.position())

    def drop_files(self, paths: list[Path], pos: QPointF) -> None:
        """Import files dropped at `pos` (on a lane, or below the last one for new
        tracks); each file is one undo step."""
        lane = lane_at(self.model, pos.y())
        tick = snap(self.timeline.tick_at(pos.x()), self.grid, self.model.meters)
        track_id = lane.track.id if lane is not None else None
        project = self.project_provider()
        for path in paths:
            try:
                if project is None or project.document is not self.document:
                    raise DropError(f"“{path.name}” was not imported: no project is open")
                added, messages = drop_file(project, path, track_id, tick)
            except DropError as exc:
                self.problem(str(exc))
                continue
            if self.notices is not None and messages:
                self.notices.show_notice(NOTICE_KEY + "-import", " ".join(messages), "info")
            if added and added[0] in self.model.clips:
                # The next audio file of the same drop goes on the same (maybe new) track.
                track_id = self.model.clips[added[0]].clip.track_id
