"""Non-blocking messages shown at the top of the window.

A problem (no audio device, a broken SoundFont, damaged settings) must be said in
words, but must not stop the musician with a modal box: each notice stays until it
is dismissed or solved, and can offer actions (e.g. open the audio settings, or
Recover / Discard for an autosave).
Notices have a key, so a solved problem removes its own notice.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from strumspace_desktop.ui import theme

LEVEL_COLOURS = {"error": "#ff6b6b", "warning": theme.LOOP_AMBER, "info": theme.ACCENT}


class Notice(QFrame):
    def __init__(self, text: str, level: str,
                 actions: list[tuple[str, Callable[[], object]]],
                 on_close: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        colour = LEVEL_COLOURS.get(level, theme.ACCENT)
        self.setObjectName("Notice")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            f"#Notice {{ background: #2b2f36; border-left: 4px solid {colour};"
            f" border-bottom: 1px solid {theme.BORDER}; }}")
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 6, 6)
        row.addWidget(self.label, 1)
        self.action_buttons: dict[str, QToolButton] = {}
        for label, slot in actions:
            button = QToolButton()
            button.setText(label)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.action_buttons[label] = button
        # The first action, for notices that offer one.
        self.action_button: QToolButton | None = next(iter(self.action_buttons.values()), None)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.clicked.connect(on_close)
        row.addWidget(close)


class NoticeArea(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._notices: dict[str, Notice] = {}
        self.hide()

    def show_notice(self, key: str, text: str, level: str = "error",
                    action: tuple[str, Callable[[], None]] | None = None, *,
                    actions: list[tuple[str, Callable[[], object]]] | None = None) -> None:
        """Show (or replace) the notice with this key, with one `action` or several."""
        self.clear(key)
        buttons = ([action] if action is not None else []) + list(actions or [])
        notice = Notice(text, level, buttons, lambda: self.clear(key), self)
        self._notices[key] = notice
        self._layout.addWidget(notice)
        self.show()

    def clear(self, key: str) -> None:
        notice = self._notices.pop(key, None)
        if notice is not None:
            self._layout.removeWidget(notice)
            notice.deleteLater()
        self.setVisible(bool(self._notices))

    def texts(self) -> dict[str, str]:
        return {k: n.label.text() for k, n in self._notices.items()}

    def notice(self, key: str) -> Notice | None:
        return self._notices.get(key)
