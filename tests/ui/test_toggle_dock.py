"""ToggleDock: one shortcut shows a dock (in front of its tab mates) and hides it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow
from pytestqt.qtbot import QtBot

from strumspace_desktop.ui.toggle_dock import ToggleDock


class _Dock(ToggleDock):
    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.setWidget(QLabel(title))
        self.shown = 0

    def on_shown(self) -> None:
        self.shown += 1


def test_toggle_shows_raises_and_hides(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    a, b = _Dock("A"), _Dock("B")
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, a)
    window.tabifyDockWidget(a, b)  # b is in front: a is visible but not in view
    window.show()
    qtbot.waitExposed(window)
    b.raise_()
    qtbot.waitUntil(lambda: a.visibleRegion().isEmpty())
    a.toggle()  # behind its tab mate: brought to the front, not hidden
    qtbot.waitUntil(lambda: not a.visibleRegion().isEmpty())
    assert a.isVisible() and a.shown == 1
    a.toggle()  # in view: hidden
    assert not a.isVisible() and a.shown == 1
    a.toggle()
    assert a.isVisible() and a.shown == 2
