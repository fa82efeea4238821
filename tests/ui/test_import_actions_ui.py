"""File > Import Audio… and Import MIDI… in the real window: files land on tracks as
regions and clips; bad files become a notice naming them and add nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pytestqt.qtbot import QtBot
from ui_support import WAIT_MS

from strumspace_desktop.core.document import AudioRegion, Document, Note
from strumspace_desktop.core.document.smf import export_midi
from strumspace_desktop.core.settings import AppSettings
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.adapter import EngineAdapter
from strumspace_desktop.ui.main_window import MainWindow
from strumspace_desktop.ui.project_controller import UnsavedChoice


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    """The real window; importing needs no sound, so no engine is attached (as after an
    engine that failed to start)."""
    w = MainWindow(AppSettings(), EngineAdapter(None), settings_path=tmp_path / "s.json",
                   config_dir=tmp_path / "config",
                   ask_unsaved=lambda _action: UnsavedChoice.DISCARD)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.imports.cancel()
    w.imports.wait()


def _tone(path: Path, frames: int, channels: int, rate: int = 48000, **kw: str) -> Path:
    t = np.arange(frames) / rate
    data = np.stack([0.3 * np.sin(2 * np.pi * 330 * t)] * channels, axis=1)
    sf.write(path, data, rate, **kw)
    return path


def _menu_actions(window: MainWindow) -> list[str]:
    return [a.text() for a in window._menus["&File"].actions()]



def test_file_menu_offers_import_and_export(window: MainWindow) -> None:
    texts = _menu_actions(window)
    for entry in ("Import &Audio…", "Import &MIDI…", "&Export Mixdown…", "Export S&tems…"):
        assert entry in texts


def test_import_audio_files_become_regions(qtbot: QtBot, window: MainWindow,
                                           tmp_path: Path) -> None:
    imports = window.imports
    doc = window.projects.document
    wav = _tone(tmp_path / "Guitar.wav", 48000, 2)
    mp3 = _tone(tmp_path / "Vocal.mp3", 48000, 1, format="MP3")
    six = _tone(tmp_path / "Room.wav", 4800, 6)
    with qtbot.waitSignal(imports.busy_changed, timeout=WAIT_MS,
                          check_params_cb=lambda busy: not busy):
        assert imports.import_audio([wav, mp3, six], tick=PPQ * 4)
    names = [t.name for t in doc.tracks() if t.kind == "audio"]
    assert names == ["Guitar", "Vocal", "Room"]
    regions = [c for c in doc.clips() if isinstance(c, AudioRegion)]
    assert len(regions) == 3 and {r.start for r in regions} == {PPQ * 4}
    blobs = doc.blobs()
    assert {b.name: b.channels for b in blobs.values()} == {"Guitar.wav": 2, "Vocal.mp3": 1,
                                                            "Room.wav": 2}
    project = window.projects.project
    assert all(project.audio_path(sha) is not None for sha in blobs)
    # The six-channel file's note is shown.
    assert "6 channels" in window.notices.texts()["import"]
    assert project.dirty


def test_bad_audio_files_are_named_and_add_nothing(qtbot: QtBot, window: MainWindow,
                                                   tmp_path: Path) -> None:
    imports = window.imports
    doc = window.projects.document
    before = doc.state()
    good = _tone(tmp_path / "whole.flac", 48000, 2)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(good.read_bytes()[:3000])
    junk = tmp_path / "letter.wav"
    junk.write_text("Dear band, ...")
    with qtbot.waitSignal(imports.busy_changed, timeout=WAIT_MS,
                          check_params_cb=lambda busy: not busy):
        imports.import_audio([cut, junk])
    text = window.notices.texts()["import"]
    assert "cut.flac" in text and "letter.wav" in text
    assert doc.state() == before
    audio_dir = window.projects.project.audio_dir
    assert not audio_dir.exists() or list(audio_dir.iterdir()) == []


def test_import_midi_adds_tracks_and_clips(window: MainWindow, tmp_path: Path) -> None:
    src = Document.new("riff")
    t = src.add_track("midi", "Riff")
    c = src.add_midi_clip(t, 0, PPQ * 4)
    src.add_notes(c, [Note(48 + i, i * PPQ, PPQ) for i in range(4)])
    path = tmp_path / "riff.mid"
    path.write_bytes(export_midi(src)[0])
    before = len(window.tracks)
    report = window.imports.import_midi(path, tick=PPQ * 16)
    assert report is not None and report.notes == 4
    assert len(window.tracks) == before + 1  # the track list shows it
    [clip] = window.projects.document.clips(report.track_ids[0])
    assert clip.start == PPQ * 16
    window.projects.undo()
    assert len(window.tracks) == before


def test_bad_midi_file_is_a_notice(window: MainWindow, tmp_path: Path) -> None:
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    before = window.projects.document.state()
    assert window.imports.import_midi(bad) is None
    assert "broken.mid" in window.notices.texts()["import"]
    assert window.projects.document.state() == before
