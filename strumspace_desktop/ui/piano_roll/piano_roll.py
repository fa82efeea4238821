"""The piano roll: edit one MIDI clip's notes.

Assembles the parts (toolbar, ruler, side keyboard, note grid, velocity lane,
scroll bars) around one `Viewport` and one `NoteEditor`, follows the document
(any change to the clip, its track, the loop or the meters repaints) and the
engine's transport (the playhead, with the view following playback).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.audio.client import EngineStatus
from strumspace_desktop.audio.protocol import TransportState
from strumspace_desktop.core.document import Change, Document, DocumentError, MidiClip
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui import theme
from strumspace_desktop.ui.adapter import EngineAdapter

from .audition import Auditioner
from .editor import NoteEditor
from .note_grid import NoteGrid, Tool
from .ruler import Ruler
from .scales import KEY_NAMES, SCALES
from .side_keyboard import KEYBOARD_WIDTH, SideKeyboard
from .snap import DEFAULT_SNAP, SNAP_CHOICES
from .velocity_lane import VelocityLane
from .viewport import Viewport

EXTRA_BARS_TICKS = PPQ * 4 * 4  # room to draw past the last note
FOLLOW_MARGIN = 0.1  # when following playback, the playhead lands this far into the view


class PianoRoll(QWidget):
    clip_changed = Signal(str)  # the clip shown ("" when none)

    def __init__(self, adapter: EngineAdapter | None = None, document: Document | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PianoRoll")
        self.setStyleSheet(f"#PianoRoll QToolButton:checked {{ background: {theme.ACCENT}; "
                           "color: #0b1220; }")
        self.document: Document | None = None
        self.clip: MidiClip | None = None
        self._unsubscribe: Callable[[], None] = lambda: None
        self.viewport = Viewport(self)
        self.editor = NoteEditor()
        self.auditioner = Auditioner(adapter)
        self.grid = NoteGrid(self.viewport, self.editor)
        self.ruler = Ruler(self.grid)
        self.keyboard = SideKeyboard(self.viewport)
        self.velocity = VelocityLane(self.viewport, self.editor)
        self.hbar = QScrollBar(Qt.Orientation.Horizontal)
        self.vbar = QScrollBar(Qt.Orientation.Vertical)
        self.follow = QCheckBox("Follow")
        self.follow.setChecked(True)
        self.follow.setToolTip("Scroll with the playhead during playback")
        self._build()
        self._connect(adapter)
        if document is not None:
            self.set_document(document)

    # Layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        self.tool_buttons: dict[Tool, QToolButton] = {}
        self.tool_group = QButtonGroup(self)
        tools: tuple[tuple[Tool, str, str], ...] = (
            ("select", "Select", "Select, move and resize notes; double-click draws"),
            ("draw", "Draw", "Draw notes (drag to set the length)"),
            ("erase", "Erase", "Erase the notes you click or drag over"))
        for tool, text, tip in tools:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setCheckable(True)
            b.setObjectName(f"PianoRoll{text}Tool")
            self.tool_group.addButton(b)
            self.tool_buttons[tool] = b
            bar.addWidget(b)
            b.clicked.connect(lambda _c=False, t=tool: self.set_tool(t))
        self.tool_buttons["select"].setChecked(True)
        bar.addSpacing(10)
        bar.addWidget(self._label("Snap"))
        self.snap_box = QComboBox()
        self.snap_box.addItems(list(SNAP_CHOICES))
        self.snap_box.setCurrentText(DEFAULT_SNAP)
        self.snap_box.setToolTip("Snap to grid (hold Alt while dragging to place freely)")
        bar.addWidget(self.snap_box)
        bar.addSpacing(10)
        bar.addWidget(self._label("Key"))
        self.key_box = QComboBox()
        self.key_box.addItems(list(KEY_NAMES))
        bar.addWidget(self.key_box)
        self.scale_box = QComboBox()
        self.scale_box.addItems(list(SCALES))
        self.scale_box.setToolTip("Rows outside the scale are shaded")
        bar.addWidget(self.scale_box)
        bar.addSpacing(10)
        for text, tip, fn in (("−", "Zoom out in time (Ctrl+wheel)",
                               lambda: self.viewport.zoom_x(1 / 1.5)),
                              ("+", "Zoom in in time (Ctrl+wheel)",
                               lambda: self.viewport.zoom_x(1.5)),
                              ("↕−", "Shorter rows (Ctrl+Shift+wheel)",
                               lambda: self.viewport.zoom_y(1 / 1.25)),
                              ("↕+", "Taller rows (Ctrl+Shift+wheel)",
                               lambda: self.viewport.zoom_y(1.25))):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _c=False, f=fn: f())
            bar.addWidget(b)
        bar.addWidget(self.follow)
        bar.addSpacing(10)
        self.title = QLabel("No clip open: double-click a MIDI clip in the arrangement")
        self.title.setObjectName("FieldLabel")
        bar.addWidget(self.title, 1)
        self.note_label = QLabel()
        self.note_label.setObjectName("FieldLabel")
        bar.addWidget(self.note_label)

        area = QGridLayout()
        area.setContentsMargins(0, 0, 0, 0)
        area.setSpacing(0)
        corner = QLabel()
        corner.setFixedWidth(KEYBOARD_WIDTH)
        area.addWidget(corner, 0, 0)
        area.addWidget(self.ruler, 0, 1)
        area.addWidget(self.keyboard, 1, 0)
        area.addWidget(self.grid, 1, 1)
        area.addWidget(self.vbar, 1, 2)
        vel_label = QLabel("Vel")
        vel_label.setObjectName("FieldLabel")
        vel_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        area.addWidget(vel_label, 2, 0)
        area.addWidget(self.velocity, 2, 1)
        area.addWidget(self.hbar, 3, 1)
        area.setRowStretch(1, 1)
        area.setColumnStretch(1, 1)

        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(0)
        v.addLayout(bar)
        v.addLayout(area, 1)

    @staticmethod
    def _label(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("FieldLabel")
        return label

    def _connect(self, adapter: EngineAdapter | None) -> None:
        self.snap_box.currentTextChanged.connect(self.set_snap)
        self.key_box.currentIndexChanged.connect(lambda i: self.set_scale(i, None))
        self.scale_box.currentTextChanged.connect(lambda s: self.set_scale(None, s))
        self.viewport.changed.connect(self._viewport_changed)
        self.hbar.valueChanged.connect(lambda v: self.viewport.scroll_to(x=v))
        self.vbar.valueChanged.connect(lambda v: self.viewport.scroll_to(y=v))
        self.grid.audition.connect(self.auditioner.start)
        self.grid.audition_end.connect(lambda: self.auditioner.stop())
        self.grid.message.connect(self._message)
        self.keyboard.note_pressed.connect(self.auditioner.start)
        self.keyboard.note_released.connect(self.auditioner.stop)
        if adapter is not None:
            adapter.status_changed.connect(self.show_status)
            self.ruler.locate_requested.connect(lambda tick: adapter.locate(
                tick / self.grid.meters.meter_at_tick(tick).ticks_per_beat))

    # Document and clip ------------------------------------------------------------------
    def set_document(self, document: Document | None) -> None:
        """Follow another document (New, Open); the open clip closes."""
        self.close_clip()
        self._unsubscribe()
        self._unsubscribe = lambda: None
        self.document = document
        if document is not None:
            self._unsubscribe = document.subscribe(self._document_changed)

    def open_clip(self, clip_id: str) -> None:
        """Show and edit a MIDI clip of the document; DocumentError if there is none."""
        doc = self.document
        if doc is None:
            raise DocumentError("the piano roll has no document")
        clip = doc.clip(clip_id)
        if not isinstance(clip, MidiClip):
            raise DocumentError("only MIDI clips open in the piano roll")
        self.grid.cancel_gesture()
        self.velocity.end_drag()
        self.clip = clip
        self.editor.set_target(doc, clip_id)
        self._refresh_clip()
        self._refresh_song()
        notes = self.editor.notes
        self.viewport.scroll_to(x=0)
        if notes:
            pitches = sorted(n.pitch for n in notes.values())
            self.viewport.centre_on_pitch(pitches[len(pitches) // 2])
        else:
            self.viewport.centre_on_pitch(60)
        self.clip_changed.emit(clip_id)
        self._update_all()

    def close_clip(self) -> None:
        self.grid.cancel_gesture()
        self.velocity.end_drag()
        self.auditioner.stop()
        had = self.clip is not None
        self.clip = None
        self.editor.set_target(None, None)
        self.title.setText("No clip open: double-click a MIDI clip in the arrangement")
        self.note_label.setText("")
        if had:
            self.clip_changed.emit("")
        self._update_all()

    @property
    def clip_id(self) -> str | None:
        return self.clip.id if self.clip is not None else None

    def _refresh_clip(self) -> bool:
        """Read the clip and its track again; False (and closed) if it is gone."""
        doc, clip = self.document, self.clip
        if doc is None or clip is None:
            return False
        try:
            fresh = doc.clip(clip.id)
            track = doc.track(fresh.track_id)
        except DocumentError:
            self.close_clip()
            return False
        if not isinstance(fresh, MidiClip):
            self.close_clip()
            return False
        self.clip = fresh
        g = self.grid
        g.clip_start, g.clip_length = fresh.start, fresh.length
        g.channel = track.instrument.channel
        self.auditioner.channel = track.instrument.channel
        colour = theme.track_colour(track.instrument.channel)
        if track.color:
            custom = QColor(track.color)
            if custom.isValid():
                colour = custom
        g.colour = colour
        self.velocity.colour = colour
        self.title.setText(f"{track.name} · {fresh.name or 'MIDI clip'}")
        self._update_extent()
        return True

    def _refresh_song(self) -> None:
        doc = self.document
        if doc is None:
            return
        self.grid.meters = doc.time_signature_map()
        loop = doc.loop()
        start = self.grid.clip_start
        self.grid.loop = (loop.start - start, loop.end - start) \
            if loop.enabled and loop.end > loop.start else None

    def _update_extent(self) -> None:
        notes = self.editor.notes
        last = max((n.end for n in notes.values()), default=0)
        self.viewport.set_content_ticks(max(self.grid.clip_length, last) + EXTRA_BARS_TICKS)
        sel = len(self.editor.selection)
        self.note_label.setText(f"{len(notes)} notes" + (f", {sel} selected" if sel else ""))

    def _document_changed(self, change: Change) -> None:
        clip = self.clip
        if clip is None:
            return
        if clip.id in change.clips or clip.track_id in change.tracks:
            if not self.editor.writing:  # the editor patches its own edits
                self.editor.invalidate()
            if not self._refresh_clip():
                return
        if change.meta or change.time_signatures:
            self._refresh_song()
        self._update_all()

    def _update_all(self) -> None:
        for w in (self.grid, self.ruler, self.keyboard, self.velocity):
            w.update()

    # Settings -------------------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        self.grid.cancel_gesture()
        self.grid.tool = tool
        self.tool_buttons[tool].setChecked(True)

    def set_snap(self, label: str) -> None:
        if label not in SNAP_CHOICES:
            raise ValueError(f"unknown snap {label!r}")
        self.grid.snap = SNAP_CHOICES[label]
        if self.snap_box.currentText() != label:
            self.snap_box.setCurrentText(label)
        self.grid.update()

    def set_scale(self, root: int | None, scale: str | None) -> None:
        if root is not None:
            self.grid.key_root = root
            if self.key_box.currentIndex() != root:
                self.key_box.setCurrentIndex(root)
        if scale is not None:
            if scale not in SCALES:
                raise ValueError(f"unknown scale {scale!r}")
            self.grid.scale = scale
            if self.scale_box.currentText() != scale:
                self.scale_box.setCurrentText(scale)
        self.grid.update()

    def _message(self, text: str) -> None:
        self.note_label.setText(text)

    # View -----------------------------------------------------------------------------------
    def _viewport_changed(self, zoomed: bool) -> None:
        vp = self.viewport
        for bar, total, page, value in (
                (self.hbar, vp.content_width(), vp.width, vp.scroll_x),
                (self.vbar, vp.content_height(), vp.height, vp.scroll_y)):
            bar.blockSignals(True)
            bar.setRange(0, max(0, round(total - page)))
            bar.setPageStep(max(1, round(page)))
            bar.setSingleStep(max(1, round(page / 20)))
            bar.setValue(round(value))
            bar.blockSignals(False)
        self.ruler.update()

    def show_status(self, status: EngineStatus) -> None:
        """Move the playhead to the transport's position (engine status, ~30 Hz)."""
        if self.clip is None or not status.numerator or not status.denominator:
            return
        playing = status.state != TransportState.STOPPED
        song_tick = status.beat * PPQ * 4 / status.denominator
        self.set_playhead(song_tick - self.clip.start, playing)

    def set_playhead(self, tick: float | None, playing: bool) -> None:
        """Clip-relative playhead; while playing, the view pages to keep it in sight."""
        vp = self.viewport
        if tick is not None and playing and self.follow.isChecked():
            x = vp.x_of(tick)
            if x < 0 or x > vp.width - 8:
                vp.scroll_to(x=tick * vp.px_per_tick - vp.width * FOLLOW_MARGIN)
        self.grid.set_playhead(tick, playing)
        self.ruler.playhead_moved()
