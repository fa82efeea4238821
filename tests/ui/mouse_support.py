"""Mouse gestures sent to a widget as real Qt events (press, move, release, clicks,
drags and the wheel), shared by the arrangement, piano roll and mixer tests."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

NO_MODS = Qt.KeyboardModifier.NoModifier
LEFT = Qt.MouseButton.LeftButton


def send_mouse(widget: QWidget, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton,
               buttons: Qt.MouseButton, mods: Qt.KeyboardModifier) -> None:
    glob = QPointF(widget.mapToGlobal(pos.toPoint()))
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, glob, button, buttons, mods))


def press(widget: QWidget, pos: QPointF, mods: Qt.KeyboardModifier = NO_MODS,
          button: Qt.MouseButton = LEFT) -> None:
    send_mouse(widget, QEvent.Type.MouseButtonPress, pos, button, button, mods)


def release(widget: QWidget, pos: QPointF, mods: Qt.KeyboardModifier = NO_MODS,
            button: Qt.MouseButton = LEFT) -> None:
    send_mouse(widget, QEvent.Type.MouseButtonRelease, pos, button, Qt.MouseButton.NoButton,
               mods)


def move(widget: QWidget, pos: QPointF, mods: Qt.KeyboardModifier = NO_MODS) -> None:
    """A move with the left button held (a drag step)."""
    send_mouse(widget, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, LEFT, mods)


def click(widget: QWidget, pos: QPointF, mods: Qt.KeyboardModifier = NO_MODS,
          button: Qt.MouseButton = LEFT) -> None:
    press(widget, pos, mods, button)
    release(widget, pos, mods, button)


def double_click(widget: QWidget, pos: QPointF, mods: Qt.KeyboardModifier = NO_MODS) -> None:
    """What Qt delivers for a double click: press, release, double-click, release."""
    click(widget, pos, mods)
    send_mouse(widget, QEvent.Type.MouseButtonDblClick, pos, LEFT, LEFT, mods)
    release(widget, pos, mods)


def drag(widget: QWidget, start: QPointF, end: QPointF,
         mods: Qt.KeyboardModifier = NO_MODS, steps: int = 6) -> None:
    """Press, move in steps and release, holding `mods` all along: one gesture."""
    press(widget, start, mods)
    for i in range(1, steps + 1):
        move(widget, start + (end - start) * (i / steps), mods)
    release(widget, end, mods)


def wheel(widget: QWidget, pos: QPointF, dy: int, mods: Qt.KeyboardModifier = NO_MODS,
          dx: int = 0) -> QWheelEvent:
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(dx, dy), Qt.MouseButton.NoButton, mods,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event
