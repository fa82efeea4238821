"""A dock that one shortcut shows and hides (View > Mixer F3, Chords F4, Generate Ctrl+G)."""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget


class ToggleDock(QDockWidget):
    """`toggle()` hides the dock when it is in view; otherwise shows it in front of its
    tab mates and calls `on_shown()`."""

    def toggle(self) -> None:
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self.hide()
        else:
            self.show()
            self.raise_()
            self.on_shown()

    def on_shown(self) -> None:
        """Called after `toggle` brought the dock into view."""
