"""Transport icons painted with QPainter.

Painted rather than taken from a font: the glyphs (▶ ■ ● ⟲) are missing from many
systems' fonts, and painted shapes stay crisp at any scale.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

Painter = Callable[[QPainter, float], None]


def _play(p: QPainter, s: float) -> None:
    path = QPainterPath()
    path.moveTo(s * 0.3, s * 0.2)
    path.lineTo(s * 0.8, s * 0.5)
    path.lineTo(s * 0.3, s * 0.8)
    path.closeSubpath()
    p.fillPath(path, p.pen().color())


def _stop(p: QPainter, s: float) -> None:
    p.fillRect(QRectF(s * 0.27, s * 0.27, s * 0.46, s * 0.46), p.pen().color())


def _record(p: QPainter, s: float) -> None:
    p.setBrush(p.pen().color())
    p.drawEllipse(QPointF(s * 0.5, s * 0.5), s * 0.24, s * 0.24)


def _loop(p: QPainter, s: float) -> None:
    pen = QPen(p.pen().color(), s * 0.09)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    r = QRectF(s * 0.2, s * 0.28, s * 0.6, s * 0.44)
    p.drawArc(r, 30 * 16, 300 * 16)
    head = QPainterPath()
    tip = QPointF(s * 0.76, s * 0.36)
    head.moveTo(tip)
    head.lineTo(tip + QPointF(s * 0.06, -s * 0.16))
    head.lineTo(tip + QPointF(-s * 0.13, -s * 0.06))
    head.closeSubpath()
    p.fillPath(head, pen.color())


def _metronome(p: QPainter, s: float) -> None:
    c = p.pen().color()
    body = QPainterPath()
    body.moveTo(s * 0.38, s * 0.18)
    body.lineTo(s * 0.62, s * 0.18)
    body.lineTo(s * 0.78, s * 0.82)
    body.lineTo(s * 0.22, s * 0.82)
    body.closeSubpath()
    p.setPen(QPen(c, s * 0.07))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(body)
    p.drawLine(QPointF(s * 0.5, s * 0.7), QPointF(s * 0.7, s * 0.3))


def _learn(p: QPainter, s: float) -> None:
    # A knob with a pointer: "move a control to bind it".
    c = p.pen().color()
    p.setPen(QPen(c, s * 0.08))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(s * 0.5, s * 0.5), s * 0.28, s * 0.28)
    p.drawLine(QPointF(s * 0.5, s * 0.5), QPointF(s * 0.68, s * 0.32))


_PAINTERS: dict[str, Painter] = {
    "play": _play, "stop": _stop, "record": _record, "loop": _loop,
    "metronome": _metronome, "learn": _learn,
}


def icon(name: str, colour: str = "#e3e6ea", checked_colour: str | None = None,
         size: int = 32) -> QIcon:
    """An icon in `colour`; with `checked_colour`, its On state uses that colour."""
    ic = QIcon()
    ic.addPixmap(_pixmap(name, colour, size), QIcon.Mode.Normal, QIcon.State.Off)
    ic.addPixmap(_pixmap(name, checked_colour or colour, size), QIcon.Mode.Normal,
                 QIcon.State.On)
    ic.addPixmap(_pixmap(name, "#5d636b", size), QIcon.Mode.Disabled, QIcon.State.Off)
    return ic


def _pixmap(name: str, colour: str, size: int) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(QColor(colour)))
    _PAINTERS[name](p, float(size))
    p.end()
    return pm
