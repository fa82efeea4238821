"""The chord benchmark's scoring, label conversion, live-latency bookkeeping and the
chroma-template baseline (on a rendered clip). No timing assertions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chords_bench_support import RATE, rendered_clip, write_clip

from benchmarks.chords_ours import live_changes, same_chord
from benchmarks.chords_scoring import LabError, SetScore, read_lab, score_clip, score_set
from benchmarks.chords_sets import quick_indices
from benchmarks.chords_templates import TemplateRecognizer
from benchmarks.peers.recognizers import changes_to_segments, jazz_to_harte

ROOT = Path(__file__).resolve().parents[2]
REF = [(0.0, 2.0, "C:maj"), (2.0, 4.0, "A:min"), (4.0, 6.0, "G:7")]


def _majmin(ref: list[tuple[float, float, str]], est: list[tuple[float, float, str]]) -> float:
    value = score_set([(ref, est)])["majmin"]
    assert value is not None
    return float(value)


def test_perfect_estimate_scores_one() -> None:
    summary = score_set([(REF, REF)])
    for name in ("root", "majmin", "sevenths", "tetrads", "seg", "overseg", "underseg"):
        assert summary[name] == 1.0


def test_known_errors_score_their_share_of_the_time() -> None:
    est = [(0.0, 2.0, "C:maj"), (2.0, 4.0, "C:maj"), (4.0, 6.0, "G:maj")]
    score = score_clip(REF, est)
    summary = SetScore([score]).summary()
    assert summary["root"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["majmin"] == pytest.approx(2 / 3, abs=1e-4)  # G:7 reduces to G:maj
    assert summary["sevenths"] == pytest.approx(1 / 3, abs=1e-4)


def test_estimate_is_trimmed_and_padded_to_the_reference() -> None:
    late = [(1.0, 9.0, "C:maj")]  # starts late (N before), runs past the end
    summary = score_set([(REF, late)])
    assert summary["root"] == pytest.approx(1 / 6, abs=1e-4)
    assert score_set([(REF, [])])["root"] == 0.0  # nothing: all N


def test_set_score_weighs_clips_by_duration() -> None:
    short = [(0.0, 1.0, "C:maj")]
    long = [(0.0, 3.0, "C:maj")]
    scores = [score_clip(short, short), score_clip(long, [(0.0, 3.0, "D:maj")])]
    summary = SetScore(scores).summary()
    assert summary["majmin"] == pytest.approx(0.25, abs=1e-4)
    assert summary["clips"] == 2


def test_out_of_vocabulary_reference_is_left_out_of_the_weight() -> None:
    ref = [(0.0, 1.0, "C:sus4"), (1.0, 2.0, "C:maj")]
    summary = score_set([(ref, [(0.0, 2.0, "C:maj")])])
    assert summary["majmin"] == 1.0  # sus4 is outside majmin: not counted
    assert summary["root"] == 1.0


def test_bad_labels_and_lab_lines_are_named(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="estimate"):
        score_clip(REF, [(0.0, 6.0, "H:maj")])
    bad = tmp_path / "bad.lab"
    bad.write_text("0.0\t1.0\tC:maj\n1.0 oops\n")
    with pytest.raises(LabError, match=r"bad\.lab:2"):
        read_lab(bad)


@pytest.mark.parametrize(("jazz", "harte"), [
    ("C", "C:maj"), ("F#m7", "F#:min7"), ("Bb7/D", "Bb:7/3"), ("Am/C", "A:min/b3"),
    ("Ebm7b5", "Eb:hdim7"), ("Gdim7", "G:dim7"), ("N", "N"), ("C13", "X"), ("", "N")])
def test_jazz_names_become_harte(jazz: str, harte: str) -> None:
    assert jazz_to_harte(jazz) == harte


def test_changes_become_segments_ending_at_the_clip_end() -> None:
    segs = changes_to_segments([(0.0, "N"), (0.5, "C:maj"), (0.5, "G:maj"), (2.0, "A:min")], 3.0)
    assert segs == [(0.0, 0.5, "N"), (0.5, 2.0, "G:maj"), (2.0, 3.0, "A:min")]


def test_quick_subset_spreads_over_the_set_and_alternates_clean_and_augmented() -> None:
    for n in (37, 60):
        idx = quick_indices(n)
        assert len(idx) == 8 == len(set(idx))
        assert all(0 <= i < n for i in idx)
        assert [i % 2 for i in idx] == [0, 1] * 4
        assert idx[-1] >= n * 3 // 4


def test_same_chord_uses_the_finest_defined_comparison() -> None:
    assert same_chord("C:7", "C:7")
    assert not same_chord("C:7", "C:maj")  # sevenths defined for C:7
    assert same_chord("C:sus4", "C:maj")  # no sevenths/majmin for sus4: root only
    assert same_chord("C:maj/3", "C:maj")


def test_live_latency_counts_each_change_once() -> None:
    ref = [(0.0, 1.0, "N"), (1.0, 3.0, "C:maj"), (3.0, 5.0, "C:maj7"), (5.0, 7.0, "A:min"),
           (7.0, 9.0, "F:maj")]
    # (input time the label went up, clock time it was returned, label)
    shown = [(0.0, 0.0, "N"), (1.1, 1.102, "G:maj"), (1.2, 1.203, "C:maj"),
             (3.15, 3.16, "C:maj7"), (4.9, 4.91, "A:min")]
    changes = {c["label"]: c["latency_ms"] for c in live_changes(ref, shown)}
    assert changes["C:maj"] == pytest.approx(203.0)  # the wrong G first does not count
    assert changes["C:maj7"] == pytest.approx(160.0)
    assert "A:min" not in changes  # already shown before the change: not a measurement
    assert changes["F:maj"] is None  # never shown: missed


def test_templates_baseline_recognizes_a_rendered_progression() -> None:
    audio, ref = rendered_clip()
    est = TemplateRecognizer()(audio, RATE)
    assert est[0][0] == 0.0 and est[-1][1] == pytest.approx(len(audio) / RATE)
    assert all(a < b for a, b, _ in est)
    assert _majmin(ref, est) > 0.7
    # any rate, stereo, and too short for a frame
    est44 = TemplateRecognizer()(audio.repeat(2).reshape(-1, 1).repeat(2, axis=1), 2 * RATE)
    assert _majmin(ref, est44) > 0.7
    assert TemplateRecognizer()(audio[:100], RATE) == [(0.0, 100 / RATE, "N")]


def test_ours_runner_writes_labels_and_cpu_time(tmp_path: Path) -> None:
    flac, lab = write_clip(tmp_path)
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"id": "clip", "audio": str(flac), "lab": str(lab)},
                                {"id": "gone", "audio": str(tmp_path / "no.flac"),
                                 "lab": str(lab)}]))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.chords_ours", "templates",
                           str(jobs), str(tmp_path / "out")], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=240)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["clips"]["clip"]["cpu_s"] > 0
    assert "error" in report["clips"]["gone"]  # a missing file is reported, not fatal
    est = read_lab(tmp_path / "out" / "clip.lab")
    assert _majmin(read_lab(lab), est) > 0.7


@pytest.mark.parametrize("name", ["strumspace", "strumspace_live"])
def test_our_model_runners_cover_the_clip_with_valid_labels(tmp_path: Path, name: str) -> None:
    """Any committed model (the smoke export too): labels, CPU time, live changes."""
    flac, lab = write_clip(tmp_path)
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"id": "clip", "audio": str(flac), "lab": str(lab)}]))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.chords_ours", name, str(jobs),
                           str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=240)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    info = report["clips"]["clip"]
    assert "error" not in info, info
    assert info["cpu_s"] > 0 and report["version"]
    est = read_lab(tmp_path / "out" / "clip.lab")
    duration = len(rendered_clip()[0]) / RATE
    assert est[0][0] == 0.0 and est[-1][1] == pytest.approx(duration, abs=0.05)
    score_set([(read_lab(lab), est)])  # every label is one mir_eval accepts
    if name == "strumspace_live":
        assert len(info["changes"]) >= 3  # the progression's changes, found or missed
