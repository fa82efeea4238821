"""The window's chord tools: the Chords menu, the live chord dock, chord name settings
(shared by the live display and the chord lane) and the song's key for spelling."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from strumspace_desktop.core.settings import ChordSettings
from strumspace_desktop.ui.chords.analysis_actions import ChordAnalysisActions
from strumspace_desktop.ui.chords.live_panel import LiveChordPanel
from strumspace_desktop.ui.chords.names_dialog import ChordNamesDialog
from strumspace_desktop.ui.chords.notation import ChordNamer, SongKey
from strumspace_desktop.ui.toggle_dock import ToggleDock

if TYPE_CHECKING:
    from strumspace_desktop.ui.main_window import MainWindow

MENU = "C&hords"


class LiveChordDock(ToggleDock):
    def __init__(self, panel: LiveChordPanel, parent: MainWindow) -> None:
        super().__init__("Live Chords", parent)
        self.setObjectName("LiveChordDock")
        self.panel = panel
        self.setWidget(panel)
        self.visibilityChanged.connect(panel.set_shown)



class ChordTools(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.panel = LiveChordPanel(window.adapter, self.namer,
                                    lambda: window.generation_dock.bridge)
        self.dock = LiveChordDock(self.panel, window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.analysis = ChordAnalysisActions(self)
        self.names_dialog: ChordNamesDialog | None = None
        window.arrange.canvas.chord_namer = lambda label: self.namer().lane_text(label)
        self._build_menu()
        # The key lives in the document: an undo, a partner's edit or another project
        # can change it, so names are redrawn whenever it differs from the last drawn.
        self._drawn_key = self.song_key
        window.projects.state_changed.connect(self._follow_key)
        window.projects.project_replaced.connect(self._follow_key)

    def _build_menu(self) -> None:
        menu = self.window_.menuBar().addMenu(MENU)

        def add(text: str, slot: object, shortcut: str | None = None) -> QAction:
            act = QAction(text, self.window_)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(lambda _c=False: slot())  # type: ignore[operator]
            menu.addAction(act)
            self.window_.addAction(act)
            return act

        self.live_action = add("&Live Chords", self.dock.toggle, "F4")
        menu.addSeparator()
        self.analyze_file_action = add("&Analyze Audio File to Chord Track…",
                                       self.analysis.analyze_file)
        self.analyze_clip_action = add("Analyze &Selected Audio Clip",
                                       self.analysis.analyze_selected_clip)
        self.export_action = add("&Export Chords…", self.analysis.export_chords)
        menu.addSeparator()
        self.names_action = add("Chord &Names…", self.open_names_dialog)
        self.menu = menu

    # Names ----------------------------------------------------------------------------
    @property
    def song_key(self) -> SongKey | None:
        """The open song's key (set by hand, from an analysis or a MIDI file's key
        signature); None when none is set."""
        return self.window_.projects.document.song_key()

    def set_song_key(self, key: SongKey | None) -> bool:
        """Write the song's key into the document (one undo step); False when the
        document is read-only and nothing changed."""
        doc = self.window_.projects.document
        if doc.read_only:
            return False
        if key != self.song_key:
            doc.set_song_key(key)
        self._follow_key()
        return True

    def _follow_key(self) -> None:
        key = self.song_key
        if key != self._drawn_key:
            self._drawn_key = key
            self.refresh()

    def namer(self) -> ChordNamer:
        return ChordNamer.from_settings(self.window_.settings.chords, self.song_key)

    def set_names(self, settings: ChordSettings, save: bool = True) -> None:
        self.window_.settings.chords = replace(settings)
        if save:
            self.window_.save_settings()
        self.refresh()

    def refresh(self) -> None:
        """Chord names changed: redraw the live display and the chord lane."""
        self.panel.refresh_names()
        self.window_.arrange.canvas.update()

    def open_names_dialog(self) -> ChordNamesDialog:
        dialog = ChordNamesDialog(self.window_.settings.chords, self.song_key, self.window_,
                                  key_editable=not self.window_.projects.document.read_only)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.changed.connect(lambda s: self.set_names(s, save=False))
        dialog.accepted.connect(lambda: self._names_chosen(dialog))
        dialog.finished.connect(lambda _r: setattr(self, "names_dialog", None))
        self.names_dialog = dialog
        dialog.open()
        return dialog

    def _names_chosen(self, dialog: ChordNamesDialog) -> None:
        self.set_song_key(dialog.chosen_key())
        self.set_names(dialog.settings())

    def shutdown(self) -> None:
        self.analysis.shutdown()
        self.panel.shutdown()
