"""`strumspace analyze` end to end on FluidSynth renders: every format to standard
output and to files, several files into a folder, a corrupt file reported with a
non-zero exit code while the others are still done, progress only on a terminal."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import mir_eval.chord as mc
import pytest
from analysis_support import real_model, render_clip, time_weighted_root_accuracy, write_wav

from models.chords.formats import read_lab
from models.chords.runtime import Analysis
from strumspace_desktop.cli import main

pytestmark = pytest.mark.slow
RATE = 22050


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    a, _ = render_clip(RATE, "pop/axis", tonic=0)
    b, _ = render_clip(RATE, "pop/axis", tonic=7, program=24)  # nylon guitar, in G
    corrupt = folder / "broken.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + os.urandom(300))
    return {"a": write_wav(folder / "song.wav", a, RATE),
            "b": write_wav(folder / "other.wav", b, RATE), "corrupt": corrupt,
            "text": _text(folder / "notes.flac")}


def _text(path: Path) -> Path:
    path.write_text("not audio at all\n")
    return path


def _duration(path: Path) -> float:
    import soundfile as sf

    return float(sf.info(str(path)).duration)


def _check_lab(text: str, duration: float) -> list[tuple[float, float, str]]:
    rows = read_lab(text)
    assert rows and rows[0][0] == pytest.approx(0.0, abs=1e-6)
    assert rows[-1][1] == pytest.approx(duration, abs=1e-3)
    for (_, b, _), (a, _, _) in itertools.pairwise(rows):
        assert b == pytest.approx(a, abs=1e-6)
    mc.validate([r[2] for r in rows], [r[2] for r in rows])  # Harte, as mir_eval reads it
    return rows


def _check_json(text: str, path: Path) -> Analysis:
    analysis = Analysis.from_json(text)  # validated against the versioned schema
    assert analysis.duration == pytest.approx(_duration(path), abs=1e-3)
    assert analysis.source == path.name and analysis.model_version
    assert {"key", "tempo", "beats", "segments"} <= set(json.loads(text))
    return analysis


def test_each_format_to_standard_output(clips: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    song = clips["a"]
    assert main(["analyze", str(song), "--format", "lab"]) == 0
    out, err = capsys.readouterr()
    rows = _check_lab(out, _duration(song))
    assert err == ""  # not a terminal: no progress
    assert main(["analyze", str(song), "--format", "json"]) == 0
    analysis = _check_json(capsys.readouterr().out, song)
    assert [s.label for s in analysis.segments] == [r[2] for r in rows]  # the same result
    assert [s.start for s in analysis.segments] == pytest.approx([r[0] for r in rows], abs=1e-5)
    assert main(["analyze", str(song), "--format", "chart"]) == 0
    chart = capsys.readouterr().out
    bars = [line for line in chart.splitlines() if line.startswith("|")]
    assert bars and all(line.endswith("|") for line in bars)
    assert main(["analyze", str(song), "--format", "lab", "--beat-sync"]) == 0
    _check_lab(capsys.readouterr().out, _duration(song))
    # A chart in another notation, with the shapes under a capo.
    assert main(["analyze", str(song), "--format", "chart", "--notation", "jazz",
                 "--capo", "2"]) == 0
    shapes = capsys.readouterr().out
    assert "Capo: 2" in shapes.splitlines()[0] and shapes != chart
    assert main(["analyze", str(song), "--format", "chart", "--capo", "auto"]) == 0
    assert capsys.readouterr().out.count("|") == chart.count("|")
    assert main(["analyze", str(song), "--capo", "2"]) == 2  # a .lab has no capo
    assert "chord charts" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["analyze", str(song), "--format", "chart", "--capo", "12"])
    assert "0 to 11" in capsys.readouterr().err


def test_one_file_to_a_named_output_takes_the_format_from_its_extension(
        clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "song.json"
    assert main(["analyze", str(clips["a"]), "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    _check_json(out.read_text(), clips["a"])
    lab = tmp_path / "explicit.txt"
    assert main(["analyze", str(clips["a"]), "-o", str(lab), "--format", "lab"]) == 0
    _check_lab(lab.read_text(), _duration(clips["a"]))
    # An existing folder as OUT: the result goes in, named after the input.
    assert main(["analyze", str(clips["a"]), "-o", str(tmp_path), "--format", "chart"]) == 0
    assert "|" in (tmp_path / "song.txt").read_text()
    # Written files get the usual permissions, not a temporary file's private 0600.
    umask = os.umask(0o022)
    os.umask(umask)
    for written in (out, lab, tmp_path / "song.txt"):
        assert written.stat().st_mode & 0o777 == 0o644 & ~umask, written
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_several_files_into_a_folder_with_a_corrupt_one_reported(
        clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "results"
    files = [clips["a"], clips["corrupt"], clips["b"], clips["text"]]
    code = main(["analyze", *map(str, files), "--format", "lab", "-o", str(folder)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert sorted(p.name for p in folder.iterdir()) == ["other.lab", "song.lab"]
    _check_lab((folder / "song.lab").read_text(), _duration(clips["a"]))
    _check_lab((folder / "other.lab").read_text(), _duration(clips["b"]))
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert "broken.wav" in lines[0] and "notes.flac" in lines[1]
    assert "Traceback" not in err
    # The chart of several files: one .txt each.
    code = main(["analyze", str(clips["a"]), str(clips["b"]), "--format", "chart", "-o",
                 str(folder)])
    assert code == 0
    assert {"song.txt", "other.txt"} <= {p.name for p in folder.iterdir()}


def test_a_corrupt_file_alone_fails_clearly(clips: dict[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "never.lab"
    assert main(["analyze", str(clips["corrupt"]), "-o", str(out)]) == 1
    _, err = capsys.readouterr()
    assert err.startswith("strumspace analyze: ") and "broken.wav" in err
    assert not out.exists()
    assert main(["analyze", str(tmp_path / "missing.wav")]) == 1
    assert "missing.wav" in capsys.readouterr().err
    assert main(["analyze", str(clips["a"]), str(clips["b"])]) == 2  # several, no -o
    assert "-o" in capsys.readouterr().err


def test_the_installed_command_prints_a_lab_and_shows_progress_only_on_a_terminal(
        clips: dict[str, Path]) -> None:
    exe = Path(sys.executable).with_name("strumspace")
    cmd = [str(exe), "analyze", str(clips["a"]), "--format", "lab"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    _check_lab(done.stdout, _duration(clips["a"]))
    assert done.stderr == ""
    # Standard error on a terminal: a progress line, and the .lab still alone on stdout.
    primary, secondary = os.openpty()
    try:
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=secondary, text=True,
                              timeout=300)
        os.close(secondary)
        seen = b""
        try:
            while chunk := os.read(primary, 4096):
                seen += chunk
        except OSError:  # the terminal closed
            pass
    finally:
        os.close(primary)
    assert done.returncode == 0
    _check_lab(done.stdout, _duration(clips["a"]))
    assert b"song.wav: 100 %" in seen


@pytest.mark.skipif(not real_model(), reason="the committed chord model is the smoke export")
def test_the_trained_model_finds_the_roots_of_a_plain_progression(
        clips: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, segments = render_clip(RATE, "pop/axis", tonic=0)
    assert main(["analyze", str(clips["a"]), "--format", "lab"]) == 0
    rows = read_lab(capsys.readouterr().out)
    assert time_weighted_root_accuracy(segments, rows) >= 0.8
