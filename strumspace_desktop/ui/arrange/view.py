"""The arrangement view: the canvas, and below it the tools (pointer, split), the
snap grid, playhead follow, zoom buttons and the horizontal scroll bar.

The tools sit below the lanes so the canvas's ruler lines up with the track
list's header and its lanes with the track list's rows (the window scrolls both
vertically together). Lanes follow the track list's rows, one per track of every
kind (MIDI, audio, chord); a track without a row (none today) would get a lane
after them, named in the lane.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.audio.client import EngineStatus
from strumspace_desktop.audio.protocol import TransportState
from strumspace_desktop.core.document import Document
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.core.tracks import Change, Track, TrackList
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.arrange.canvas import FOLLOW_MODES, ZOOM_STEP, ArrangeCanvas
from strumspace_desktop.ui.arrange.grid import GRIDS
from strumspace_desktop.ui.notice_area import NoticeArea

FOLLOW_LABELS = {"page": "Follow: page", "continuous": "Follow: scroll", "off": "Follow: off"}


class ArrangeView(QWidget):
    open_clip_requested = Signal(str)  # clip id: the window opens the piano roll

    def __init__(self, tracks: TrackList, parent: QWidget | None = None, *,
                 notices: NoticeArea | None = None,
                 adapter: EngineAdapter | None = None) -> None:
        super().__init__(parent)
        self.tracks = tracks
        self.adapter = adapter
        self._denominator = 4
        self.canvas = ArrangeCanvas(tracks.document, lambda: [t.id for t in tracks.tracks],
                                    notices)
        self.canvas.open_clip_requested.connect(self.open_clip_requested)
        self.canvas.locate_requested.connect(self._locate)
        self.canvas.view_changed.connect(self._sync_scrollbar)

        self.pointer_button = self._tool_button("Pointer", "Select, move and resize clips",
                                                "pointer")
        self.split_button = self._tool_button("Split", "Click a clip to cut it in two "
                                              "(Ctrl+E splits at the playhead)", "split")
        self.pointer_button.setChecked(True)
        self.grid_combo = QComboBox()
        self.grid_combo.setToolTip("Snap grid (hold Alt or Shift while dragging to bypass)")
        for g in GRIDS:
            self.grid_combo.addItem(g.label, g.key)
        self.grid_combo.setCurrentIndex([g.key for g in GRIDS].index(self.canvas.grid))
        self.grid_combo.currentIndexChanged.connect(
            lambda _i: setattr(self.canvas, "grid", self.grid_combo.currentData()))
        self.follow_combo = QComboBox()
        self.follow_combo.setToolTip("How the view follows the playhead while playing")
        for mode in FOLLOW_MODES:
            self.follow_combo.addItem(FOLLOW_LABELS[mode], mode)
        self.follow_combo.currentIndexChanged.connect(
            lambda _i: setattr(self.canvas, "follow", self.follow_combo.currentData()))
        zoom_out = self._button("−", "Zoom out (Ctrl+−, Ctrl+wheel)",
                                lambda: self.canvas.zoom(1 / ZOOM_STEP))
        zoom_in = self._button("+", "Zoom in (Ctrl++, Ctrl+wheel)",
                               lambda: self.canvas.zoom(ZOOM_STEP))
        self.scrollbar = QScrollBar(Qt.Orientation.Horizontal)
        self.scrollbar.valueChanged.connect(lambda v: self.canvas.set_scroll(float(v)))
        for widget in (self.grid_combo, self.follow_combo, self.scrollbar):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.setSpacing(4)
        for w in (self.pointer_button, self.split_button):
            bar.addWidget(w)
        snap_label = QLabel("Snap")
        snap_label.setObjectName("FieldLabel")
        bar.addWidget(snap_label)
        bar.addWidget(self.grid_combo)
        bar.addWidget(self.follow_combo)
        bar.addWidget(zoom_out)
        bar.addWidget(zoom_in)
        bar.addWidget(self.scrollbar, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(bar)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._unsubscribe = tracks.subscribe(self._tracks_changed)
        self._show_selected_track()

    def _tool_button(self, text: str, tip: str, tool: str) -> QToolButton:
        b = self._button(text, tip, lambda: self.set_tool(tool))
        b.setCheckable(True)
        return b

    @staticmethod
    def _button(text: str, tip: str, slot: Any) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.clicked.connect(lambda _c=False: slot())
        return b

    # Settings ------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.canvas.tool = tool
        self.pointer_button.setChecked(tool == "pointer")
        self.split_button.setChecked(tool == "split")

    def set_grid(self, key: str) -> None:
        self.grid_combo.setCurrentIndex(self.grid_combo.findData(key))

    def set_follow(self, mode: str) -> None:
        self.follow_combo.setCurrentIndex(self.follow_combo.findData(mode))

    # The song ------------------------------------------------------------------------------
    def bind_projects(self, projects: Any) -> None:
        """Follow a ProjectController: its document, and its project for audio imports."""
        self.canvas.project_provider = lambda: projects.project
        projects.project_replaced.connect(lambda: self.set_document(projects.document))
        self.set_document(projects.document)

    def set_document(self, document: Document) -> None:
        if document is not self.canvas.document:
            self.canvas.set_document(document)

    def _tracks_changed(self, change: Change, track: Track | None) -> None:
        if self.tracks.document is not self.canvas.document:
            self.canvas.set_document(self.tracks.document)
        elif change in (Change.ADDED, Change.REMOVED):
            self.canvas.refresh_rows()
        if change is Change.SELECTED or change is Change.REMOVED:
            self._show_selected_track()
        else:
            self.canvas.update()

    def _show_selected_track(self) -> None:
        sel = self.tracks.selected
        self.canvas.selected_track = sel.id if sel is not None else None
        self.canvas.update()

    # The transport -------------------------------------------------------------------------
    def show_status(self, status: EngineStatus) -> None:
        if not status.numerator:
            return
        self._denominator = status.denominator or 4
        tick = round(status.beat * PPQ * 4 / self._denominator)
        self.canvas.show_playhead(max(0, tick), status.state != TransportState.STOPPED)

    def _locate(self, tick: int) -> None:
        if self.adapter is not None:
            self.adapter.locate(tick / (PPQ * 4 / self._denominator))

    # Scrolling -------------------------------------------------------------------------------
    def _sync_scrollbar(self) -> None:
        sb = self.scrollbar
        sb.blockSignals(True)
        sb.setRange(0, max(0, int(self.canvas.content_width() - self.canvas.width())))
        sb.setPageStep(max(1, self.canvas.width()))
        sb.setSingleStep(20)
        sb.setValue(int(self.canvas.timeline.scroll))
        sb.blockSignals(False)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._sync_scrollbar()
