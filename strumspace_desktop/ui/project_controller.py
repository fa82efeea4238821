"""The window's project: new, open, save, save as, recent projects, undo and redo,
autosave and crash recovery.

The project document is the song; the track list and the transport bar are views
of it, so replacing the project only re-points them (`TrackList.set_document`,
`TransportBar.bind_document`). Autosaves go to this session's folder under
`<config dir>/recovery` (see core.document.project_files); a timer asks the
Autosaver every few seconds and the Autosaver decides when 30 s have passed.

Questions the user must answer (save unsaved changes?) go through `ask_unsaved`,
which tests replace; problems become notices, never modal boxes.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from strumspace_desktop.core import settings as app_settings
from strumspace_desktop.core.document import Change, Document
from strumspace_desktop.core.document.project_files import (
    PROJECT_SUFFIX,
    Autosaver,
    Project,
    ProjectError,
    RecentProjects,
    Recovery,
    discard_recovery,
    find_recoverable,
    new_project,
    open_project,
    recover,
    save_project,
    save_project_as,
)
from strumspace_desktop.core.gm import Instrument
from strumspace_desktop.core.settings import TransportSettings
from strumspace_desktop.core.tracks import TrackList
from strumspace_desktop.ui.notice_area import NoticeArea
from strumspace_desktop.ui.transport_bar import TransportBar

AUTOSAVE_POLL_MS = 5_000  # how often the Autosaver is asked; it saves every 30 s at most
RECENT_FILE = "recent-projects.json"
RECOVERY_DIR = "recovery"
UNSAVED_AUDIO_DIR = "unsaved-audio"  # audio of untitled projects until they are saved


class UnsavedChoice(Enum):
    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


AskUnsaved = Callable[[str], UnsavedChoice]


class ProjectController(QObject):
    state_changed = Signal()  # title, unsaved marker, read-only or undo/redo availability
    project_replaced = Signal()

    def __init__(self, parent: QWidget, tracks: TrackList, transport: TransportBar,
                 notices: NoticeArea, transport_settings: TransportSettings, *,
                 default_tracks: Sequence[tuple[str, Instrument]] = (),
                 config_dir: Path | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 ask_unsaved: AskUnsaved | None = None) -> None:
        super().__init__(parent)
        self._parent = parent
        self.tracks = tracks
        self.transport = transport
        self.notices = notices
        self._transport_settings = transport_settings
        self._default_tracks = tuple(default_tracks)
        root = config_dir if config_dir is not None else app_settings.config_dir()
        self.recovery_dir = root / RECOVERY_DIR
        self._unsaved_audio_root = root / UNSAVED_AUDIO_DIR
        self.recent = RecentProjects(root / RECENT_FILE)
        self._clock = clock
        self.ask_unsaved: AskUnsaved = ask_unsaved or self._ask_with_message_box
        self.autosaver: Autosaver | None = None
        # A recovered autosave is deleted only once this session holds its own copy.
        self._pending_recovery: Recovery | None = None
        self._unsubscribe: Callable[[], None] = lambda: None
        self._state_queued = False
        self._closed = False
        self.project = self._fresh_project()
        self._install(self.project)
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_POLL_MS)
        self.timer.timeout.connect(self.autosave_tick)
        self.timer.start()

    # Reading -------------------------------------------------------------------------
    @property
    def document(self) -> Document:
        return self.project.document

    def window_title(self) -> str:
        suffix = " (read-only)" if self.project.read_only else ""
        # "[*]" is where Qt shows the unsaved-changes marker (setWindowModified).
        return f"{self.project.title}[*]{suffix} — StrumSpace"

    # Replacing the project -----------------------------------------------------------------
    def _fresh_project(self) -> Project:
        """An untitled song with the default tracks; its making is not undoable."""
        project = new_project(self._unsaved_audio_root / uuid.uuid4().hex[:12])
        doc = project.document
        ts = self._transport_settings
        doc.set_tempo(0, ts.tempo)
        doc.set_time_signature(0, ts.numerator, ts.denominator)
        builder = TrackList(doc)
        for name, inst in self._default_tracks:
            builder.add(name, inst, select=False)
        builder.close()
        doc.clear_undo_history()
        project.mark_saved()
        return project

    def _install(self, project: Project) -> None:
        self._end_autosave(keep=True)
        self._unsubscribe()
        self.project = project
        self._unsubscribe = project.document.subscribe(self._document_changed)
        self.tracks.set_document(project.document)
        self.transport.bind_document(project.document)
        try:
            self.autosaver = Autosaver(project, self.recovery_dir, clock=self._clock)
        except OSError as exc:
            self.autosaver = None
            self.notices.show_notice(
                "autosave", f"Autosave is off: the recovery folder {self.recovery_dir} "
                f"cannot be written ({exc.strerror or exc}). Save often.", "warning")
        self.notices.clear("project")
        for message in project.messages:
            self.notices.show_notice("project", message, "warning")
        self.project_replaced.emit()
        self._emit_state()

    def _end_autosave(self, *, keep: bool) -> bool:
        """Stop this project's autosaver; its copy is kept only if `keep` (on quit).
        False when the final autosave could not be written."""
        saver, self.autosaver = self.autosaver, None
        if saver is None:
            return True
        ok = True
        try:
            saver.close()  # keeps a final autosave when there are unsaved changes
        except OSError:
            ok = False  # the last periodic autosave, if any, is still there
        if not keep:
            shutil.rmtree(saver.session_dir, ignore_errors=True)
        return ok

    def _document_changed(self, change: Change) -> None:
        # Undo state cannot be read inside the document's own callbacks (the undo
        # manager is busy during an undo), so the menus are updated right after.
        if not self._state_queued:
            self._state_queued = True
            QTimer.singleShot(0, self._emit_state)

    def _emit_state(self) -> None:
        self._state_queued = False
        self.state_changed.emit()

    # Unsaved changes --------------------------------------------------------------------
    def _ask_with_message_box(self, action: str) -> UnsavedChoice:
        box = QMessageBox(self._parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved Changes")
        box.setText(f"Save the changes to “{self.project.title}” before {action}?")
        box.setInformativeText("Your changes are lost if you don't save them.")
        box.setStandardButtons(QMessageBox.StandardButton.Save
                               | QMessageBox.StandardButton.Discard
                               | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return UnsavedChoice.SAVE
        if answer == QMessageBox.StandardButton.Discard:
            return UnsavedChoice.DISCARD
        return UnsavedChoice.CANCEL

    def settle_unsaved(self, action: str) -> bool:
        """Ask about unsaved changes; True when the caller may go on."""
        if not self.project.dirty or self.project.read_only:
            return True
        choice = self.ask_unsaved(action)
        if choice is UnsavedChoice.CANCEL:
            return False
        if choice is UnsavedChoice.SAVE:
            return self.save()
        # Discarded on purpose: no recovery copy to offer next time.
        self._end_autosave(keep=False)
        return True

    # File menu ------------------------------------------------------------------------
    def new(self) -> bool:
        if not self.settle_unsaved("starting a new song"):
            return False
        self._install(self._fresh_project())
        return True

    def open(self, path: Path | None = None) -> bool:
        if path is None:
            chosen = QFileDialog.getExistingDirectory(
                self._parent, "Open Project", str(self._dialog_dir()))
            if not chosen:
                return False
            path = Path(chosen)
        if not self.settle_unsaved("opening another project"):
            return False
        try:
            project = open_project(path)  # reads only: a failed open changes nothing
        except ProjectError as exc:
            self.notices.show_notice("open", f"The project could not be opened: {exc}",
                                     "error")
            return False
        self.notices.clear("open")
        self._remember(path)
        self._install(project)
        return True

    def save(self) -> bool:
        if self.project.read_only:
            self.notices.show_notice("save", self.project.document.read_only_reason, "warning")
            return False
        if self.project.path is None:
            return self.save_as()
        try:
            save_project(self.project)
        except ProjectError as exc:
            self.notices.show_notice("save", f"The project was not saved: {exc}", "error")
            return False
        self._saved()
        return True

    def save_as(self, path: Path | None = None) -> bool:
        if self.project.read_only:
            self.notices.show_notice("save", self.project.document.read_only_reason, "warning")
            return False
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self._parent, "Save Project As",
                str(self._dialog_dir() / f"{self.project.title}{PROJECT_SUFFIX}"))
            if not chosen:
                return False
            path = Path(chosen)
        if not path.name.endswith(PROJECT_SUFFIX):
            path = path.with_name(path.name + PROJECT_SUFFIX)
        try:
            save_project_as(self.project, path)
        except ProjectError as exc:
            self.notices.show_notice("save", f"The project was not saved: {exc}", "error")
            return False
        self._remember(path)
        self._saved()
        return True

    def _saved(self) -> None:
        self.notices.clear("save")
        self._drop_pending_recovery()
        self._emit_state()

    def _remember(self, path: Path) -> None:
        # The recent list is a convenience: never fail a save or an open for it.
        with contextlib.suppress(OSError):
            self.recent.add(path)

    def _dialog_dir(self) -> Path:
        if self.project.path is not None:
            return self.project.path.parent
        recent = self.recent.existing()
        return recent[0].parent if recent else Path.home()

    # Edit menu ------------------------------------------------------------------------
    def undo(self) -> None:
        if not self.project.read_only and self.document.can_undo():
            self.document.undo()
        self._emit_state()

    def redo(self) -> None:
        if not self.project.read_only and self.document.can_redo():
            self.document.redo()
        self._emit_state()

    def can_undo(self) -> bool:
        return not self.project.read_only and self.document.can_undo()

    def can_redo(self) -> bool:
        return not self.project.read_only and self.document.can_redo()

    # Autosave and recovery --------------------------------------------------------------
    def autosave_tick(self) -> None:
        saver = self.autosaver
        if saver is None or self.project.read_only:
            return
        try:
            saved = saver.tick()
        except OSError as exc:
            self.notices.show_notice(
                "autosave", f"Autosave failed ({exc.strerror or exc}); your work is "
                "still open here. Free some disk space or save elsewhere.", "error")
            return
        if saved:
            self.notices.clear("autosave")
            self._drop_pending_recovery()

    def offer_recovery(self) -> Recovery | None:
        """At start: offer the newest autosave a crashed (or unsaved) session left."""
        try:
            found = find_recoverable(self.recovery_dir)
        except OSError:
            return None
        found = [r for r in found if self.autosaver is None
                 or r.session_dir != self.autosaver.session_dir]
        if not found:
            return None
        r = found[0]
        when = time.strftime("%d %b %Y %H:%M", time.localtime(r.saved_at))
        what = f"“{r.project_path.name.removesuffix(PROJECT_SUFFIX)}”" if r.project_path \
            else "an untitled song"
        how = "StrumSpace stopped unexpectedly" if r.crashed else "StrumSpace was closed"
        self.notices.show_notice(
            "recovery", f"{how} with unsaved changes to {what} (autosaved {when}). "
            "Recover them?", "warning",
            actions=[("Recover", lambda: self.recover(r)),
                     ("Discard", lambda: self.discard(r))])
        return r

    def recover(self, recovery: Recovery) -> bool:
        if not self.settle_unsaved("recovering the autosaved song"):
            return False
        try:
            project = recover(recovery)
        except ProjectError as exc:
            self.notices.show_notice("recovery", str(exc), "error")
            return False
        self.notices.clear("recovery")
        self._install(project)  # unsaved on purpose: saving it is the musician's choice
        self._pending_recovery = recovery
        return True

    def discard(self, recovery: Recovery) -> None:
        discard_recovery(recovery)
        self.notices.clear("recovery")

    def _drop_pending_recovery(self) -> None:
        if self._pending_recovery is not None:
            discard_recovery(self._pending_recovery)
            self._pending_recovery = None

    # Quitting ---------------------------------------------------------------------------
    def close(self) -> bool:
        """On quit: settle unsaved changes; False when the musician cancelled."""
        if self._closed:
            return True  # the app closes the window again on its way out: ask once
        if not self.settle_unsaved("quitting"):
            return False
        self.timer.stop()
        if self._end_autosave(keep=True):
            # Saved, discarded, or in this session's final autosave: the old copy is spent.
            self._drop_pending_recovery()
        self._unsubscribe()
        self._closed = True
        return True
