"""`strumspace generate` end to end with the committed model: real MIDI files that
mido and pretty_midi read, next-chord JSON, and clear refusals of bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mido
import pretty_midi
import pytest
import torch
from generate_support import damaged_model_dir, write_tune

from strumspace_desktop.cli import main

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[2]


def generate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["generate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _midi_notes(path: Path) -> tuple[mido.MidiFile, pretty_midi.PrettyMIDI]:
    return mido.MidiFile(str(path)), pretty_midi.PrettyMIDI(str(path))


def test_continue_writes_variations_that_mido_and_pretty_midi_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tune = write_tune(tmp_path / "tune.mid", bpm=100.0)
    out = tmp_path / "more.mid"
    code, stdout, err = generate(capsys, "--task", "continue", "--input", str(tune),
                                 "--bars", "4", "--variations", "2", "--seed", "3",
                                 "--temperature", "0.9", "-o", str(out))
    assert code == 0, err
    assert stdout == ""  # scripts get nothing but what they ask for
    for path in (out, tmp_path / "more-2.mid"):
        mid, pm = _midi_notes(path)
        notes = [n for inst in pm.instruments for n in inst.notes]
        assert notes, f"{path} has no notes"
        assert pm.get_tempo_changes()[1][0] == pytest.approx(100.0, abs=0.01)  # the input's
        # At most the 4 bars asked for (4/4 at 100 BPM: 2.4 s a bar).
        assert max(n.end for n in notes) <= 4 * 2.4 + 1e-3
        assert all(0 <= n.pitch <= 127 and n.end > n.start for n in notes)
        assert mid.type == 1
    assert "wrote" in err


def test_melody_over_chords_keeps_the_chords(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "melody.mid"
    code, _, err = generate(capsys, "--task", "melody", "--chords", "C G Am F", "--key", "C",
                            "--seed", "1", "--density", "1.5", "--keep-in-key", "-o", str(out))
    assert code == 0, err
    mid, pm = _midi_notes(out)
    markers = [m.text for t in mid.tracks for m in t if m.type == "marker"]
    assert markers == ["C", "G", "Am", "F"]
    melody = [i for i in pm.instruments if i.name == "Melody"]
    assert melody and melody[0].notes
    # keep-in-key: every melody note in C major
    assert {n.pitch % 12 for n in melody[0].notes} <= {0, 2, 4, 5, 7, 9, 11}


def test_harmonize_adds_chords_to_the_melody(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    tune = write_tune(tmp_path / "tune.mid")
    out_dir = tmp_path / "results"
    out_dir.mkdir()
    code, _, err = generate(capsys, "--task", "harmonize", "--input", str(tune), "--seed", "2",
                            "-o", str(out_dir))
    assert code == 0, err
    path = out_dir / "harmonize-1.mid"
    mid, pm = _midi_notes(path)
    markers = [m.text for t in mid.tracks for m in t if m.type == "marker"]
    assert markers, "no chords were written"
    melody = next(i for i in pm.instruments if i.name == "Melody")
    # The melody is the input's top line, kept as it was.
    assert [n.pitch for n in melody.notes][:3] == [67, 62, 64]


def test_chords_in_three_four(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "prog.mid"
    code, _, err = generate(capsys, "--task", "chords", "--key", "D minor", "--meter", "3/4",
                            "--bars", "4", "--seed", "5", "--tempo", "90", "-o", str(out))
    assert code == 0, err
    mid, pm = _midi_notes(out)
    sigs = [(m.numerator, m.denominator) for t in mid.tracks for m in t
            if m.type == "time_signature"]
    assert sigs and set(sigs) == {(3, 4)}
    markers = [m for t in mid.tracks for m in t if m.type == "marker"]
    assert markers
    chord_track = next(i for i in pm.instruments if i.name == "Chords")
    assert chord_track.notes
    # + 1e-3: MIDI stores the tempo in whole microseconds
    assert max(n.end for n in chord_track.notes) <= 4 * 3 * (60 / 90) + 1e-3


def test_a_one_note_prompt_still_gives_a_continuation_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tune = write_tune(tmp_path / "one.mid", [(0, 1, 61)])
    out = tmp_path / "one-more.mid"
    code, stdout, err = generate(capsys, "--task", "continue", "--input", str(tune), "--bars",
                                 "2", "--seed", "0", "-o", str(out))
    assert code == 0, err
    assert stdout == "" and "single note" in err
    assert "C major assumed" in err or "key" in err  # one pitch class: no key to detect
    assert pretty_midi.PrettyMIDI(str(out)).instruments


def test_next_chord_prints_json_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = generate(capsys, "--task", "next-chord", "--chords", "C G Am", "--key", "C")
    assert code == 0, err
    suggestions = json.loads(out)
    assert len(suggestions) == 5
    assert all(set(s) == {"label", "probability"} for s in suggestions)
    probs = [s["probability"] for s in suggestions]
    assert all(0.0 <= p <= 1.0 for p in probs) and sum(probs) <= 1.0 + 1e-6
    assert probs == sorted(probs, reverse=True)
    target = tmp_path / "next.json"
    code, out, _ = generate(capsys, "--task", "next-chord", "--chords", "Dm G", "--variations",
                            "3", "-o", str(target), "--quiet")
    assert code == 0 and out == ""
    assert len(json.loads(target.read_text())) == 3


@pytest.mark.parametrize(("args", "needle"), [
    (["--task", "continue", "--input", "MISSING.mid", "-o", "o.mid"], "no such file"),
    (["--task", "continue", "--input", "CORRUPT.mid", "-o", "o.mid"], "not a readable MIDI"),
    (["--task", "continue", "--input", "EMPTY.mid", "-o", "o.mid"], "no notes"),
    (["--task", "continue", "-o", "o.mid"], "needs --input"),
    (["--task", "melody", "-o", "o.mid"], "needs chords"),
    (["--task", "chords", "--bars", "1000", "-o", "o.mid"], "--bars"),
    (["--task", "chords", "--bars", "0", "-o", "o.mid"], "--bars"),
    (["--task", "chords", "--temperature", "50", "-o", "o.mid"], "--temperature"),
    (["--task", "chords", "--temperature", "nan", "-o", "o.mid"], "--temperature"),
    (["--task", "chords", "--top-p", "0", "-o", "o.mid"], "--top-p"),
    (["--task", "chords", "--variations", "100", "-o", "o.mid"], "--variations"),
    (["--task", "chords", "--density", "-1", "-o", "o.mid"], "--density"),
    (["--task", "melody", "--chords", "C Hmaj Xq", "-o", "o.mid"], "--chords"),
    (["--task", "chords", "--key", "Q minor", "-o", "o.mid"], "--key"),
    (["--task", "chords", "--meter", "7/3", "-o", "o.mid"], "--meter"),
    (["--task", "chords", "--meter", "abc", "-o", "o.mid"], "--meter"),
    (["--task", "chords"], "-o"),
    (["--task", "chords", "-o", "o.txt"], ".mid"),
    (["--task", "chords", "-o", "EXISTS.mid"], "exists"),
])
def test_bad_input_is_refused_with_exit_2(args: list[str], needle: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "CORRUPT.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage" + os.urandom(64))
    write_tune(tmp_path / "EMPTY.mid", [])
    (tmp_path / "EXISTS.mid").write_bytes(b"keep me")
    args = [str(tmp_path / a) if a.isupper() or a.endswith((".mid", ".txt")) else a
            for a in args]
    code, out, err = generate(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("strumspace generate:") and needle in err
    assert (tmp_path / "EXISTS.mid").read_bytes() == b"keep me"
    assert not (tmp_path / "o.mid").exists()


def test_damaged_model_file_exits_1_with_a_message(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    model = damaged_model_dir(tmp_path)
    code, out, err = generate(capsys, "--task", "chords", "--device", "cpu", "--model-dir",
                              str(model), "-o", str(tmp_path / "o.mid"))
    assert code == 1 and out == ""
    assert "gen.onnx" in err and ("damaged" in err or "cannot be loaded" in err)
    assert not (tmp_path / "o.mid").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = generate(capsys, "--task", "chords", "--model-dir", str(empty),
                              "-o", str(tmp_path / "o.mid"))
    assert code == 1 and out == "" and "does not exist" in err


def test_the_installed_command_line_keeps_stdout_clean(tmp_path: Path) -> None:
    """As a script runs it: a fresh interpreter, JSON alone on stdout, exit codes."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-m", "strumspace_desktop", "generate", "--task", "next-chord",
         "--chords", "C F", "--variations", "2"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2
    bad = subprocess.run(
        [sys.executable, "-m", "strumspace_desktop", "generate", "--task", "continue",
         "--input", str(tmp_path / "none.mid"), "-o", str(tmp_path / "x.mid")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=240)
    assert bad.returncode == 2 and bad.stdout == "" and "none.mid" in bad.stderr
