"""The on-screen piano keyboard: play with the mouse, see what sounds.

Clicking lower on a key plays louder, as on a real key struck deeper. Dragging
across keys plays each in turn. Notes that sound on the selected track (from the
mouse, the computer keyboard or a MIDI controller) are lit.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from strumspace_desktop.ui import theme

BLACK_OFFSETS = frozenset({1, 3, 6, 8, 10})
NAMES = ("C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B")


def note_name(note: int) -> str:
    """Scientific pitch name: 60 is C4."""
    return f"{NAMES[note % 12]}{note // 12 - 1}"


def is_black(note: int) -> bool:
    return note % 12 in BLACK_OFFSETS


class PianoKeyboard(QWidget):
    note_pressed = Signal(int, int)  # note, velocity
    note_released = Signal(int)

    def __init__(self, lowest: int = 36, highest: int = 96,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if is_black(lowest) or is_black(highest):
            raise ValueError("the keyboard must start and end on white keys")
        self.lowest = lowest
        self.highest = highest
        self._lit: set[int] = set()
        self._mouse_note: int | None = None
        self._range: tuple[int, int] | None = None  # the computer keyboard's notes
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMouseTracking(False)

    def sizeHint(self) -> QSize:
        return QSize(18 * self._white_count(), 110)

    # Geometry -------------------------------------------------------------------------
    def _white_count(self) -> int:
        return sum(1 for n in range(self.lowest, self.highest + 1) if not is_black(n))

    def _white_width(self) -> float:
        return self.width() / self._white_count()

    def key_rect(self, note: int) -> QRectF:
        """Where a key is drawn (and where a click plays it)."""
        if not self.lowest <= note <= self.highest:
            raise ValueError(f"note {note} is not on this keyboard")
        ww = self._white_width()
        whites_before = sum(1 for n in range(self.lowest, note) if not is_black(n))
        h = float(self.height())
        if not is_black(note):
            return QRectF(whites_before * ww, 0.0, ww, h)
        bw = ww * 0.62
        return QRectF(whites_before * ww - bw / 2, 0.0, bw, h * 0.62)

    def note_at(self, pos: QPoint) -> int | None:
        # Black keys lie on top, so they win where they overlap white keys.
        for black in (True, False):
            for n in range(self.lowest, self.highest + 1):
                if is_black(n) == black and self.key_rect(n).contains(pos.toPointF()):
                    return n
        return None

    def _velocity(self, note: int, pos: QPoint) -> int:
        r = self.key_rect(note)
        depth = (pos.y() - r.top()) / max(1.0, r.height())
        return max(30, min(127, round(40 + 87 * depth)))

    # Showing notes --------------------------------------------------------------------
    def set_lit(self, note: int, on: bool) -> None:
        if on == (note in self._lit):
            return
        (self._lit.add if on else self._lit.discard)(note)
        if self.lowest <= note <= self.highest:
            self.update(self.key_rect(note).toAlignedRect().adjusted(-2, 0, 2, 0))

    def clear_lit(self) -> None:
        self._lit.clear()
        self.update()

    def lit_notes(self) -> set[int]:
        return set(self._lit)

    def set_computer_range(self, first: int, last: int) -> None:
        self._range = (first, last)
        self.update()

    # Mouse ------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        note = self.note_at(event.position().toPoint())
        if note is not None:
            self._press(note, event.position().toPoint())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._mouse_note is None:
            return
        note = self.note_at(event.position().toPoint())
        if note is not None and note != self._mouse_note:
            self._release()
            self._press(note, event.position().toPoint())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._release()

    def _press(self, note: int, pos: QPoint) -> None:
        self._mouse_note = note
        self.note_pressed.emit(note, self._velocity(note, pos))

    def _release(self) -> None:
        note, self._mouse_note = self._mouse_note, None
        if note is not None:
            self.note_released.emit(note)

    # Painting ---------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = QColor(theme.ACCENT)
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, small.pointSizeF() - 2))
        p.setFont(small)
        outline = QPen(QColor("#1a1c20"), 1)
        for n in range(self.lowest, self.highest + 1):
            if is_black(n):
                continue
            r = self.key_rect(n).adjusted(0.5, 0, -0.5, -0.5)
            p.setPen(outline)
            p.setBrush(accent if n in self._lit else QColor("#eef0f3"))
            p.drawRoundedRect(r, 3, 3)
            if n % 12 == 0:
                p.setPen(QColor("#0b1220") if n in self._lit else QColor("#7b828c"))
                p.drawText(r.adjusted(0, 0, 0, -4).toRect(),
                           int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom),
                           note_name(n))
        for n in range(self.lowest, self.highest + 1):
            if not is_black(n):
                continue
            r = self.key_rect(n)
            p.setPen(outline)
            p.setBrush(accent.darker(115) if n in self._lit else QColor("#23262b"))
            p.drawRoundedRect(r, 2, 2)
        if self._range is not None:
            # A thin bar over the keys the computer keyboard plays.
            first = max(self._range[0], self.lowest)
            last = min(self._range[1], self.highest)
            if first <= last:
                left = self.key_rect(first).left()
                right = self.key_rect(last).right()
                p.fillRect(QRect(round(left), 0, round(right - left), 3), accent)
        p.end()
