"""File > Import Audio… and Import MIDI…: files into the open project.

Audio files are decoded and checked on a worker thread (core.audio_import's
`prepare_audio`, which touches no document), then placed on the UI thread, each on
a new audio track (or on `track_id`) at `position()` — the tick the window passes,
0 by default. MIDI files are small: read and added at once (core.midi_import).
Every problem and every note (channels left out, tempo kept) becomes a notice
naming the file; a failed import adds nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from strumspace_desktop.core.audio_import import (
    AUDIO_SUFFIXES,
    AudioImportCancelled,
    AudioImportError,
    ImportedAudio,
    PreparedAudio,
    discard_prepared,
    place_audio,
    prepare_audio,
)
from strumspace_desktop.core.document.project_files import Project
from strumspace_desktop.core.midi_import import (
    MIDI_SUFFIXES,
    MidiImportError,
    MidiMergeReport,
    import_midi_into,
)
from strumspace_desktop.ui.notice_area import NoticeArea
from strumspace_desktop.ui.project_controller import ProjectController

NOTICE_KEY = "import"


class _PrepareJob(QThread):
    """Decodes and stores audio files one after another, off the UI thread."""

    prepared = Signal(object)  # PreparedAudio
    failed = Signal(str)
    progress = Signal(float)  # over all files

    def __init__(self, paths: Sequence[Path], audio_dir: Path, parent: QObject) -> None:
        super().__init__(parent)
        self.paths = list(paths)
        self.audio_dir = audio_dir
        self.cancel = threading.Event()

    def run(self) -> None:
        n = len(self.paths)
        for i, path in enumerate(self.paths):
            if self.cancel.is_set():
                return
            def report(fraction: float, done: int = i) -> None:
                self.progress.emit((done + fraction) / n)

            try:
                prepared = prepare_audio(path, self.audio_dir, cancel=self.cancel,
                                         progress=report)
            except AudioImportCancelled:
                return
            except AudioImportError as exc:
                self.failed.emit(str(exc))
                continue
            self.prepared.emit(prepared)


class ImportActions(QObject):
    audio_imported = Signal(object)  # ImportedAudio, once per file placed
    midi_imported = Signal(object)  # MidiMergeReport
    busy_changed = Signal(bool)

    def __init__(self, controller: ProjectController, notices: NoticeArea,
                 parent: QWidget, *, position: Callable[[], int] = lambda: 0) -> None:
        super().__init__(parent)
        self._controller = controller
        self._notices = notices
        self._parent = parent
        self.position = position
        self._job: _PrepareJob | None = None
        self._messages: list[tuple[str, str]] = []  # (level, text) of the running import
        self.imported: list[ImportedAudio] = []  # of the last audio import

    @property
    def busy(self) -> bool:
        return self._job is not None

    def _dialog_dir(self) -> str:
        path = self._controller.project.path
        return str(path.parent if path is not None else Path.home())

    def _refuse_read_only(self) -> bool:
        project = self._controller.project
        if project.read_only:
            self._notices.show_notice(NOTICE_KEY, project.document.read_only_reason, "warning")
            return True
        return False

    # Audio ---------------------------------------------------------------------------------
    def import_audio(self, paths: Sequence[Path] | None = None, *, tick: int | None = None,
                     track_id: str | None = None) -> bool:
        """Start importing audio files; False when nothing was started."""
        if self._refuse_read_only():
            return False
        if self._job is not None:
            self._notices.show_notice(NOTICE_KEY, "An import is still running.", "info")
            return False
        if paths is None:
            pattern = " ".join(f"*{s}" for s in AUDIO_SUFFIXES)
            chosen, _ = QFileDialog.getOpenFileNames(
                self._parent, "Import Audio", self._dialog_dir(),
                f"Audio files ({pattern});;All files (*)")
            if not chosen:
                return False
            paths = [Path(p) for p in chosen]
        if not paths:
            return False
        self._notices.clear(NOTICE_KEY)
        self._messages = []
        self.imported = []
        project = self._controller.project
        at = self.position() if tick is None else tick
        job = _PrepareJob(paths, project.audio_dir, self)
        job.prepared.connect(lambda p: self._place(project, p, at, track_id))
        job.failed.connect(lambda text: self._messages.append(("error", text)))
        job.finished.connect(self._job_finished)
        self._job = job
        self.busy_changed.emit(True)
        job.start()
        return True

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel.set()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the running import's files are decoded (tests)."""
        job = self._job
        return job is None or job.wait(timeout_ms)

    def _place(self, project: Project, prepared: PreparedAudio, tick: int,
               track_id: str | None) -> None:
        if project is not self._controller.project:  # another song was opened meanwhile
            if prepared.blob.sha256 not in project.document.blobs():
                discard_prepared(prepared)
            return
        try:
            result = place_audio(project, prepared, tick=tick, track_id=track_id)
        except AudioImportError as exc:
            self._messages.append(("error", str(exc)))
            return
        self.imported.append(result)
        self._messages.extend(("info", note) for note in result.notes)
        self.audio_imported.emit(result)

    def _job_finished(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.deleteLater()
        errors = [t for level, t in self._messages if level == "error"]
        infos = [t for level, t in self._messages if level != "error"]
        if errors or infos:
            done = len(self.imported)
            head = (f"{done} file(s) imported. " if errors and done else "")
            self._notices.show_notice(NOTICE_KEY, head + " ".join(errors + infos),
                                      "error" if errors else "info")
        self.busy_changed.emit(False)

    # MIDI ----------------------------------------------------------------------------------
    def import_midi(self, path: Path | None = None, *,
                    tick: int | None = None) -> MidiMergeReport | None:
        if self._refuse_read_only():
            return None
        if path is None:
            pattern = " ".join(f"*{s}" for s in MIDI_SUFFIXES)
            chosen, _ = QFileDialog.getOpenFileName(
                self._parent, "Import MIDI", self._dialog_dir(),
                f"MIDI files ({pattern});;All files (*)")
            if not chosen:
                return None
            path = Path(chosen)
        at = self.position() if tick is None else tick
        try:
            report = import_midi_into(self._controller.document, path, tick=at)
        except MidiImportError as exc:
            self._notices.show_notice(NOTICE_KEY, f"The MIDI file was not imported: {exc}",
                                      "error")
            return None
        if report.messages:
            self._notices.show_notice(NOTICE_KEY, " ".join(report.messages), "info")
        else:
            self._notices.clear(NOTICE_KEY)
        self.midi_imported.emit(report)
        return report
