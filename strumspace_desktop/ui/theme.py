"""The dark theme: Fusion style, a dark palette, and a little QSS for the DAW parts.

Fusion draws the same on every platform, so screenshots and tests look like what
musicians see. The palette does most of the work; the QSS only styles what the
palette cannot (toggle colours of transport buttons, track rows, the LCD display).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QToolButton

BACKGROUND = "#1e2024"
PANEL = "#26292e"
RAISED = "#30343a"
BORDER = "#3b4048"
TEXT = "#e3e6ea"
DIM_TEXT = "#8d949e"
ACCENT = "#4fa3ff"
PLAY_GREEN = "#3ec46d"
RECORD_RED = "#ff4d4d"
LOOP_AMBER = "#f0b429"
MUTE_AMBER = "#e8a33d"
SOLO_YELLOW = "#e4d351"
LEARN_MAGENTA = "#d45cff"

# One colour per synth channel, so a track's colour stays put when others come and go.
TRACK_COLOURS = (
    "#4fa3ff", "#3ec46d", "#f0b429", "#ff7a59", "#b58cff", "#2ec4b6", "#ff6fae", "#9ccc65",
    "#ffd166", "#ef476f", "#6ec1e4", "#c77dff", "#80ed99", "#f4a261", "#90a4ae", "#e9c46a",
)

_QSS = f"""
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QToolTip {{ color: {TEXT}; background: {RAISED}; border: 1px solid {BORDER}; }}
#TransportBar, #TrackHeader, #PianoPanel {{
    background: {PANEL}; border-bottom: 1px solid {BORDER};
}}
#PianoPanel {{ border-top: 1px solid {BORDER}; border-bottom: none; }}
#PositionDisplay {{
    background: #121417; border: 1px solid {BORDER}; border-radius: 4px;
}}
#PositionBBT {{ color: {ACCENT}; font-size: 20px; font-weight: 600; }}
#PositionClock {{ color: {DIM_TEXT}; font-size: 12px; }}
QToolButton {{
    background: {RAISED}; border: 1px solid {BORDER}; border-radius: 4px;
    padding: 4px 8px; color: {TEXT};
}}
QToolButton:hover {{ border-color: #58606b; }}
QToolButton:pressed {{ background: #3a3f46; }}
QToolButton#PlayButton:checked {{ background: {PLAY_GREEN}; color: #0c1a10; }}
QToolButton#RecordButton:checked {{ background: {RECORD_RED}; color: #1a0c0c; }}
QToolButton#LoopButton:checked, QToolButton#MetronomeButton:checked {{
    background: {LOOP_AMBER}; color: #1a140a;
}}
QToolButton#LearnButton:checked {{ background: {LEARN_MAGENTA}; color: #1a0c1f; }}
QToolButton#MuteButton, QToolButton#SoloButton {{
    padding: 1px 4px; min-width: 16px; font-weight: 600;
}}
QToolButton#MuteButton:checked {{ background: {MUTE_AMBER}; color: #1a140a; }}
QToolButton#SoloButton:checked {{ background: {SOLO_YELLOW}; color: #1a180a; }}
QToolButton#AddTrackButton {{
    background: transparent; border: 1px solid transparent; color: {ACCENT}; padding: 2px 6px;
}}
QToolButton#AddTrackButton:hover {{ border-color: {BORDER}; background: {RAISED}; }}
#TrackRow {{ background: {PANEL}; border-bottom: 1px solid {BORDER}; }}
#TrackRow[selected="true"] {{ background: #2f3a48; }}
#TrackName {{ font-weight: 600; }}
#ChannelBadge {{
    color: {DIM_TEXT}; background: #1b1d21; border: 1px solid {BORDER}; border-radius: 3px;
    font-size: 9px;
}}
#TrackInstrument, #FieldLabel {{ color: {DIM_TEXT}; }}
QStatusBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; color: {DIM_TEXT}; }}
QStatusBar QLabel {{ color: {DIM_TEXT}; padding: 0 6px; }}
QStatusBar QLabel#ProblemLabel {{ color: #ff8a80; font-weight: 600; }}
*[learnTarget="true"] {{ border: 1px dashed {LEARN_MAGENTA}; }}
*[learnArmed="true"] {{ border: 2px solid {LEARN_MAGENTA}; }}
"""


def dark_palette() -> QPalette:
    p = QPalette()
    colours = {
        QPalette.ColorRole.Window: BACKGROUND,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: "#17191c",
        QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.ToolTipBase: RAISED,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: RAISED,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#0b1220",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.PlaceholderText: DIM_TEXT,
        QPalette.ColorRole.Light: "#3f444c",
        QPalette.ColorRole.Midlight: "#353a41",
        QPalette.ColorRole.Mid: "#2a2e34",
        QPalette.ColorRole.Dark: "#15171a",
        QPalette.ColorRole.Shadow: "#000000",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#5d636b"))
    return p


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    font = QFont(app.font())
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.5)
    app.setFont(font)
    app.setStyleSheet(_QSS)


def track_colour(channel: int) -> QColor:
    return QColor(TRACK_COLOURS[channel % len(TRACK_COLOURS)])


def toggle_button(name: str, text: str, tip: str) -> QToolButton:
    """A checkable tool button styled by its object name (MuteButton, SoloButton, ...)
    that never takes the keyboard focus from the computer-keyboard piano."""
    b = QToolButton()
    b.setObjectName(name)
    b.setText(text)
    b.setToolTip(tip)
    b.setCheckable(True)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return b
