"""The track list: one row per track of the song, in its order, whatever its kind.

MIDI rows show the name, instrument, channel, record arm, mute, solo and volume;
audio rows the name, the input the track records (In 1, In 2 or In 1+2 stereo),
record arm, mute, solo and volume; chord rows the name only (chords are edited in
the arrangement's chord lane). Every row has the same height, so the rows line up
with the arrangement's lanes. Clicking a row selects its track; live MIDI plays
the selected track when it is MIDI, else the MIDI track selected last.

Rows edit the core TrackList (a view over the song document) directly and redraw
from its change notifications, so an undo, a redo or a partner's edit shows here
like a click does, and every other view (the arrangement, the engine) stays in step.
A fader drag, press to release, is one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.core.document import DocumentError
from strumspace_desktop.core.tracks import Change, Track, TrackList
from strumspace_desktop.record.input_choice import INPUT_LABELS
from strumspace_desktop.ui import theme
from strumspace_desktop.ui.record_controller import arm_state

ROW_HEIGHT = 56  # every kind: the arrangement's lanes have this height too
HEADER_HEIGHT = 28
PANEL_WIDTH = 340
# As the arrangement draws audio and chord lanes (a track's own colour wins).
AUDIO_COLOUR = "#6ec1e4"
CHORD_COLOUR = "#c77dff"


class ElidedLabel(QLabel):
    """A label that ends in "…" when narrow, so long instrument names never push the
    row's buttons out of line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:
        self._full = text
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                              max(0, self.width()))
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


class TrackRow(QFrame):
    clicked = Signal(str)
    menu_requested = Signal(str, QPoint)

    def __init__(self, tracks: TrackList, track: Track, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TrackRow")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedHeight(ROW_HEIGHT)
        self.tracks = tracks
        self.track_id = track.id
        self.kind = track.kind  # a track's kind never changes
        self._colour = self._colour_of(track)

        self.name_label = ElidedLabel()
        self.name_label.setObjectName("TrackName")
        self.instrument_label = ElidedLabel()
        self.instrument_label.setObjectName("TrackInstrument")
        self.channel_label = QLabel()
        self.channel_label.setObjectName("ChannelBadge")
        self.channel_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.channel_label.setFixedSize(52, 16)
        self.mute_button = theme.toggle_button("MuteButton", "M", "Mute")
        self.solo_button = theme.toggle_button("SoloButton", "S", "Solo")
        self.arm_button = theme.toggle_button("ArmButton", "●",
                                              "Record arm: record + play records here")
        arms = arm_state()
        self.arm_button.setChecked(self.track_id in arms.armed)
        self.arm_button.toggled.connect(lambda on: arms.set_armed(self.track_id, on))
        arms.changed.connect(self._arm_changed)
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setFixedWidth(76)
        self.volume_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume_slider.setToolTip("Volume")
        self.mute_button.toggled.connect(lambda on: tracks.set_mute(self.track_id, on))
        self.solo_button.toggled.connect(lambda on: tracks.set_solo(self.track_id, on))
        self.volume_slider.valueChanged.connect(
            lambda v: tracks.set_volume(self.track_id, v / 100))
        self.volume_slider.sliderPressed.connect(tracks.begin_undo_group)
        self.volume_slider.sliderReleased.connect(tracks.end_undo_group)
        # Audio tracks: which inputs a take records (session state, as arming is).
        self.input_combo = QComboBox()
        self.input_combo.setObjectName("TrackInput")
        self.input_combo.setToolTip("The audio input this track records: input 1, input 2, "
                                    "or both as a stereo take")
        self.input_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for choice, label in INPUT_LABELS.items():
            self.input_combo.addItem(label, choice)
        self.input_combo.setCurrentIndex(self.input_combo.findData(arms.input_of(track.id)))
        self.input_combo.currentIndexChanged.connect(
            lambda _i: arms.set_input(self.track_id, str(self.input_combo.currentData())))
        arms.input_changed.connect(self._input_changed)

        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.name_label, 1)
        top.addWidget(self.channel_label)
        second = QHBoxLayout()
        second.setSpacing(6)
        second.addWidget(self.instrument_label, 1)
        second.addWidget(self.input_combo)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addLayout(top)
        text.addLayout(second)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 4, 10, 4)
        row.setSpacing(6)
        row.addLayout(text, 1)
        row.addSpacing(4)
        row.addWidget(self.arm_button)
        row.addWidget(self.mute_button)
        row.addWidget(self.solo_button)
        row.addWidget(self.volume_slider)
        # The controls each kind has (hidden ones keep the row's layout the same).
        midi, audio = track.kind == "midi", track.kind == "audio"
        self.input_combo.setVisible(audio)
        self.instrument_label.setVisible(not audio)
        for w in (self.arm_button, self.mute_button, self.solo_button, self.volume_slider):
            w.setVisible(midi or audio)
        self.show_track(track, selected=False)

    def _arm_changed(self, track_id: str, on: bool) -> None:
        if track_id == self.track_id and self.arm_button.isChecked() != on:
            self.arm_button.setChecked(on)

    def _input_changed(self, track_id: str, choice: str) -> None:
        i = self.input_combo.findData(choice)
        if track_id == self.track_id and self.input_combo.currentIndex() != i:
            self.input_combo.setCurrentIndex(i)

    def _colour_of(self, track: Track) -> QColor:
        if track.channel is not None:
            return theme.track_colour(track.channel)
        try:
            own = self.tracks.document.track(track.id).color
        except DocumentError:
            own = ""
        if own and QColor.isValidColorName(own):
            return QColor(own)
        return QColor(AUDIO_COLOUR if track.kind == "audio" else CHORD_COLOUR)

    def show_track(self, track: Track, selected: bool) -> None:
        self._colour = self._colour_of(track)
        self.name_label.setText(track.name)
        if track.instrument is not None and track.channel is not None:
            self.instrument_label.setText(track.instrument.name)
            self.channel_label.setText(f"CH {track.channel + 1}")
            self.channel_label.setToolTip(
                f"MIDI channel {track.channel + 1}"
                + (" (shared by all drum tracks)" if track.instrument.drums else ""))
        elif track.kind == "audio":
            self.channel_label.setText("AUDIO")
            self.channel_label.setToolTip("An audio track: recorded or imported audio")
        else:
            self.instrument_label.setText("Chord symbols: edit them in the lane")
            self.channel_label.setText("CHORDS")
            self.channel_label.setToolTip("The song's chord track")
        for widget, value in ((self.mute_button, track.mute), (self.solo_button, track.solo)):
            widget.blockSignals(True)
            widget.setChecked(value)
            widget.blockSignals(False)
        self.volume_slider.blockSignals(True)
        self.volume_slider.setValue(round(track.volume * 100))
        self.volume_slider.blockSignals(False)
        if self.property("selected") != selected:
            self.setProperty("selected", selected)
            self.style().unpolish(self)
            self.style().polish(self)
        self.update()

    def set_editable(self, editable: bool) -> None:
        for w in (self.mute_button, self.solo_button, self.volume_slider, self.input_combo):
            w.setEnabled(editable)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.track_id)
        elif event.button() == Qt.MouseButton.RightButton:
            self.clicked.emit(self.track_id)
            self.menu_requested.emit(self.track_id, event.globalPosition().toPoint())

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        p = QPainter(self)
        p.fillRect(0, 0, 5, self.height(), self._colour)
        p.end()


class TrackListPanel(QWidget):
    add_requested = Signal()
    rename_requested = Signal(str)
    instrument_requested = Signal(str)
    remove_requested = Signal(str)

    def __init__(self, tracks: TrackList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tracks = tracks
        self.setFixedWidth(PANEL_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.rows: dict[str, TrackRow] = {}
        self._read_only = False

        header = QFrame()
        header.setObjectName("TrackHeader")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        header.setFixedHeight(HEADER_HEIGHT)
        title = QLabel("Tracks")
        title.setObjectName("FieldLabel")
        self.add_button = QToolButton()
        self.add_button.setObjectName("AddTrackButton")
        self.add_button.setText("+ Add Track")
        self.add_button.setToolTip("Add a MIDI, audio or chord track (Ctrl+T)")
        self.add_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.add_button.clicked.connect(self.add_requested)
        hl = QHBoxLayout(header)
        hl.setContentsMargins(14, 0, 6, 0)
        hl.addWidget(title)
        hl.addStretch(1)
        hl.addWidget(self.add_button)

        self._rows_layout = QVBoxLayout()
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(0)
        self.empty_label = QLabel("No tracks yet. Add one to start playing.")
        self.empty_label.setObjectName("FieldLabel")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setMinimumHeight(ROW_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addLayout(self._rows_layout)
        layout.addWidget(self.empty_label)
        layout.addStretch(1)
        tracks.subscribe(self._changed)
        for t in tracks.tracks:
            self._add_row(t)
        self._refresh_selection()

    def _changed(self, change: Change, track: Track | None) -> None:
        if change is Change.ADDED and track is not None:
            self._add_row(track)
        elif change is Change.REMOVED and track is not None:
            row = self.rows.pop(track.id)
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        elif change is Change.CHANGED and track is not None:
            sel = self.tracks.selected
            self.rows[track.id].show_track(track, sel is not None and sel.id == track.id)
        elif change is Change.SELECTED:
            self._refresh_selection()
        self.empty_label.setVisible(not self.rows)

    def _add_row(self, track: Track) -> None:
        row = TrackRow(self.tracks, track, self)
        row.clicked.connect(self.tracks.select)
        row.menu_requested.connect(self._menu)
        self.rows[track.id] = row
        row.set_editable(not self._read_only)
        # At its place in the song's order (an undone removal comes back where it was).
        self._rows_layout.insertWidget(self.tracks.index_of(track.id), row)
        self.empty_label.setVisible(False)

    def set_read_only(self, read_only: bool) -> None:
        """A read-only project (a newer schema) shows its tracks but offers no edits."""
        self._read_only = read_only
        self.add_button.setEnabled(not read_only)
        for row in self.rows.values():
            row.set_editable(not read_only)

    def _refresh_selection(self) -> None:
        sel = self.tracks.selected
        for t in self.tracks.tracks:
            self.rows[t.id].show_track(t, sel is not None and sel.id == t.id)

    def _menu(self, track_id: str, where: QPoint) -> None:
        if self._read_only:
            return
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.rename_requested.emit(track_id))
        if self.tracks.get(track_id).is_midi:
            menu.addAction("Change Instrument…",
                           lambda: self.instrument_requested.emit(track_id))
        menu.addSeparator()
        menu.addAction("Remove Track", lambda: self.remove_requested.emit(track_id))
        menu.popup(where)
