"""Project folders: save/open, atomicity, bad input, audio blobs, autosave and recovery."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from strumspace_desktop.core.document import Document, Note
from strumspace_desktop.core.document import project_files as pf
from strumspace_desktop.core.document import schema as S

REPO = Path(__file__).resolve().parents[3]


def tree(path: Path) -> dict[str, str]:
    """Every file under `path` with the hash of its bytes."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def make_song(tmp_path: Path) -> pf.Project:
    project = pf.create_project(tmp_path / "Song.strumspace", "Song")
    d = project.document
    t = d.add_track("midi", "Piano")
    c = d.add_midi_clip(t, 0, 3840)
    d.add_notes(c, [Note(60 + i, i * 240, 240) for i in range(8)])
    pf.save_project(project)
    return project


def write_wav(path: Path, subtype: str = "PCM_16", seconds: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(1)
    data = (rng.standard_normal((int(48000 * seconds), 2)) * 0.2).clip(-1, 1)
    sf.write(str(path), data, 48000, subtype=subtype)
    return sf.read(str(path), dtype="float64")[0]


def test_create_save_open_round_trip(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    assert not project.dirty
    opened = pf.open_project(project.path)
    assert opened.document.snapshot() == project.document.snapshot()
    assert opened.messages == [] and not opened.dirty and not opened.read_only
    manifest = json.loads((project.path / pf.MANIFEST_FILE).read_text())
    assert manifest["schema_version"] == S.SCHEMA_VERSION
    assert (
        manifest["document_sha256"]
        == hashlib.sha256((project.path / pf.DOCUMENT_FILE).read_bytes()).hexdigest()
    )


def test_dirty_follows_edits_including_deletions(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    clip = project.document.clips()[0]
    project.document.remove_note(clip.id, next(iter(project.document.notes(clip.id))))
    assert project.dirty
    pf.save_project(project)
    assert not project.dirty


def test_save_as_copies_audio_and_moves_the_project(tmp_path: Path) -> None:
    project = pf.new_project(tmp_path / "scratch", "Untitled")
    write_wav(tmp_path / "take.wav")
    blob = pf.import_audio(project, tmp_path / "take.wav")
    with pytest.raises(pf.ProjectError):
        pf.save_project(project)  # never saved: needs a path
    pf.save_project_as(project, tmp_path / "New.strumspace")
    assert (tmp_path / "New.strumspace" / "audio" / f"{blob.sha256}.flac").is_file()
    assert project.audio_dir == tmp_path / "New.strumspace" / "audio"
    assert pf.open_project(tmp_path / "New.strumspace").offline_blobs == set()


def test_import_audio_is_lossless_and_content_addressed(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    original = write_wav(tmp_path / "a.wav", "PCM_24")
    blob = pf.import_audio(project, tmp_path / "a.wav")
    stored = project.audio_path(blob.sha256)
    assert stored is not None and stored.suffix == ".flac"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == blob.sha256
    data, rate = sf.read(str(stored), dtype="float64")
    assert rate == 48000 and np.array_equal(data, original)
    assert (blob.frames, blob.channels, blob.sample_rate) == (24000, 2, 48000)
    again = pf.import_audio(project, tmp_path / "a.wav")
    assert again == blob and len(list(project.audio_dir.iterdir())) == 1
    # Float audio does not fit FLAC losslessly: kept as float WAV.
    floats = write_wav(tmp_path / "f.wav", "FLOAT")
    fblob = pf.import_audio(project, tmp_path / "f.wav")
    fpath = project.audio_path(fblob.sha256)
    assert fpath is not None and fpath.suffix == ".wav"
    assert np.array_equal(sf.read(str(fpath), dtype="float64")[0], floats)
    # A FLAC file keeps its own bytes.
    flac_copy = tmp_path / "copy.flac"
    flac_copy.write_bytes(stored.read_bytes())
    assert pf.import_audio(project, flac_copy).sha256 == blob.sha256


def test_import_of_a_non_audio_file_is_refused(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    bogus = tmp_path / "notes.wav"
    bogus.write_bytes(b"this is not audio")
    before = tree(project.path)
    with pytest.raises(pf.ProjectError):
        pf.import_audio(project, bogus)
    assert tree(project.path) == before


def test_missing_audio_opens_as_offline_regions(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    write_wav(tmp_path / "a.wav")
    blob = pf.import_audio(project, tmp_path / "a.wav")
    t = project.document.add_track("audio", "Gtr")
    project.document.add_audio_region(t, blob.sha256, 0, 960)
    pf.save_project(project)
    (project.audio_dir / f"{blob.sha256}.flac").unlink()
    opened = pf.open_project(project.path)
    assert opened.offline_blobs == {blob.sha256}
    assert any("missing" in m for m in opened.messages)
    assert opened.audio_path(blob.sha256) is None
    assert len(opened.document.clips(t)) == 1


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "no_document", "manifest"])
def test_damaged_project_gives_a_clear_error_and_changes_nothing(
    tmp_path: Path, damage: str
) -> None:
    project = make_song(tmp_path)
    doc_file = project.path / pf.DOCUMENT_FILE
    data = doc_file.read_bytes()
    if damage == "truncate":
        doc_file.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        doc_file.write_bytes(bytes(range(256)) * 4)
    elif damage == "empty":
        doc_file.write_bytes(b"")
    elif damage == "no_document":
        doc_file.unlink()
    else:
        (project.path / pf.MANIFEST_FILE).write_text("{not json")
    before = tree(project.path)
    with pytest.raises(pf.ProjectError) as info:
        pf.open_project(project.path)
    assert str(project.path) in str(info.value)
    assert tree(project.path) == before


def test_not_a_project_folder(tmp_path: Path) -> None:
    with pytest.raises(pf.ProjectError, match="not a StrumSpace project"):
        pf.open_project(tmp_path)
    with pytest.raises(pf.ProjectError, match="not a project folder"):
        pf.open_project(tmp_path / "nothing")


def test_save_cut_between_its_two_renames_opens_the_previous_version(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    saved = project.document.snapshot()
    old_document = (project.path / pf.DOCUMENT_FILE).read_bytes()
    project.document.set_title("newer")
    pf.save_project(project)
    # As if the manifest had been renamed into place but not the document.
    (project.path / pf.DOCUMENT_FILE).write_bytes(old_document)
    opened = pf.open_project(project.path)
    assert opened.document.snapshot() == saved
    assert any("interrupted" in m for m in opened.messages)


def test_newer_schema_opens_read_only_and_is_never_written(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    from pycrdt import Map

    project.document.ydoc.get(S.ROOT_META, type=Map)[S.META_SCHEMA_VERSION] = 99
    pf.save_project(project)
    before = tree(project.path)
    opened = pf.open_project(project.path)
    assert opened.read_only and any("newer" in m for m in opened.messages)
    with pytest.raises(pf.ProjectError, match="newer"):
        pf.save_project(opened)
    assert tree(project.path) == before


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_full_disk_during_save_keeps_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    project = make_song(tmp_path)
    before = tree(project.path)
    saved = project.document.snapshot()
    project.document.set_title("unsaved change")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pf.os, failing, full)
    with pytest.raises(pf.ProjectError, match="previous version is unchanged"):
        pf.save_project(project)
    monkeypatch.undo()
    assert tree(project.path) == before  # no half file, no temporary left behind
    assert project.dirty
    assert pf.open_project(project.path).document.snapshot() == saved


def test_full_disk_on_the_document_restores_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_song(tmp_path)
    before = tree(project.path)
    saved = project.document.snapshot()
    project.document.add_notes(project.document.clips()[0].id, [Note(1, i, 1) for i in range(500)])
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        if len(data) > 2000:  # the manifest fits, the document does not
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(pf.os, "write", write)
    with pytest.raises(pf.ProjectError):
        pf.save_project(project)
    monkeypatch.undo()
    assert tree(project.path) == before
    opened = pf.open_project(project.path)
    assert opened.document.snapshot() == saved and opened.messages == []


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from strumspace_desktop.core.document import Note
    from strumspace_desktop.core.document import project_files as pf
    project = pf.open_project(Path({path!r}))
    clip = project.document.clips()[0]
    project.document.add_notes(clip.id, [Note(40, i, 1) for i in range(20000)])
    real_write = os.write
    calls = []
    def dying_write(fd, data):
        calls.append(1)
        if len(data) > 1000:
            real_write(fd, bytes(data)[: len(data) // 2])
            os._exit(9)  # the power goes out in the middle of the document
        return real_write(fd, data)
    os.write = dying_write
    pf.save_project(project)
    """
)


def test_crash_in_the_middle_of_a_save_leaves_the_previous_version(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    saved = project.document.snapshot()
    script = CRASH_SCRIPT.format(repo=str(REPO), path=str(project.path))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == 9, result.stderr.decode()
    leftovers = [p.name for p in project.path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers  # it really died mid-write
    assert pf.open_project(project.path).document.snapshot() == saved


# ----- recent projects ------------------------------------------------------------


def test_recent_projects(tmp_path: Path) -> None:
    recent = pf.RecentProjects(tmp_path / "config" / "recent.json", limit=3)
    assert recent.paths() == []
    folders = [pf.create_project(tmp_path / f"p{i}.strumspace").path for i in range(4)]
    for f in folders:
        assert f is not None
        recent.add(f)
    assert recent.paths() == [f.resolve() for f in reversed(folders[1:])]  # type: ignore[union-attr]
    recent.add(folders[2])  # type: ignore[arg-type]
    assert recent.paths()[0] == folders[2].resolve()  # type: ignore[union-attr]
    recent.remove(folders[3])  # type: ignore[arg-type]
    assert len(recent.paths()) == 2
    import shutil

    shutil.rmtree(folders[1])  # type: ignore[arg-type]
    assert recent.existing() == [folders[2].resolve()]  # type: ignore[union-attr]
    (tmp_path / "config" / "recent.json").write_text("garbage")
    assert recent.paths() == []


# ----- autosave and recovery ------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_autosave_every_30_seconds_only_when_changed(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    before = tree(project.path)
    clock = FakeClock()
    saver = pf.Autosaver(project, tmp_path / "recovery", clock=clock)
    autosave = saver.session_dir / "autosave.ystate"
    clock.now += 31
    assert not saver.tick()  # nothing changed
    project.document.set_title("edited")
    clock.now += 10
    assert not saver.tick() and not autosave.exists()  # interval not over
    clock.now += 25
    assert saver.tick() and autosave.exists()
    assert Document.from_state(autosave.read_bytes()).title == "edited"
    clock.now += 31
    assert not saver.tick()  # nothing new
    assert tree(project.path) == before  # autosave never writes into the project
    # The running session is not offered for recovery.
    assert pf.find_recoverable(tmp_path / "recovery") == []
    saver.close()


def test_quit_with_unsaved_changes_keeps_them_for_next_start(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    saver = pf.Autosaver(project, tmp_path / "recovery", clock=FakeClock())
    project.document.set_title("not saved")
    saver.close()
    (rec,) = pf.find_recoverable(tmp_path / "recovery")
    assert not rec.crashed and rec.project_path == project.path
    recovered = pf.recover(rec)
    assert recovered.document.title == "not saved" and recovered.dirty
    pf.discard_recovery(rec)
    assert pf.find_recoverable(tmp_path / "recovery") == []


def test_clean_quit_leaves_nothing(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    saver = pf.Autosaver(project, tmp_path / "recovery", clock=FakeClock())
    project.document.set_title("saved")
    pf.save_project(project)
    saver.close()
    assert list((tmp_path / "recovery").iterdir()) == []


AUTOSAVE_CRASH = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from strumspace_desktop.core.document import Note
    from strumspace_desktop.core.document import project_files as pf
    project = pf.open_project(Path({path!r}))
    now = [0.0]
    saver = pf.Autosaver(project, Path({recovery!r}), clock=lambda: now[0])
    clip = project.document.clips()[0]
    project.document.add_note(clip.id, Note(100, 0, 1))
    now[0] = 31.0
    assert saver.tick()
    os._exit(3)  # crash: no close(), the lock dies with the process
    """
)


def test_after_a_crash_the_next_start_offers_recovery(tmp_path: Path) -> None:
    project = make_song(tmp_path)
    script = AUTOSAVE_CRASH.format(
        repo=str(REPO), path=str(project.path), recovery=str(tmp_path / "recovery")
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == 3, result.stderr.decode()
    (rec,) = pf.find_recoverable(tmp_path / "recovery")
    assert rec.crashed and rec.project_path == project.path
    recovered = pf.recover(rec)
    clip = recovered.document.clips()[0]
    assert 100 in {n.pitch for n in recovered.document.notes(clip.id).values()}
    # The project on disk is still the saved one.
    assert pf.open_project(project.path).document.snapshot() == project.document.snapshot()
