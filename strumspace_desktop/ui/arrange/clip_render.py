"""Clip contents drawn once and kept: a mini piano roll for MIDI clips, the
waveform peaks for audio regions.

Contents are drawn into tiles TILE_WIDTH pixels wide (a long clip at a close zoom
would not fit one pixmap) and cached by clip revision, zoom, height and colour,
so a frame while playing only copies pixmaps: no per-note Python work. The cache
is bounded (least recently used tiles go first).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap, QPolygonF

from strumspace_desktop.core.document import AudioRegion
from strumspace_desktop.ui.arrange.model import ClipView

TILE_WIDTH = 1024
MAX_TILES = 256  # about 60 MB at the lane height
NOTE_MIN_RANGE = 12  # a clip's piano roll spans at least an octave, so one note is not a bar


# (region, first pixel column within the region, columns, pixels per tick) ->
# (columns, 2) min/max of the samples (-1..1) per column, or None while not ready.
PeaksSource = Callable[[AudioRegion, float, int, float], np.ndarray | None]


class ClipContentCache:
    def __init__(self, peaks: PeaksSource | None = None) -> None:
        self._tiles: OrderedDict[tuple[object, ...], QPixmap] = OrderedDict()
        self.peaks = peaks
        self.rendered = 0  # tiles drawn since start (tests and benchmarks read it)

    def clear(self) -> None:
        self._tiles.clear()

    def __len__(self) -> int:
        return len(self._tiles)

    def tile(self, cv: ClipView, index: int, px_per_tick: float, height: int,
             colour: QColor) -> QPixmap:
        key = (cv.clip.id, cv.revision, px_per_tick, height, index, colour.rgba())
        pix = self._tiles.get(key)
        if pix is not None:
            self._tiles.move_to_end(key)
            return pix
        pix = self._render(cv, index, px_per_tick, height, colour)
        self._tiles[key] = pix
        self.rendered += 1
        while len(self._tiles) > MAX_TILES:
            self._tiles.popitem(last=False)
        return pix

    def _render(self, cv: ClipView, index: int, ppt: float, height: int,
                colour: QColor) -> QPixmap:
        clip_px = cv.clip.length * ppt
        width = max(1, min(TILE_WIDTH, int(np.ceil(clip_px - index * TILE_WIDTH))))
        pix = QPixmap(width, max(1, height))
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        body = QColor(colour)
        body.setAlpha(70)
        p.fillRect(0, 0, width, height, body)
        x0 = index * TILE_WIDTH
        if isinstance(cv.clip, AudioRegion):
            self._draw_peaks(p, cv.clip, x0, width, ppt, height, colour)
        else:
            self._draw_notes(p, cv, x0, width, ppt, height, colour)
        p.end()
        return pix

    @staticmethod
    def _draw_notes(p: QPainter, cv: ClipView, x0: float, width: int, ppt: float,
                    height: int, colour: QColor) -> None:
        notes = cv.notes
        if len(notes) == 0:
            return
        t0, t1 = x0 / ppt, (x0 + width) / ppt
        pitch, start, length = notes[:, 0], notes[:, 1], notes[:, 2]
        lo, hi = int(pitch.min()), int(pitch.max())
        if hi - lo < NOTE_MIN_RANGE:
            lo = max(0, (lo + hi) // 2 - NOTE_MIN_RANGE // 2)
            hi = lo + NOTE_MIN_RANGE
        top, usable = 14.0, max(4.0, height - 18.0)  # below the clip's name
        row = usable / (hi - lo + 1)
        visible = (start < min(t1, cv.clip.length)) & (start + length > t0)
        if not visible.any():
            return
        xs = start[visible] * ppt - x0
        ws = np.maximum(1.0, np.minimum(length[visible], cv.clip.length - start[visible]) * ppt)
        ys = top + (hi - pitch[visible]) * row
        h = max(1.0, row - (1.0 if row > 3 else 0.0))
        fill = QColor(colour).lighter(150)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        p.drawRects([QRectF(x, y, w, h) for x, y, w in zip(xs.tolist(), ys.tolist(),
                                                            ws.tolist(), strict=True)])

    def _draw_peaks(self, p: QPainter, region: AudioRegion, x0: float, width: int,
                    ppt: float, height: int, colour: QColor) -> None:
        peaks = self.peaks(region, x0, width, ppt) if self.peaks is not None else None
        if peaks is None or len(peaks) == 0:
            return  # outline and name only until the peaks are computed
        mid, half = 14.0 + (height - 16.0) / 2, (height - 18.0) / 2
        cols = np.arange(len(peaks), dtype=np.float64)
        tops = mid - np.clip(peaks[:, 1], -1, 1) * half
        bottoms = mid - np.clip(peaks[:, 0], -1, 1) * half
        # One polygon: along the maxima, back along the minima.
        xs = np.concatenate([cols, cols[::-1]]).tolist()
        ys = np.concatenate([tops, bottoms[::-1]]).tolist()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(colour).lighter(140))
        p.drawPolygon(QPolygonF([QPointF(x, y) for x, y in zip(xs, ys, strict=True)]))
