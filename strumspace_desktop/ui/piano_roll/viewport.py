"""Where the piano roll looks: zoom and scroll of both axes, shared by its parts.

Content coordinates: x = tick * px_per_tick, y = (127 - pitch) * row_height (the
top row is pitch 127). Screen coordinates subtract the scroll offsets, so note
rectangles are computed once per zoom in content space and scrolling only moves
the painter.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Signal

from strumspace_desktop.core.timing import PPQ

PITCHES = 128
MIN_PX_PER_BEAT, MAX_PX_PER_BEAT = 4.0, 1600.0
MIN_ROW, MAX_ROW = 4.0, 40.0
DEFAULT_PX_PER_BEAT = 80.0
DEFAULT_ROW = 12.0


class Viewport(QObject):
    # zoomed: the note rectangles must be recomputed; otherwise only scrolled.
    changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.px_per_tick = DEFAULT_PX_PER_BEAT / PPQ
        self.row_height = DEFAULT_ROW
        self.scroll_x = 0.0  # content pixels hidden on the left
        self.scroll_y = 0.0
        self.width = 1  # size of the note grid on screen
        self.height = 1
        self.content_ticks = PPQ * 16  # how far the horizontal scroll goes

    # Conversions ------------------------------------------------------------------------
    def x_of(self, tick: float) -> float:
        return tick * self.px_per_tick - self.scroll_x

    def tick_at(self, x: float) -> float:
        return (x + self.scroll_x) / self.px_per_tick

    def y_of(self, pitch: int) -> float:
        """Top edge of the row of `pitch` on screen."""
        return (PITCHES - 1 - pitch) * self.row_height - self.scroll_y

    def pitch_at(self, y: float) -> int:
        row = math.floor((y + self.scroll_y) / self.row_height)
        return max(0, min(PITCHES - 1, PITCHES - 1 - row))

    def visible_ticks(self) -> tuple[float, float]:
        return self.tick_at(0), self.tick_at(self.width)

    def content_width(self) -> float:
        return self.content_ticks * self.px_per_tick

    def content_height(self) -> float:
        return PITCHES * self.row_height

    # Changes ----------------------------------------------------------------------------
    def set_size(self, width: int, height: int) -> None:
        self.width, self.height = max(1, width), max(1, height)
        self._clamp()
        self.changed.emit(False)

    def set_content_ticks(self, ticks: int) -> None:
        self.content_ticks = max(PPQ, int(ticks))
        self._clamp()
        self.changed.emit(False)

    def scroll_to(self, x: float | None = None, y: float | None = None) -> None:
        old = (self.scroll_x, self.scroll_y)
        if x is not None:
            self.scroll_x = float(x)
        if y is not None:
            self.scroll_y = float(y)
        self._clamp()
        if (self.scroll_x, self.scroll_y) != old:
            self.changed.emit(False)

    def zoom_x(self, factor: float, anchor_x: float | None = None) -> None:
        """Zoom time around a screen x (the centre by default), keeping it in place."""
        ax = self.width / 2 if anchor_x is None else anchor_x
        tick = self.tick_at(ax)
        ppb = self.px_per_tick * PPQ * factor
        self.px_per_tick = max(MIN_PX_PER_BEAT, min(MAX_PX_PER_BEAT, ppb)) / PPQ
        self.scroll_x = tick * self.px_per_tick - ax
        self._clamp()
        self.changed.emit(True)

    def zoom_y(self, factor: float, anchor_y: float | None = None) -> None:
        ay = self.height / 2 if anchor_y is None else anchor_y
        row = (ay + self.scroll_y) / self.row_height
        self.row_height = max(MIN_ROW, min(MAX_ROW, self.row_height * factor))
        self.scroll_y = row * self.row_height - ay
        self._clamp()
        self.changed.emit(True)

    def centre_on_pitch(self, pitch: float) -> None:
        self.scroll_to(y=(PITCHES - 1 - pitch + 0.5) * self.row_height - self.height / 2)

    def _clamp(self) -> None:
        max_x = max(0.0, self.content_width() - self.width)
        max_y = max(0.0, self.content_height() - self.height)
        self.scroll_x = max(0.0, min(max_x, self.scroll_x))
        self.scroll_y = max(0.0, min(max_y, self.scroll_y))
