"""File > Export Mixdown… and Export Stems…: the song rendered to audio files.

The dialog collects the options (format WAV or FLAC, 44.1/48/96 kHz, 16 or 24-bit
integer or 32-bit float — FLAC holds integers only —, the whole song or the loop)
and runs the ENGINE's offline renderer (`audio.offline_render.render_mixdown` /
`render_stems`) on a QThread, with a progress bar and Cancel. The renderer gets a
snapshot of the document made on its own thread from the document's state, so
edits made while it runs neither race with it nor change what is exported.

Problems are shown in the dialog in words, before starting where they can be
seen (a missing or unwritable folder) and after (a full disk, a folder that
became unwritable); the dialog stays open so the musician can pick another place.
"""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.core.document import Document
from strumspace_desktop.core.document.project_files import Project

FORMATS = (("WAV", "wav"), ("FLAC", "flac"))
SAMPLE_RATES = (44100, 48000, 96000)
BIT_DEPTHS = (("16-bit", "PCM_16"), ("24-bit", "PCM_24"), ("32-bit float", "FLOAT"))
FLAC_SUBTYPES = {"PCM_16", "PCM_24"}


@dataclass(frozen=True)
class ExportChoice:
    """What the dialog asks the renderer for (the RenderOptions fields and the target)."""

    stems: bool
    target: Path  # the mixdown file, or the stems folder
    sample_rate: int
    format: str  # "wav" | "flac"
    subtype: str  # "PCM_16" | "PCM_24" | "FLOAT"
    start_tick: int | None
    end_tick: int | None

    def render_options(self) -> Any:
        from strumspace_desktop.audio.offline_render import RenderOptions

        return RenderOptions(sample_rate=self.sample_rate, format=self.format,
                             subtype=self.subtype, start_tick=self.start_tick,
                             end_tick=self.end_tick)


def describe_os_error(exc: OSError, target: Path) -> str:
    """A full disk or a locked folder, in words."""
    folder = target if target.is_dir() else target.parent
    if exc.errno == errno.ENOSPC:
        return f"The disk is full: {target} could not be written. Free some space and export again."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"The folder {folder} cannot be written (permission denied). Choose another folder."
    if exc.errno == errno.ENOENT:
        return f"The folder {folder} does not exist. Choose another folder."
    return f"Export failed while writing {target}: {exc.strerror or exc}."


class _RenderJob(QThread):
    progress = Signal(float)
    succeeded = Signal(object)  # list[Path]
    failed = Signal(str)

    def __init__(self, choice: ExportChoice, state: bytes, audio_dir: Path,
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.choice = choice
        self._state = state
        self._audio_dir = audio_dir
        self.cancel = threading.Event()

    def run(self) -> None:
        c = self.choice
        try:
            from strumspace_desktop.audio import offline_render

            # The renderer's own copy of the song, made on this thread.
            project = Project(Document.from_state(self._state), None, self._audio_dir)
            project.refresh_offline()
            options = c.render_options()
            if c.stems:
                paths = list(offline_render.render_stems(
                    project, c.target, options, progress=self.progress.emit,
                    cancel=self.cancel))
            else:
                offline_render.render_mixdown(project, c.target, options,
                                              progress=self.progress.emit, cancel=self.cancel)
                paths = [c.target]
        except ImportError as exc:
            self.failed.emit(f"Exporting is not available in this build ({exc}).")
        except OSError as exc:
            self.failed.emit(describe_os_error(exc, c.target))
        except Exception as exc:  # the renderer's own errors carry a message for the user
            if self.cancel.is_set():
                self.succeeded.emit([])
            else:
                self.failed.emit(f"Export failed: {exc}")
        else:
            self.succeeded.emit([] if self.cancel.is_set() else paths)


class ExportDialog(QDialog):
    """Options, then a progress bar; stays open to show the outcome."""

    export_finished = Signal(object)  # list[Path] written ([] when cancelled)

    def __init__(self, project: Project, *, stems: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.stems = stems
        self.setWindowTitle("Export Stems" if stems else "Export Mixdown")
        self.job: _RenderJob | None = None
        self.result_paths: list[Path] = []

        self.format_box = QComboBox()
        for label, fmt in FORMATS:
            self.format_box.addItem(label, fmt)
        self.rate_box = QComboBox()
        for rate in SAMPLE_RATES:
            self.rate_box.addItem(f"{rate / 1000:g} kHz", rate)
        self.rate_box.setCurrentIndex(SAMPLE_RATES.index(48000))
        self.depth_box = QComboBox()
        for label, subtype in BIT_DEPTHS:
            self.depth_box.addItem(label, subtype)
        self.depth_box.setCurrentIndex(1)
        self.whole_button = QRadioButton("Whole song")
        self.loop_button = QRadioButton("Loop range")
        self.range_group = QButtonGroup(self)
        self.range_group.addButton(self.whole_button)
        self.range_group.addButton(self.loop_button)
        self.whole_button.setChecked(True)
        loop = project.document.loop()
        self.loop_button.setEnabled(loop.end > loop.start)
        if loop.end <= loop.start:
            self.loop_button.setToolTip("The song has no loop range")
        self.target_edit = QLineEdit(str(self._default_target()))
        self.browse_button = QPushButton("Choose…")
        self.browse_button.clicked.connect(self.browse)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export",
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)

        target_row = QHBoxLayout()
        target_row.addWidget(self.target_edit, 1)
        target_row.addWidget(self.browse_button)
        ranges = QHBoxLayout()
        ranges.addWidget(self.whole_button)
        ranges.addWidget(self.loop_button)
        ranges.addStretch(1)
        form = QFormLayout()
        form.addRow("Folder" if stems else "File", target_row)
        form.addRow("Format", self.format_box)
        form.addRow("Sample rate", self.rate_box)
        form.addRow("Bit depth", self.depth_box)
        form.addRow("Range", ranges)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self._format_changed()
        self.resize(520, self.sizeHint().height())

    # Options -----------------------------------------------------------------------------
    def _default_target(self) -> Path:
        folder = self.project.path.parent if self.project.path is not None else Path.home()
        title = self.project.title or "Untitled"
        return folder / (f"{title} stems" if self.stems else f"{title}.wav")

    def _format_changed(self) -> None:
        fmt = self.format_box.currentData()
        # FLAC stores integers only: 32-bit float is WAV's.
        model = self.depth_box.model()
        float_row = [s for _, s in BIT_DEPTHS].index("FLOAT")
        item = model.item(float_row)  # type: ignore[attr-defined]
        item.setEnabled(fmt != "flac")
        if fmt == "flac" and self.depth_box.currentData() not in FLAC_SUBTYPES:
            self.depth_box.setCurrentIndex(1)
        if not self.stems:
            text = self.target_edit.text().strip()
            if text:
                path = Path(text)
                if path.suffix.lower() in (".wav", ".flac", ""):
                    self.target_edit.setText(str(path.with_suffix(f".{fmt}")))

    def browse(self) -> None:
        current = self.target_edit.text().strip()
        if self.stems:
            chosen = QFileDialog.getExistingDirectory(self, "Export Stems To", current)
        else:
            fmt = self.format_box.currentData()
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export Mixdown As", current, f"{fmt.upper()} files (*.{fmt})")
        if chosen:
            self.target_edit.setText(chosen)
            self._format_changed()

    def choice(self) -> ExportChoice:
        fmt = str(self.format_box.currentData())
        subtype = str(self.depth_box.currentData())
        if fmt == "flac" and subtype not in FLAC_SUBTYPES:
            subtype = "PCM_24"
        start = end = None
        if self.loop_button.isChecked():
            loop = self.project.document.loop()
            start, end = loop.start, loop.end
        target = Path(self.target_edit.text().strip()).expanduser()
        if not self.stems and not target.is_dir() and target.suffix.lower() != f".{fmt}":
            target = target.with_name(target.name + f".{fmt}") if target.suffix == "" \
                else target.with_suffix(f".{fmt}")
        return ExportChoice(self.stems, target, int(self.rate_box.currentData()), fmt, subtype,
                            start, end)

    def problem(self, choice: ExportChoice) -> str | None:
        """What stops an export before it starts, in words."""
        if not self.target_edit.text().strip():
            return "Choose a folder to export to." if self.stems else "Choose a file name."
        folder = choice.target if self.stems else choice.target.parent
        if self.stems and choice.target.exists() and not choice.target.is_dir():
            return f"{choice.target} is a file, not a folder."
        if not self.stems and choice.target.is_dir():
            return f"{choice.target} is a folder: choose a file name."
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent  # a new stems folder is created under an existing one
        if not probe.is_dir():
            return f"The folder {folder} does not exist."
        if not os.access(probe, os.W_OK | os.X_OK):
            return f"The folder {probe} cannot be written (permission denied). " \
                "Choose another folder."
        return None

    # Running -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None

    def _set_editable(self, on: bool) -> None:
        for w in (self.format_box, self.rate_box, self.depth_box, self.whole_button,
                  self.target_edit, self.browse_button, self.export_button):
            w.setEnabled(on)
        loop = self.project.document.loop()
        self.loop_button.setEnabled(on and loop.end > loop.start)

    def start(self) -> bool:
        if self.job is not None:
            return False
        choice = self.choice()
        problem = self.problem(choice)
        if problem is not None:
            self._show(problem, error=True)
            return False
        if self.stems:
            try:
                choice.target.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self._show(describe_os_error(exc, choice.target), error=True)
                return False
        self._show("Exporting…")
        self.progress_bar.setValue(0)
        self._set_editable(False)
        job = _RenderJob(choice, self.project.document.state(), self.project.audio_dir, self)
        job.progress.connect(self._progress)
        job.succeeded.connect(self._succeeded)
        job.failed.connect(self._failed)
        job.finished.connect(self._job_finished)
        self.job = job
        job.start()
        return True

    def _progress(self, fraction: float) -> None:
        self.progress_bar.setValue(round(max(0.0, min(1.0, fraction)) * 1000))

    def _succeeded(self, paths: list[Path]) -> None:
        self.result_paths = list(paths)
        if paths:
            self.progress_bar.setValue(1000)
            where = paths[0] if not self.stems else self.choice().target
            self._show(f"Exported {len(paths)} file(s) to {where}." if self.stems
                       else f"Exported to {where}.")
        else:
            self.progress_bar.setValue(0)
            self._show("Export cancelled.")
        self.export_finished.emit(self.result_paths)

    def _failed(self, text: str) -> None:
        self.progress_bar.setValue(0)
        self._show(text, error=True)
        self.export_finished.emit([])

    def _job_finished(self) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.deleteLater()
        self._set_editable(True)
        self.cancel_button.setText("Close")

    def _show(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #ff6b6b;" if error else "")
        self.message.setProperty("error", error)

    def cancel_or_close(self) -> None:
        if self.job is not None:
            self.job.cancel.set()
            self._show("Cancelling…")
        else:
            self.reject()

    def wait(self, timeout_ms: int = 120_000) -> bool:
        """Block until the running export ends (tests)."""
        job = self.job
        return job is None or job.wait(timeout_ms)

    def reject(self) -> None:
        if self.job is not None:  # closing the window cancels a running export first
            self.job.cancel.set()
            self.job.wait()
        super().reject()
