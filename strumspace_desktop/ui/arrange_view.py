"""The arrangement: a bar ruler, one lane per track, the loop range and the playhead.

Lanes line up with the track list's rows (same header and row heights). Clips
will be drawn here once the project document holds them; for now the view shows
where the transport is, which is what a musician looks for while playing.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from strumspace_desktop.audio.client import EngineStatus
from strumspace_desktop.audio.protocol import TransportState
from strumspace_desktop.core.tracks import Change, Track, TrackList
from strumspace_desktop.ui import theme
from strumspace_desktop.ui.track_list import HEADER_HEIGHT, ROW_HEIGHT

PIXELS_PER_BEAT = 26.0


class ArrangeView(QWidget):
    def __init__(self, tracks: TrackList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tracks = tracks
        self.numerator = 4
        self.denominator = 4
        self.beat = 0.0
        self.playing = False
        self.loop: tuple[float, float] | None = None
        self.setMinimumWidth(300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        tracks.subscribe(self._tracks_changed)

    def _tracks_changed(self, change: Change, track: Track | None) -> None:
        self.update()

    def show_status(self, status: EngineStatus) -> None:
        loop = (status.loop_start, status.loop_end) if status.loop_on else None
        moved = (status.beat, status.numerator, status.denominator, loop,
                 status.state != TransportState.STOPPED) != (
            self.beat, self.numerator, self.denominator, self.loop, self.playing)
        if not moved or not status.numerator:
            return
        self.beat = status.beat
        self.numerator, self.denominator = status.numerator, status.denominator
        self.loop = loop
        self.playing = status.state != TransportState.STOPPED
        self.update()

    def x_of_beat(self, beat: float) -> float:
        return 12.0 + beat * PIXELS_PER_BEAT

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), QColor("#1b1d21"))
        tracks = self.tracks.tracks
        selected = self.tracks.selected
        # Lanes.
        for i, t in enumerate(tracks):
            top = HEADER_HEIGHT + i * ROW_HEIGHT
            lane = QColor("#222a34") if selected is not None and t.id == selected.id \
                else QColor("#202327")
            p.fillRect(0, top, w, ROW_HEIGHT, lane)
            p.fillRect(0, top + ROW_HEIGHT - 1, w, 1, QColor(theme.BORDER))
            tint = theme.track_colour(t.channel)
            tint.setAlpha(28)
            p.fillRect(0, top, 3, ROW_HEIGHT, theme.track_colour(t.channel))
            p.fillRect(3, top + ROW_HEIGHT // 2, w, 1, tint)
        # Grid: bars strong, beats faint.
        beat = 0
        beat_pen = QPen(QColor(255, 255, 255, 14))
        bar_pen = QPen(QColor(255, 255, 255, 40))
        while (x := self.x_of_beat(beat)) < w:
            on_bar = beat % self.numerator == 0
            p.setPen(bar_pen if on_bar else beat_pen)
            p.drawLine(round(x), HEADER_HEIGHT, round(x), h)
            beat += 1
        # Ruler.
        p.fillRect(0, 0, w, HEADER_HEIGHT, QColor(theme.PANEL))
        p.fillRect(0, HEADER_HEIGHT - 1, w, 1, QColor(theme.BORDER))
        if self.loop is not None:
            x0, x1 = self.x_of_beat(self.loop[0]), self.x_of_beat(self.loop[1])
            band = QColor(theme.LOOP_AMBER)
            band.setAlpha(60)
            p.fillRect(QRectF(x0, 3, x1 - x0, HEADER_HEIGHT - 8), band)
            shade = QColor(theme.LOOP_AMBER)
            shade.setAlpha(12)
            p.fillRect(QRectF(x0, HEADER_HEIGHT, x1 - x0, h), shade)
        p.setPen(QColor(theme.DIM_TEXT))
        bar = 0
        while (x := self.x_of_beat(bar * self.numerator)) < w:
            p.drawLine(round(x), HEADER_HEIGHT - 8, round(x), HEADER_HEIGHT - 1)
            p.drawText(QRectF(x + 4, 0, 60, HEADER_HEIGHT - 2),
                       int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                       str(bar + 1))
            bar += 1
        # Playhead (hidden in the count-in, which is before the song).
        if self.beat >= 0:
            x = self.x_of_beat(self.beat)
            colour = QColor(theme.PLAY_GREEN if self.playing else theme.ACCENT)
            p.setPen(QPen(colour, 1.5))
            p.drawLine(round(x), 0, round(x), h)
            p.setBrush(colour)
            p.setPen(Qt.PenStyle.NoPen)
            p.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, 8)]))
        p.end()
