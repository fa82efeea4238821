"""File analysis in a worker process: progress, result, errors, cancel; and its
result written into a chord track as one undo step."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from analysis_support import process_gone, render_clip, wait_for, write_wav

from models.chords.runtime import Analysis
from strumspace_desktop.analysis.chord_track import write_analysis
from strumspace_desktop.analysis.file_job import FileAnalysisJob, JobState
from strumspace_desktop.core.document.model import ChordItem, Document

pytestmark = pytest.mark.slow
RATE = 22050


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    audio, _ = render_clip(RATE, "pop/axis", tonic=2)
    return write_wav(tmp_path_factory.mktemp("job") / "song.wav", audio, RATE)


def test_progress_rises_to_one_and_the_result_comes_back(clip: Path) -> None:
    seen: list[float] = []
    job = FileAnalysisJob(clip, chunk_seconds=2.0, on_progress=seen.append)
    job.start()
    pid = job.pid
    assert pid is not None and pid != os.getpid()

    def ended() -> bool:
        job.poll()
        return job.finished

    wait_for(ended, timeout=180, what="the analysis")
    assert job.state is JobState.DONE, job.error
    assert seen == sorted(seen) and job.progress == 1.0
    assert len([p for p in seen if 0 < p < 1]) >= 2  # progress on the way, not only at the end
    assert isinstance(job.result, Analysis) and job.result.segments
    assert job.result.source == "song.wav"
    wait_for(lambda: process_gone(pid), what="the worker exiting")


def test_a_corrupt_file_fails_with_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"fLaC" + bytes(range(256)) * 4)
    job = FileAnalysisJob(bad)
    job.start()
    assert job.wait(180) is JobState.FAILED
    assert "broken.flac" in job.error and "Traceback" not in job.error
    assert job.result is None


def test_cancel_ends_the_worker_at_once_and_keeps_nothing(clip: Path, tmp_path: Path) -> None:
    import soundfile as sf

    audio, rate = sf.read(str(clip), dtype="float32")
    long = write_wav(tmp_path / "long.wav", np.tile(audio, (30, 1)), rate)  # 5 minutes
    job = FileAnalysisJob(long, chunk_seconds=2.0)
    job.start()
    pid = job.pid
    assert pid is not None
    wait_for(lambda: job.poll() is JobState.RUNNING and job.progress > 0, timeout=180,
             what="the analysis under way")
    job.cancel()
    assert job.state is JobState.CANCELLED and job.result is None
    assert process_gone(pid)  # cancel returns once the worker has gone
    assert job.poll() is JobState.CANCELLED and job.result is None
    assert job.progress < 1.0


def test_the_result_goes_into_the_chord_track_as_one_undo_step(clip: Path) -> None:
    job = FileAnalysisJob(clip)
    job.start()
    assert job.wait(180) is JobState.DONE, job.error
    analysis: Analysis = job.result
    doc = Document.new(bpm=90)
    tid = doc.add_track("chord", "Chords")
    # An earlier analysis's item inside the range: replaced whatever this model finds.
    earlier = doc.add_chord(tid, ChordItem(960, 1920, "E:min", 4, 0.5, "recognized"))
    before = doc.chords(tid)
    steps = doc.undo_depth
    done = write_analysis(doc, tid, analysis)
    items = list(doc.chords(tid).values())
    assert earlier not in doc.chords(tid) and done.removed == 1
    chords = [s for s in analysis.segments if s.label != "N"]
    assert len(items) == len(done.added) == len(chords)  # one item per chord segment
    ticks_per_second = 960 * 90 / 60
    for item, seg in zip(items, chords, strict=True):
        assert item.label == seg.label and item.source == "recognized"
        assert item.bass == seg.bass and item.confidence == pytest.approx(seg.confidence)
        assert item.start == round(seg.start * ticks_per_second)
    assert done.key == analysis.key and done.tempo == analysis.tempo
    assert doc.undo_depth == steps + 1
    doc.undo()
    assert doc.chords(tid) == before
