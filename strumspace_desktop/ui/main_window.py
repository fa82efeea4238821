"""The main window: transport, tracks, arrangement, piano and status bar, wired to
the engine through the adapter, and the File and Edit menus of the song's project
(ui/project_controller.py holds their logic: files, undo, autosave, recovery).

The window also runs the session's engine set-up (open the saved device, load the
SoundFont, open MIDI inputs, send the tracks and transport settings), because the
same steps follow a settings change and an engine restart.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.audio.client import EngineClient, EngineError
from strumspace_desktop.audio.song_sync import SongSync
from strumspace_desktop.core.document import Document, DocumentError, MidiClip
from strumspace_desktop.core.gm import Instrument
from strumspace_desktop.core.quantize import QuantizeSettings
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.core.tracks import (
    MAX_MELODIC_TRACKS,
    Change,
    Track,
    TrackLimitError,
    TrackList,
)
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.arrange import ArrangeView
from strumspace_desktop.ui.chords import ChordTools
from strumspace_desktop.ui.computer_keyboard import ComputerKeyboardPiano
from strumspace_desktop.ui.export_dialog import ExportDialog
from strumspace_desktop.ui.generate import GenerationDock
from strumspace_desktop.ui.import_actions import ImportActions
from strumspace_desktop.ui.instrument_dialog import InstrumentDialog
from strumspace_desktop.ui.latency_dialog import LatencyDialog
from strumspace_desktop.ui.midi_learn import MidiLearn
from strumspace_desktop.ui.mixer import MixerDock
from strumspace_desktop.ui.notice_area import NoticeArea
from strumspace_desktop.ui.piano_keyboard import PianoKeyboard, note_name
from strumspace_desktop.ui.piano_roll import PianoRoll
from strumspace_desktop.ui.project_controller import AskUnsaved, ProjectController
from strumspace_desktop.ui.quantize_dialog import QuantizeDialog, quantize_clips
from strumspace_desktop.ui.settings_dialog import AudioMidiSettingsDialog
from strumspace_desktop.ui.status_bar import EngineStatusBar
from strumspace_desktop.ui.track_list import TrackListPanel
from strumspace_desktop.ui.track_sync import TrackEngineSync
from strumspace_desktop.ui.transport_bar import TransportBar

DEFAULT_TRACKS: tuple[tuple[str, Instrument], ...] = (
    ("Piano", Instrument.melodic(0)),
    ("Bass", Instrument.melodic(33)),
    ("Drums", Instrument.kit(0)),
)
TEMPO_KNOB_RANGE = (20.0, 300.0)


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, adapter: EngineAdapter, *,
                 settings_path: Path | None = None, default_tracks: bool = True,
                 engine_factory: Callable[[], EngineClient] = EngineClient,
                 config_dir: Path | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 ask_unsaved: AskUnsaved | None = None) -> None:
        super().__init__()
        self.setWindowTitle("StrumSpace")
        self.settings = settings
        self.settings_path = settings_path
        self.adapter = adapter
        self._engine_factory = engine_factory
        self.stream_info: dict[str, Any] | None = None
        self.engine_ready = False  # the start-up steps have run (whatever their outcome)
        self._sounding: dict[int, int] = {}  # note -> channel, for notes played here

        self.tracks = TrackList()
        self.track_sync = TrackEngineSync(self.tracks, adapter)
        self.transport = TransportBar(adapter, settings.transport)
        self.notices = NoticeArea()
        self.track_panel = TrackListPanel(self.tracks)
        self.arrange = ArrangeView(self.tracks, notices=self.notices, adapter=adapter)
        self.piano_roll = PianoRoll(adapter)
        self.piano = PianoKeyboard(36, 96)
        self.keyboard = ComputerKeyboardPiano(self)
        self.status = EngineStatusBar()
        self.setStatusBar(self.status)
        self.midi_learn = MidiLearn(adapter, settings.midi, {
            "master_volume": lambda v: self.transport.set_master_volume(v / 127),
            "tempo": lambda v: self.transport.set_tempo(
                round(TEMPO_KNOB_RANGE[0] + (TEMPO_KNOB_RANGE[1] - TEMPO_KNOB_RANGE[0])
                      * v / 127, 1)),
            "play": lambda v: self.transport.toggle_play(),
            "stop": lambda v: self.adapter.stop_transport(),
            "record": lambda v: self.transport.toggle_record(),
        }, save=self.save_settings, parent=self)
        for widget, target in ((self.transport.master_volume, "master_volume"),
                               (self.transport.tempo_spin, "tempo"),
                               (self.transport.play_button, "play"),
                               (self.transport.stop_button, "stop"),
                               (self.transport.record_button, "record")):
            self.midi_learn.register(widget, target)

        # The song: a new untitled project (with the default tracks) until one is opened.
        self.projects = ProjectController(
            self, self.tracks, self.transport, self.notices, settings.transport,
            default_tracks=DEFAULT_TRACKS if default_tracks else (),
            config_dir=config_dir, clock=clock, ask_unsaved=ask_unsaved)
        # The engine plays the project's song: its changes are sent at each adapter poll.
        self.song_sync = SongSync(self.projects.project, adapter.client)
        self._quantize = QuantizeSettings()  # the last Quantize… choices, for this session
        # Takes are stored in the open project's audio folder, with the session's options.
        recorder = self.transport.recorder
        recorder.project_source = lambda: self.projects.project
        recorder.settings = settings.recording

        self._build_layout()
        self._build_actions()
        self._connect()
        # Chords menu: live chord dock, file analysis into the chord track, chord names.
        self.chord_tools = ChordTools(self)
        self._project_state()
        self._show_keyboard_range()
        self.resize(1360, 820)
        self.projects.offer_recovery()

    # Layout ---------------------------------------------------------------------------
    def _build_layout(self) -> None:
        lanes = QWidget()
        hl = QHBoxLayout(lanes)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.setSpacing(0)
        divider = QFrame()
        divider.setFixedWidth(1)
        divider.setStyleSheet("background: #3b4048;")
        hl.addWidget(self.track_panel)
        hl.addWidget(divider)
        hl.addWidget(self.arrange, 1)
        scroll = QScrollArea()
        scroll.setWidget(lanes)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        piano_panel = QFrame()
        piano_panel.setObjectName("PianoPanel")
        piano_panel.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.keyboard_label = QLabel()
        self.keyboard_label.setObjectName("FieldLabel")
        self.playing_label = QLabel()
        self.playing_label.setObjectName("FieldLabel")
        pl = QVBoxLayout(piano_panel)
        pl.setContentsMargins(10, 6, 10, 10)
        pl.setSpacing(4)
        info = QHBoxLayout()
        info.addWidget(self.playing_label)
        info.addStretch(1)
        info.addWidget(self.keyboard_label)
        pl.addLayout(info)
        pl.addWidget(self.piano)

        central = QWidget()
        v = QVBoxLayout(central)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(0)
        v.addWidget(self.transport)
        v.addWidget(self.notices)
        v.addWidget(scroll, 1)
        v.addWidget(piano_panel)
        self.setCentralWidget(central)
        # The piano roll docks below the arrangement; it shows once a clip is opened.
        self.piano_roll_dock = QDockWidget("Piano Roll", self)
        self.piano_roll_dock.setObjectName("PianoRollDock")
        self.piano_roll_dock.setWidget(self.piano_roll)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.piano_roll_dock)
        self.piano_roll_dock.hide()
        # The mixer (View > Mixer, F3) docks there too, as a tab beside the piano roll.
        self.mixer_dock = MixerDock(self.adapter, self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.mixer_dock)
        self.tabifyDockWidget(self.piano_roll_dock, self.mixer_dock)
        self.mixer_dock.hide()
        # AI generation (View > Generate, Ctrl+G) docks on the right; its worker process
        # starts with the first request. It also adds the chord lane's next-chord hint.
        self.generation_dock = GenerationDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.generation_dock)
        self.generation_dock.hide()
        # Keys go to the window unless a text field is being edited.
        central.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(central)

    def _action(self, menu_name: str, text: str, slot: Callable[[], object],
                shortcut: str | QKeySequence.StandardKey | None = None,
                checkable: bool = False) -> QAction:
        menu = self._menus.get(menu_name)
        if menu is None:
            menu = self.menuBar().addMenu(menu_name)
            self._menus[menu_name] = menu
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setCheckable(checkable)
        act.triggered.connect(lambda _checked=False: slot())
        menu.addAction(act)
        self.addAction(act)  # shortcuts work even while the menu bar is hidden
        return act

    def _build_actions(self) -> None:
        self._menus: dict[str, Any] = {}
        p = self.projects
        self._action("&File", "&New", p.new, "Ctrl+N")
        self._action("&File", "&Open…", p.open, "Ctrl+O")
        self.recent_menu = self._menus["&File"].addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.save_action = self._action("&File", "&Save", p.save, "Ctrl+S")
        self.save_as_action = self._action("&File", "Save &As…", p.save_as, "Ctrl+Shift+S")
        self._menus["&File"].addSeparator()
        # Imports land at the playhead (where the arrangement shows it).
        self.imports = ImportActions(p, self.notices, self,
                                     position=lambda: max(0, self.arrange.canvas.playhead))
        self._action("&File", "Import &Audio…", self.imports.import_audio, "Ctrl+I")
        self._action("&File", "Import &MIDI…", self.imports.import_midi)
        self._action("&File", "&Export Mixdown…", lambda: self.open_export(stems=False),
                     "Ctrl+Shift+E")  # Ctrl+E splits clips at the playhead
        self._action("&File", "Export S&tems…", lambda: self.open_export(stems=True))
        self._menus["&File"].addSeparator()
        self._action("&File", "&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.undo_action = self._action("&Edit", "&Undo", p.undo, "Ctrl+Z")
        self.redo_action = self._action("&Edit", "&Redo", p.redo, "Ctrl+Shift+Z")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self._menus["&Edit"].addSeparator()
        self._action("&Edit", "&Quantize…", self.quantize_dialog, "Ctrl+U")
        self.mixer_action = self._action("&View", "&Mixer", self.mixer_dock.toggle, "F3")
        self.generate_action = self._action("&View", "&Generate…", self.generation_dock.toggle,
                                            "Ctrl+G")
        self.play_action = self._action("&Transport", "Play/Stop", self.transport.toggle_play,
                                        "Space")
        self._action("&Transport", "Return to Start", self._return_to_start, "Home")
        self.record_action = self._action("&Transport", "Record Arm",
                                          self.transport.toggle_record, "R")
        self.loop_action = self._action("&Transport", "Loop", self.transport.toggle_loop, "L")
        self.track_actions = [
            self._action("Trac&ks", "&Add Track…", self.add_track_dialog, "Ctrl+T"),
            self._action("Trac&ks", "Add A&udio Track", lambda: self.add_track_of_kind("audio")),
            self._action("Trac&ks", "Add C&hord Track", lambda: self.add_track_of_kind("chord")),
            self._action("Trac&ks", "&Rename Track…", lambda: self._with_selected(
                self.rename_track_dialog), "F2"),
            self._action("Trac&ks", "Change &Instrument…", lambda: self._with_selected(
                self.change_instrument_dialog)),
            self._action("Trac&ks", "Re&move Track", lambda: self._with_selected(
                lambda i: self.tracks.remove(i)), "Ctrl+Backspace"),
        ]
        self._action("&Audio", "Audio && MIDI &Settings…", self.open_settings, "Ctrl+,")
        self._action("&Audio", "&Restart Audio Engine", self.restart_engine)
        self._action("&Audio", "&Calibrate Recording Latency…", self.open_latency_dialog)
        self.learn_action = self._action("&MIDI", "MIDI &Learn", lambda: None,
                                         "Ctrl+Shift+L", checkable=True)
        self.learn_action.toggled.connect(self.transport.learn_button.setChecked)
        self._action("&MIDI", "&Clear MIDI Learn Bindings", self.midi_learn.clear)

    def _connect(self) -> None:
        a = self.adapter
        a.status_changed.connect(self._status)
        a.note_on_received.connect(self._engine_note_on)
        a.note_off_received.connect(self._engine_note_off)
        a.midi_activity.connect(self.status.midi_light.flash)
        a.stream_lost.connect(self._stream_lost)
        a.stream_recovered.connect(self._stream_recovered)
        a.stream_opened.connect(self._stream_opened)
        a.instrument_error.connect(lambda m: self.notices.show_notice(
            "soundfont", m, "warning", ("Choose SoundFont…", self.open_settings)))
        a.midi_error.connect(lambda m: self.notices.show_notice("midi", m, "warning"))
        a.engine_died.connect(self._engine_died)
        self.transport.recorder.message.connect(
            lambda m: self.notices.show_notice("record", m, "warning"))
        self.transport.learn_toggled.connect(self.midi_learn.set_learning)
        self.transport.learn_toggled.connect(self.learn_action.setChecked)
        self.midi_learn.armed_changed.connect(self._learn_armed)
        self.midi_learn.learning_changed.connect(self._learn_mode)
        self.keyboard.note_on.connect(self.play_note)
        self.keyboard.note_off.connect(self.release_note)
        self.keyboard.octave_changed.connect(lambda _base: self._show_keyboard_range())
        self.piano.note_pressed.connect(self.play_note)
        self.piano.note_released.connect(self.release_note)
        self.track_panel.add_requested.connect(self.add_track_dialog)
        self.track_panel.rename_requested.connect(self.rename_track_dialog)
        self.track_panel.instrument_requested.connect(self.change_instrument_dialog)
        self.track_panel.remove_requested.connect(self.tracks.remove)
        self.tracks.subscribe(self._tracks_changed)
        self._tracks_changed(Change.SELECTED, self.tracks.selected)  # the start-up selection
        self.projects.state_changed.connect(self._project_state)
        self.projects.project_replaced.connect(
            lambda: self.song_sync.set_project(self.projects.project))
        a.status_changed.connect(lambda _status: self._sync_song())
        self.piano_roll.set_document(self.projects.document)
        self.projects.project_replaced.connect(
            lambda: self.piano_roll.set_document(self.projects.document))
        self.arrange.bind_projects(self.projects)  # its document, and audio drops' project
        self.mixer_dock.bind_projects(self.projects)
        self.arrange.open_clip_requested.connect(self.open_clip_in_piano_roll)

    # Project ----------------------------------------------------------------------------
    def _project_state(self) -> None:
        """Title, unsaved marker and what can be edited follow the project."""
        p = self.projects
        read_only = p.project.read_only
        self.setWindowTitle(p.window_title())
        self.setWindowModified(p.project.dirty and not read_only)
        self.undo_action.setEnabled(p.can_undo())
        self.redo_action.setEnabled(p.can_redo())
        self.save_action.setEnabled(not read_only)
        self.save_as_action.setEnabled(not read_only)
        self.track_panel.set_read_only(read_only)
        for act in self.track_actions:
            act.setEnabled(not read_only)

    def open_export(self, *, stems: bool = False) -> ExportDialog:
        """The export dialog, window-modal; it renders a snapshot of the song."""
        dialog = ExportDialog(self.projects.project, stems=stems, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.open()
        return dialog

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.projects.recent.existing()
        for path in paths:
            act = self.recent_menu.addAction(path.name.removesuffix(".strumspace"))
            act.setToolTip(str(path))
            act.triggered.connect(lambda _c=False, p=path: self.projects.open(p))
        if not paths:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    # Engine set-up ----------------------------------------------------------------------
    def connect_engine(self) -> None:
        """Open the saved device, load the SoundFont, open MIDI inputs and send the
        session's state. Every failure becomes a message; the window stays usable."""
        try:
            if not self.adapter.engine_running:
                self.show_engine_problem("The audio engine is not running.")
                return
            self.push_state()
            self.load_soundfont(initial=True)
            self.open_audio()
            self.apply_midi_inputs()
        finally:
            self.engine_ready = True

    def push_state(self) -> None:
        self.transport.push_to_engine()
        self.track_sync.resend_all()
        self.midi_learn.apply_consumed()
        self.song_sync.attach(self.adapter.client)

    def _sync_song(self) -> None:
        self.song_sync.poll()
        if self.song_sync.messages:  # a plugin the engine skipped is marked in the mixer
            self.mixer_dock.panel.show_engine_messages(self.song_sync.messages,
                                                       show_unmatched=False)
        for message in self.song_sync.messages:
            self.notices.show_notice("song", message, "warning")
        self.song_sync.messages.clear()

    def open_audio(self) -> bool:
        self.status.showMessage("Opening the audio device…")
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.adapter.open_stream(self.settings.audio)
        except EngineError as exc:
            self.stream_info = None
            self.status.show_no_stream()
            self.status.set_problem("No audio: sound is off until a device is available")
            self.notices.show_notice(
                "audio", f"StrumSpace cannot play sound right now. {exc} You can still "
                "work; choose a device in Audio & MIDI Settings when one is available.",
                "error", ("Audio Settings…", self.open_settings))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
            self.status.clearMessage()
        return True

    def load_soundfont(self, initial: bool = False) -> bool:
        path = self.settings.instrument.soundfont_path
        if initial and path is None:
            return True  # the engine loads the system's General MIDI font by itself
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.adapter.load_soundfont(path)
        except EngineError as exc:
            self.notices.show_notice(
                "soundfont", f"The instrument sounds could not be loaded: {exc} StrumSpace "
                "keeps running; choose another SoundFont in Audio & MIDI Settings.",
                "warning", ("Choose SoundFont…", self.open_settings))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.notices.clear("soundfont")
        return True

    def apply_midi_inputs(self) -> None:
        ports = self.settings.midi.input_ports
        try:
            self.adapter.set_midi_inputs(list(ports) if ports else None)
        except EngineError as exc:
            self.notices.show_notice("midi", f"MIDI inputs could not be opened: {exc}",
                                     "warning")

    def restart_engine(self) -> None:
        old = self.adapter.client
        self.adapter.attach(None)
        if old is not None:
            with contextlib.suppress(EngineError, OSError):
                old.stop()
        client = self._engine_factory()
        try:
            client.start()
        except EngineError as exc:
            self.show_engine_problem(str(exc))
            return
        self.adapter.attach(client)
        self.notices.clear("engine")
        self.status.set_problem(None)
        self.connect_engine()

    def show_engine_problem(self, message: str) -> None:
        self.status.show_no_stream()
        self.status.set_problem("Audio engine stopped")
        self.notices.show_notice(
            "engine", f"{message} Sound and MIDI are off until it runs again.", "error",
            ("Restart Audio Engine", self.restart_engine))

    # Engine reports ---------------------------------------------------------------------
    def _status(self, status: Any) -> None:
        self.transport.show_status(status)
        self.arrange.show_status(status)
        self.status.show_status(status)

    def _stream_opened(self, info: dict[str, Any]) -> None:
        self.stream_info = info
        self.status.show_stream(info)
        self.status.set_problem(None)
        self.notices.clear("audio")
        self.notices.clear("engine")
        if info.get("note"):
            self.notices.show_notice("audio-note", str(info["note"]), "info")

    def _stream_lost(self, message: str) -> None:
        self.status.show_no_stream()
        self.status.set_problem("Audio device lost: waiting for it to come back")
        self.notices.show_notice("audio", message, "error",
                                 ("Audio Settings…", self.open_settings))

    def _stream_recovered(self, info: dict[str, Any]) -> None:
        self._stream_opened(info)
        self.status.showMessage(f"Audio device {info.get('device', '')} is back.", 6000)

    def _engine_died(self, message: str) -> None:
        self.stream_info = None
        self.show_engine_problem(message)

    # Notes ------------------------------------------------------------------------------
    def play_note(self, note: int, velocity: int) -> None:
        # The live MIDI track: the selected one, or the MIDI track selected last.
        track = self.tracks.live
        if track is None or track.channel is None:
            self.status.showMessage("Add or select a MIDI track to play.", 3000)
            return
        if note in self._sounding:
            self.release_note(note)
        self._sounding[note] = track.channel
        self.adapter.note_on(track.channel, note, velocity)
        self.piano.set_lit(note, True)

    def release_note(self, note: int) -> None:
        channel = self._sounding.pop(note, None)
        if channel is not None:
            self.adapter.note_off(channel, note)
        self.piano.set_lit(note, False)

    def _engine_note_on(self, channel: int, note: int, velocity: int, source: int) -> None:
        track = self.tracks.live
        if source == 0 and track is not None and channel == track.channel:
            self.piano.set_lit(note, True)  # a controller's note on the selected track

    def _engine_note_off(self, channel: int, note: int) -> None:
        track = self.tracks.live
        if track is not None and channel == track.channel and note not in self._sounding:
            self.piano.set_lit(note, False)

    def _show_keyboard_range(self) -> None:
        base = self.keyboard.base
        self.piano.set_computer_range(base, base + 12)
        self.keyboard_label.setText(
            f"Computer keyboard: A–K plays {note_name(base)}–{note_name(base + 12)} · "
            "Z/X octave down/up")

    def _tracks_changed(self, change: Change, track: Track | None) -> None:
        live = self.tracks.live
        if change is Change.SELECTED:
            self.piano.clear_lit()
        self.playing_label.setText(
            f"Playing: {live.name} ({live.instrument.name})"
            if live is not None and live.instrument is not None else "No MIDI track to play")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.keyboard.key_press(event):
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if not self.keyboard.key_release(event):
            super().keyReleaseEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        # Keys released while another window has the keyboard never arrive here.
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.keyboard.release_all()
        super().changeEvent(event)

    # Tracks -----------------------------------------------------------------------------
    def _track_limit_problem(self, instrument: Instrument,
                             replacing: Track | None = None) -> str | None:
        if instrument.drums:
            return None
        melodic = self.tracks.melodic_count()
        if replacing is not None and replacing.is_midi and not replacing.drums:
            melodic -= 1
        if melodic < MAX_MELODIC_TRACKS:
            return None
        return (f"All {MAX_MELODIC_TRACKS} instrument channels are in use. Remove a track, "
                "or choose a drum kit (drum tracks share the drum channel).")

    def _track_kind_problem(self, kind: str) -> str | None:
        chords = self.tracks.chord_track()
        if kind == "chord" and chords is not None:
            return (f"This song already has a chord track ({chords.name}); its lane holds "
                    "all the song's chords.")
        return None

    def add_track_dialog(self) -> Track | None:
        """Add a MIDI track (with its instrument), an audio track or the chord track."""
        dialog = InstrumentDialog(self, title="Add Track", check=self._track_limit_problem,
                                  with_kinds=True, check_kind=self._track_kind_problem)
        if dialog.exec() != InstrumentDialog.DialogCode.Accepted:
            return None
        if dialog.kind() != "midi":
            return self.add_track_of_kind(dialog.kind(), dialog.track_name())
        inst = dialog.instrument()
        if inst is None:
            return None
        return self.add_track(dialog.track_name(), inst)

    def add_track(self, name: str, instrument: Instrument) -> Track | None:
        try:
            return self.tracks.add(name, instrument)
        except TrackLimitError as exc:
            self.notices.show_notice("tracks", str(exc), "warning")
            return None

    def add_track_of_kind(self, kind: str, name: str = "") -> Track | None:
        """An audio track, or the song's chord track (one per song)."""
        try:
            return self.tracks.add_audio(name) if kind == "audio" else self.tracks.add_chord(name)
        except TrackLimitError as exc:
            self.notices.show_notice("tracks", str(exc), "warning")
            return None

    def _with_selected(self, fn: Callable[[str], object]) -> None:
        sel = self.tracks.selected
        if sel is not None:
            fn(sel.id)

    def rename_track_dialog(self, track_id: str) -> None:
        track = self.tracks.get(track_id)
        name, ok = QInputDialog.getText(self, "Rename Track", "Name", text=track.name)
        if ok:
            self.tracks.rename(track_id, name)

    def change_instrument_dialog(self, track_id: str) -> None:
        track = self.tracks.get(track_id)
        if track.instrument is None:
            self.status.showMessage(f"{track.name} is not a MIDI track: it has no "
                                    "instrument.", 4000)
            return
        dialog = InstrumentDialog(
            self, title=f"Instrument for {track.name}", with_name=False,
            current=track.instrument,
            check=lambda inst: self._track_limit_problem(inst, replacing=track))
        if dialog.exec() == InstrumentDialog.DialogCode.Accepted:
            inst = dialog.instrument()
            if inst is not None:
                try:
                    self.tracks.set_instrument(track_id, inst)
                except TrackLimitError as exc:
                    self.notices.show_notice("tracks", str(exc), "warning")

    # Settings ---------------------------------------------------------------------------
    def settings_dialog(self) -> AudioMidiSettingsDialog:
        return AudioMidiSettingsDialog(self.settings, self.adapter, self)

    def open_settings(self) -> None:
        dialog = self.settings_dialog()
        if dialog.exec() == AudioMidiSettingsDialog.DialogCode.Accepted:
            self.apply_settings(dialog.result_settings)

    def apply_settings(self, new: AppSettings) -> None:
        """Use and save new audio, MIDI and SoundFont settings; only what changed is
        reopened, so changing the SoundFont does not interrupt the audio device."""
        old = self.settings
        audio_changed = new.audio != old.audio or self.stream_info is None
        font_changed = new.instrument != old.instrument
        midi_changed = new.midi.input_ports != old.midi.input_ports
        old.audio = new.audio
        old.instrument = new.instrument
        old.midi.input_ports = list(new.midi.input_ports)
        self.save_settings()
        if not self.adapter.engine_running:
            return
        if font_changed:
            self.load_soundfont()
        if audio_changed:
            self.adapter.stop_transport()
            self.open_audio()
        if midi_changed:
            self.apply_midi_inputs()

    def quantize_targets(self) -> tuple[dict[str, set[str] | None], str]:
        """What Quantize acts on: the piano roll's selected notes when it shows a clip
        with a selection, else the MIDI clips selected in the arrangement."""
        roll = self.piano_roll
        if self.piano_roll_dock.isVisible() and roll.clip_id and roll.editor.selection:
            n = len(roll.editor.selection)
            return {roll.clip_id: set(roll.editor.selection)}, f"{n} selected note(s)"
        doc = self.projects.document
        clips = [c for c in sorted(self.arrange.canvas.selected)
                 if isinstance(_clip_or_none(doc, c), MidiClip)]
        return {c: None for c in clips}, f"all notes of {len(clips)} selected clip(s)"

    def quantize_dialog(self) -> QuantizeDialog | None:
        targets, text = self.quantize_targets()
        if not targets:
            self.notices.show_notice(
                "quantize", "Select notes in the piano roll or MIDI clips in the "
                "arrangement to quantize them.", "warning")
            return None
        dialog = QuantizeDialog(self._quantize, text, self)

        def apply() -> None:
            self._quantize = dialog.settings()
            if not self.projects.document.read_only:
                quantize_clips(self.projects.document, targets, self._quantize)

        dialog.accepted.connect(apply)
        dialog.open()
        return dialog

    def open_latency_dialog(self) -> LatencyDialog:
        """The guided loopback measurement; a measured offset is saved with the settings."""
        dialog = LatencyDialog(self.adapter, self.settings, self)
        dialog.finished.connect(lambda _result: self.save_settings())
        dialog.open()
        return dialog

    def save_settings(self) -> None:
        try:
            self.settings.save(self.settings_path)
        except OSError as exc:
            self.notices.show_notice("settings", f"Settings could not be saved: {exc}",
                                     "warning")

    # Misc -------------------------------------------------------------------------------
    def open_clip_in_piano_roll(self, clip_id: str) -> None:
        self.piano_roll.open_clip(clip_id)
        self.piano_roll_dock.show()
        self.piano_roll_dock.raise_()
        self.piano_roll.grid.setFocus()

    def _return_to_start(self) -> None:
        if self.adapter.transport_rolling():
            self.adapter.stop_transport()
        self.adapter.locate(0.0)

    def _learn_mode(self, on: bool) -> None:
        if on:
            self.status.showMessage("MIDI learn: click a control, then move a knob or press "
                                    "a button on your controller.")
        else:
            self.status.clearMessage()

    def _learn_armed(self, target: str) -> None:
        if target:
            self.status.showMessage("MIDI learn: now move a knob or press a button…")
        elif self.midi_learn.learning:
            b = self.midi_learn.bindings[-1] if self.midi_learn.bindings else None
            if b is not None:
                self.status.showMessage(
                    f"Bound CC {b.controller} (channel {b.channel + 1}) to "
                    f"{b.target.replace('_', ' ')}. Click another control, or leave "
                    "MIDI learn.")

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.projects.close():
            event.ignore()  # the musician cancelled to keep working on unsaved changes
            return
        self.keyboard.release_all()
        self.generation_dock.shutdown()
        self.chord_tools.shutdown()
        self.save_settings()
        super().closeEvent(event)


def _clip_or_none(document: Document, clip_id: str) -> object:
    try:
        return document.clip(clip_id)
    except DocumentError:
        return None
