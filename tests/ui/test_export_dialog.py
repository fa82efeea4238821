"""File > Export Mixdown… / Export Stems…: the options the dialog hands the offline
renderer, problems said before starting, and a render run on a worker thread with
progress and Cancel (end to end once audio.offline_render is there)."""

from __future__ import annotations

import errno
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pytestqt.qtbot import QtBot

from strumspace_desktop.core.audio_import import import_audio_file
from strumspace_desktop.core.document import Note
from strumspace_desktop.core.document.project_files import Project, new_project
from strumspace_desktop.core.timing import PPQ
from strumspace_desktop.ui.export_dialog import ExportDialog, describe_os_error

HAS_RENDERER = importlib.util.find_spec("strumspace_desktop.audio.offline_render") is not None
WAIT_MS = 120_000


def _song(tmp_path: Path) -> Project:
    project = new_project(tmp_path / "audio", "Demo")
    doc = project.document
    doc.set_tempo(0, 120.0)
    t = doc.add_track("midi", "Keys")
    c = doc.add_midi_clip(t, 0, PPQ * 4)
    doc.add_notes(c, [Note(60, 0, PPQ * 2), Note(64, PPQ * 2, PPQ * 2)])
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(24000) / 48000)
    sf.write(tmp_path / "tone.wav", np.stack([tone, tone], axis=1), 48000)
    import_audio_file(project, tmp_path / "tone.wav", tick=PPQ * 4)
    return project


def _dialog(qtbot: QtBot, project: Project, stems: bool = False) -> ExportDialog:
    d = ExportDialog(project, stems=stems)
    qtbot.addWidget(d)
    d.show()
    return d


def test_options_map_to_render_options(qtbot: QtBot, tmp_path: Path) -> None:
    project = _song(tmp_path)
    d = _dialog(qtbot, project)
    d.target_edit.setText(str(tmp_path / "mix.wav"))
    c = d.choice()
    assert (c.stems, c.target, c.sample_rate, c.format, c.subtype) == (
        False, tmp_path / "mix.wav", 48000, "wav", "PCM_24")
    assert (c.start_tick, c.end_tick) == (None, None)
    assert not d.loop_button.isEnabled()  # the song has no loop range yet
    d.rate_box.setCurrentIndex(d.rate_box.findData(96000))
    d.depth_box.setCurrentIndex(d.depth_box.findData("FLOAT"))
    assert (d.choice().sample_rate, d.choice().subtype) == (96000, "FLOAT")
    # FLAC holds integers: 32-bit float is not offered, and the file name follows.
    d.format_box.setCurrentIndex(d.format_box.findData("flac"))
    c = d.choice()
    assert (c.format, c.subtype, c.target) == ("flac", "PCM_24", tmp_path / "mix.flac")
    float_row = d.depth_box.findData("FLOAT")
    assert not d.depth_box.model().item(float_row).isEnabled()  # type: ignore[attr-defined]


def test_loop_range_and_stems_folder(qtbot: QtBot, tmp_path: Path) -> None:
    project = _song(tmp_path)
    project.document.set_loop(PPQ * 4, PPQ * 12, True)
    d = _dialog(qtbot, project, stems=True)
    assert d.loop_button.isEnabled()
    d.loop_button.setChecked(True)
    d.target_edit.setText(str(tmp_path / "stems"))
    c = d.choice()
    assert (c.stems, c.target, c.start_tick, c.end_tick) == (True, tmp_path / "stems",
                                                             PPQ * 4, PPQ * 12)
    assert d.problem(c) is None


def test_problems_are_said_before_starting(qtbot: QtBot, tmp_path: Path) -> None:
    project = _song(tmp_path)
    d = _dialog(qtbot, project)
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    d.target_edit.setText(str(a_file / "mix.wav"))
    assert not d.start()
    assert "does not exist" in d.message.text() and d.job is None
    d.target_edit.setText(str(tmp_path))
    assert not d.start()
    assert "is a folder" in d.message.text()
    d.target_edit.setText("")
    assert not d.start()
    assert "Choose a file name" in d.message.text()


def test_os_errors_in_words(tmp_path: Path) -> None:
    target = tmp_path / "mix.wav"
    full = describe_os_error(OSError(errno.ENOSPC, "No space left on device"), target)
    assert "disk is full" in full and str(target) in full
    locked = describe_os_error(OSError(errno.EACCES, "Permission denied"), target)
    assert "cannot be written" in locked and str(tmp_path) in locked


@pytest.mark.skipif(not HAS_RENDERER, reason="audio.offline_render is not in this tree yet")
def test_mixdown_end_to_end(qtbot: QtBot, tmp_path: Path) -> None:
    project = _song(tmp_path)
    d = _dialog(qtbot, project)
    d.target_edit.setText(str(tmp_path / "out" / "mix.wav"))
    (tmp_path / "out").mkdir()
    d.rate_box.setCurrentIndex(d.rate_box.findData(44100))
    d.depth_box.setCurrentIndex(d.depth_box.findData("PCM_16"))
    seen: list[int] = []
    d.progress_bar.valueChanged.connect(seen.append)
    with qtbot.waitSignal(d.export_finished, timeout=WAIT_MS) as blocker:
        assert d.start()
    assert blocker.args == [[tmp_path / "out" / "mix.wav"]], d.message.text()
    d.wait()
    info = sf.info(str(tmp_path / "out" / "mix.wav"))
    assert (info.samplerate, info.subtype, info.channels) == (44100, "PCM_16", 2)
    # Two bars at 120 bpm (4 s) plus the 2 s tail, at least.
    assert info.frames >= 44100 * 4
    data, _ = sf.read(str(tmp_path / "out" / "mix.wav"))
    assert np.abs(data).max() > 0.01
    assert seen and seen[-1] == 1000
    assert "Exported to" in d.message.text()


@pytest.mark.skipif(not HAS_RENDERER, reason="audio.offline_render is not in this tree yet")
def test_stems_end_to_end_and_cancel(qtbot: QtBot, tmp_path: Path) -> None:
    project = _song(tmp_path)
    d = _dialog(qtbot, project, stems=True)
    d.target_edit.setText(str(tmp_path / "stems"))
    d.format_box.setCurrentIndex(d.format_box.findData("flac"))
    with qtbot.waitSignal(d.export_finished, timeout=WAIT_MS) as blocker:
        assert d.start()
    paths = blocker.args[0]
    d.wait()
    # The job's `finished` signal is queued: the dialog takes a new export once it ran.
    qtbot.waitUntil(lambda: d.job is None, timeout=WAIT_MS)
    # One stem per track, plus the synth's shared reverb/chorus return, so that the
    # stems add up to the mix.
    assert all(p.suffix == ".flac" and p.is_file() for p in paths)
    assert sorted(p.name for p in paths)[-1].endswith("Synth reverb and chorus.flac")
    assert len(paths) == 3
    # Cancelled at once: the dialog says so and stays usable.
    with qtbot.waitSignal(d.export_finished, timeout=WAIT_MS):
        assert d.start()
        d.cancel_or_close()
    d.wait()
    qtbot.waitUntil(lambda: d.job is None, timeout=WAIT_MS)
    assert d.export_button.isEnabled()
    assert d.message.text() in ("Export cancelled.",) or d.message.text().startswith(
        "Exported")
