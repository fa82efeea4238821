"""Project folders: new, open, save, save as, recent projects, autosave and recovery.

A project is a folder:

    MySong.strumspace/
        project.json        manifest: format, versions, checksum of the document
        document.ystate     the document as one Yjs update (its whole state)
        audio/<sha256>.flac audio files named by the SHA-256 of their bytes

Saves are atomic: each file is written aside, fsynced, then renamed over the
old one, so a crash or a full disk leaves the previous version readable.
Opening never writes anything. Autosaves go to a per-session folder under the
application's recovery folder, never into the project, so an unsaved project
stays as its owner last saved it; after a crash (or a quit with unsaved
changes) the next start finds them with `find_recoverable`.

No Qt here: the UI drives `Autosaver.tick()` from its own timer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import BlobInfo, Document
from .schema import SCHEMA_VERSION, SchemaError

try:  # POSIX: an flock held for the session's lifetime tells a live session from a crashed one
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PROJECT_SUFFIX = ".strumspace"
MANIFEST_FILE = "project.json"
DOCUMENT_FILE = "document.ystate"
AUDIO_DIR = "audio"
FORMAT_NAME = "strumspace-project"
FORMAT_VERSION = 1
AUTOSAVE_INTERVAL_S = 30.0
_SESSION_FILE = "session.json"
_LOCK_FILE = "session.lock"
_AUTOSAVE_FILE = "autosave.ystate"


class ProjectError(Exception):
    """A project could not be opened or saved; the message is meant for the user."""


# ----- atomic files ------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a mix."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ----- the project ---------------------------------------------------------------


@dataclass
class Project:
    document: Document
    path: Path | None  # None until first saved
    audio_dir: Path  # where audio blobs live (a scratch folder while untitled)
    offline_blobs: set[str] = field(default_factory=set)
    messages: list[str] = field(default_factory=list)  # what the user should be told on open
    _saved_revision: int = -1

    @property
    def read_only(self) -> bool:
        return self.document.read_only

    @property
    def dirty(self) -> bool:
        """Changed (locally or by a partner) since the last save or open."""
        return self.document.revision != self._saved_revision

    @property
    def title(self) -> str:
        if self.document.title:
            return self.document.title
        return self.path.name.removesuffix(PROJECT_SUFFIX) if self.path else "Untitled"

    def audio_path(self, sha256: str) -> Path | None:
        """The file of a blob, or None when it is missing (an offline region)."""
        info = self.document.blobs().get(sha256)
        if info is None:
            return None
        path = self.audio_dir / f"{sha256}.{info.ext}"
        return path if path.is_file() else None

    def refresh_offline(self) -> set[str]:
        self.offline_blobs = {sha for sha in self.document.blobs() if self.audio_path(sha) is None}
        return self.offline_blobs

    def mark_saved(self) -> None:
        self._saved_revision = self.document.revision


def new_project(audio_dir: Path, title: str = "") -> Project:
    """An untitled project; its imported audio goes to `audio_dir` until it is saved."""
    project = Project(Document.new(title), None, Path(audio_dir))
    project.mark_saved()
    return project


def create_project(path: Path, title: str = "") -> Project:
    """A new project saved at once into a new folder."""
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise ProjectError(f"{path} already exists and is not empty")
    project = Project(Document.new(title), None, path / AUDIO_DIR)
    save_project_as(project, path)
    return project


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest_path = path / MANIFEST_FILE
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path} is not a StrumSpace project (no {MANIFEST_FILE})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProjectError(f"the project file {manifest_path} is damaged: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ProjectError(f"{manifest_path} is not a StrumSpace project manifest")
    return manifest


def open_project(path: Path) -> Project:
    """Open a project folder; reads only. Raises ProjectError with a message for the user."""
    path = Path(path)
    if not path.is_dir():
        raise ProjectError(f"{path} is not a project folder")
    manifest = _read_manifest(path)
    messages: list[str] = []
    try:
        data = (path / DOCUMENT_FILE).read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"the project {path} has no {DOCUMENT_FILE}: it is incomplete") from None
    except OSError as exc:
        raise ProjectError(f"cannot read {path / DOCUMENT_FILE}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest.get("document_sha256"):
        if digest != manifest.get("previous_document_sha256"):
            raise ProjectError(
                f"the project {path} is damaged: {DOCUMENT_FILE} does not match its checksum "
                "(truncated or overwritten)"
            )
        # The manifest is renamed into place before the document: a save cut between the
        # two leaves the previous document, which is complete.
        messages.append(
            "The last save of this project was interrupted; this is the version saved before it."
        )
    try:
        document = Document.from_state(data)
    except SchemaError as exc:
        raise ProjectError(f"the project {path} is damaged and cannot be opened: {exc}") from exc
    if document.read_only:
        messages.append(document.read_only_reason)
    project = Project(document, path, path / AUDIO_DIR, messages=messages)
    missing = project.refresh_offline()
    if missing:
        messages.append(
            f"{len(missing)} audio file(s) are missing; their regions are shown offline."
        )
    project.mark_saved()
    return project


def _manifest_bytes(document: Document, state: bytes, previous_sha256: str | None) -> bytes:
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "schema_version": max(document.schema_version, SCHEMA_VERSION),
        "document": DOCUMENT_FILE,
        "document_sha256": hashlib.sha256(state).hexdigest(),
        "document_bytes": len(state),
        "previous_document_sha256": previous_sha256,
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return (json.dumps(manifest, indent=2) + "\n").encode()


def _write_project(document: Document, path: Path) -> None:
    state = document.state()
    try:
        previous: str | None = sha256_file(path / DOCUMENT_FILE)
    except FileNotFoundError:
        previous = None
    # Manifest first, naming both checksums: whenever a save stops, the document on
    # disk matches one of them, and anything else is damage (see open_project).
    try:
        old_manifest: bytes | None = (path / MANIFEST_FILE).read_bytes()
    except FileNotFoundError:
        old_manifest = None
    atomic_write(path / MANIFEST_FILE, _manifest_bytes(document, state, previous))
    try:
        atomic_write(path / DOCUMENT_FILE, state)
    except OSError:
        if old_manifest is not None:  # best effort: put the old manifest back
            with contextlib.suppress(OSError):
                atomic_write(path / MANIFEST_FILE, old_manifest)
        raise


def save_project(project: Project) -> None:
    if project.path is None:
        raise ProjectError("this project has not been saved yet: use save as")
    if project.read_only:
        raise ProjectError(project.document.read_only_reason)
    try:
        _write_project(project.document, project.path)
    except OSError as exc:
        raise ProjectError(
            f"saving {project.path} failed ({exc.strerror or exc}); the previous version "
            "is unchanged"
        ) from exc
    project.mark_saved()


def save_project_as(project: Project, path: Path) -> None:
    """Save into a new folder, copying the audio the document uses."""
    if project.read_only:
        raise ProjectError(project.document.read_only_reason)
    path = Path(path)
    if (
        path.exists()
        and path != project.path
        and not (path / MANIFEST_FILE).exists()
        and any(path.iterdir())
    ):
        raise ProjectError(f"{path} exists and is not a StrumSpace project")
    try:
        (path / AUDIO_DIR).mkdir(parents=True, exist_ok=True)
        for sha, info in project.document.blobs().items():
            name = f"{sha}.{info.ext}"
            src = project.audio_dir / name
            dst = path / AUDIO_DIR / name
            if dst.exists() or not src.is_file():
                continue  # content-addressed: an existing file is the same bytes
            tmp = dst.with_name(f".{name}.{os.getpid()}.tmp")
            shutil.copyfile(src, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, dst)
        _write_project(project.document, path)
    except OSError as exc:
        raise ProjectError(f"saving to {path} failed: {exc.strerror or exc}") from exc
    project.path = path
    project.audio_dir = path / AUDIO_DIR
    project.refresh_offline()
    project.mark_saved()


# ----- audio import --------------------------------------------------------------

def import_audio(project: Project, source: Path) -> BlobInfo:
    """Store an audio file in the project (FLAC when that is lossless, else float WAV;
    named by the SHA-256 of the stored bytes) and register it in the document.

    The checks and the decoding are core.audio_import's (whole-file validation, MP3
    read without the seeks that restart its decoder); this adds only the blob, no region.
    """
    from ..audio_import import AudioImportError, discard_prepared, prepare_audio

    try:
        prepared = prepare_audio(Path(source), project.audio_dir)
    except AudioImportError as exc:
        raise ProjectError(str(exc)) from exc
    try:
        project.document.add_blob(prepared.blob)
    except BaseException:
        if prepared.blob.sha256 not in project.document.blobs():
            discard_prepared(prepared)
        raise
    project.offline_blobs.discard(prepared.blob.sha256)
    return prepared.blob


# ----- recent projects -----------------------------------------------------------


class RecentProjects:
    """Most recently used project folders, newest first, kept in a small JSON file."""

    def __init__(self, file: Path, limit: int = 10) -> None:
        self._file = Path(file)
        self._limit = limit

    def paths(self) -> list[Path]:
        try:
            raw = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        if not isinstance(raw, list):
            return []
        return [Path(p) for p in raw if isinstance(p, str)][: self._limit]

    def existing(self) -> list[Path]:
        return [p for p in self.paths() if (p / MANIFEST_FILE).is_file()]

    def add(self, path: Path) -> None:
        path = Path(path).resolve()
        items = [p for p in self.paths() if p != path]
        self._store([path, *items][: self._limit])

    def remove(self, path: Path) -> None:
        path = Path(path).resolve()
        self._store([p for p in self.paths() if p != path])

    def _store(self, items: list[Path]) -> None:
        self._file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self._file, json.dumps([str(p) for p in items], indent=1).encode())


# ----- autosave and crash recovery -----------------------------------------------


@dataclass(frozen=True)
class Recovery:
    """An autosave left by a session that crashed or quit with unsaved changes."""

    session_dir: Path
    project_path: Path | None
    audio_dir: Path
    saved_at: float
    crashed: bool


class Autosaver:
    """Writes the document to this session's recovery folder every `interval` seconds
    while it has unsaved changes, and once more on quit.

    `clock` is injectable (the UI passes its own, tests a fake); call `tick()` often.
    """

    def __init__(
        self,
        project: Project,
        recovery_dir: Path,
        *,
        interval: float = AUTOSAVE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.project = project
        self._interval = interval
        self._clock = clock
        self._last = clock()
        self._autosaved_revision = project.document.revision
        self.session_dir = (
            Path(recovery_dir) / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        )
        self.session_dir.mkdir(parents=True)
        self._lock_fd: int | None = os.open(
            self.session_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644
        )
        if fcntl is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._write_session(ended=False)

    def _write_session(self, *, ended: bool) -> None:
        p = self.project
        info = {
            "pid": os.getpid(),
            "project": str(p.path) if p.path else None,
            "audio_dir": str(p.audio_dir),
            "ended": ended,
            "autosaved_at": time.time(),
        }
        atomic_write(self.session_dir / _SESSION_FILE, json.dumps(info).encode())

    def tick(self) -> bool:
        """Autosave if the interval has passed and there is something new; True if it saved."""
        if self._clock() - self._last < self._interval:
            return False
        self._last = self._clock()
        return self.autosave()

    def autosave(self) -> bool:
        doc = self.project.document
        revision = doc.revision
        if revision == self._autosaved_revision or not self.project.dirty:
            return False
        atomic_write(self.session_dir / _AUTOSAVE_FILE, doc.state())
        self._autosaved_revision = revision
        self._write_session(ended=False)
        return True

    def close(self) -> None:
        """On quit: keep a final autosave if there are unsaved changes, else clean up."""
        if self._lock_fd is None:
            return
        if self.project.dirty and not self.project.read_only:
            atomic_write(self.session_dir / _AUTOSAVE_FILE, self.project.document.state())
            self._write_session(ended=True)
            os.close(self._lock_fd)
        else:
            os.close(self._lock_fd)
            shutil.rmtree(self.session_dir, ignore_errors=True)
        self._lock_fd = None


def _session_alive(session_dir: Path) -> bool:
    lock = session_dir / _LOCK_FILE
    if fcntl is None or not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True  # someone holds it: a running session
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def find_recoverable(recovery_dir: Path) -> list[Recovery]:
    """Autosaves from sessions that crashed or quit with unsaved changes, newest first."""
    out: list[Recovery] = []
    root = Path(recovery_dir)
    if not root.is_dir():
        return out
    for d in root.iterdir():
        if not (d / _AUTOSAVE_FILE).is_file() or _session_alive(d):
            continue
        try:
            info = json.loads((d / _SESSION_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        out.append(
            Recovery(
                d,
                Path(info["project"]) if info.get("project") else None,
                Path(info.get("audio_dir") or d / AUDIO_DIR),
                (d / _AUTOSAVE_FILE).stat().st_mtime,
                crashed=not info.get("ended", False),
            )
        )
    out.sort(key=lambda r: r.saved_at, reverse=True)
    return out


def recover(recovery: Recovery) -> Project:
    """The autosaved document as an unsaved project (saving it is the user's choice)."""
    try:
        document = Document.from_state((recovery.session_dir / _AUTOSAVE_FILE).read_bytes())
    except (OSError, SchemaError) as exc:
        raise ProjectError(f"the autosave in {recovery.session_dir} cannot be read: {exc}") from exc
    project = Project(document, recovery.project_path, recovery.audio_dir)
    project.refresh_offline()
    # Dirty on purpose: the recovered changes are not in the project until saved.
    project._saved_revision = -1
    return project


def discard_recovery(recovery: Recovery) -> None:
    shutil.rmtree(recovery.session_dir, ignore_errors=True)
