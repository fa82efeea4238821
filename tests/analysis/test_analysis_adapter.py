"""The Qt side: EngineAdapter turns the live service's and a file job's reports into
signals; it follows the engine's stream (opened, lost, recovered) for the service."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from analysis_support import JackPlayer, render_clip, write_wav
from pytestqt.qtbot import QtBot

from models.chords.runtime import Analysis
from strumspace_desktop.analysis.file_job import FileAnalysisJob
from strumspace_desktop.analysis.live import LiveChordService
from strumspace_desktop.analysis.live_events import LiveChord, LiveState, LiveStatus
from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.ui.adapter import EngineAdapter

pytestmark = pytest.mark.slow
WAIT_MS = 120_000  # model loading in a fresh process on a slow, shared machine


def test_file_analysis_signals(qtbot: QtBot, tmp_path: Path) -> None:
    audio, _ = render_clip(22050, repeats=1)
    song = write_wav(tmp_path / "song.wav", audio, 22050)
    adapter = EngineAdapter(None)  # no engine needed for files
    progress: list[float] = []
    adapter.analysis_progress.connect(progress.append)
    job = FileAnalysisJob(song, chunk_seconds=2.0)
    job.start()
    with qtbot.waitSignal(adapter.analysis_finished, timeout=WAIT_MS) as got:
        adapter.watch_analysis(job)
    assert isinstance(got.args[0], Analysis)
    assert progress and progress[-1] == 1.0 and progress == sorted(progress)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    job = FileAnalysisJob(bad)
    job.start()
    with qtbot.waitSignal(adapter.analysis_failed, timeout=WAIT_MS) as failed:
        adapter.watch_analysis(job)
    assert "bad.wav" in failed.args[0]


@pytest.mark.jack
def test_live_chord_signals_follow_the_engine_through_a_restart(
        qtbot: QtBot, engine: EngineClient) -> None:
    info = engine.request("info")["stream"]
    audio, _ = render_clip(int(info["sample_rate"]), repeats=2)
    player = JackPlayer(audio)
    player.connect_to_engine()
    adapter = EngineAdapter(engine)
    service = LiveChordService()
    states: list[LiveStatus] = []
    adapter.live_chord_status.connect(states.append)
    try:
        with qtbot.waitSignal(adapter.live_chord, timeout=WAIT_MS) as got:
            adapter.attach_live_chords(service)  # the stream is open: it listens now
        assert isinstance(got.args[0], LiveChord)
        assert service.ring_name == info["input_ring"]
        pid = engine.pid
        assert pid is not None
        with qtbot.waitSignal(adapter.stream_recovered, timeout=WAIT_MS):
            os.kill(pid, signal.SIGKILL)
        assert any(s.state is LiveState.NO_INPUT for s in states)
        # The restarted engine has a new ring; the service moved to it.
        new_ring = engine.request("info")["stream"]["input_ring"]
        assert new_ring != info["input_ring"] and service.ring_name == new_ring
        player.connect_to_engine()
        qtbot.waitUntil(lambda: service.status.state is LiveState.LISTENING, timeout=WAIT_MS)
        with qtbot.waitSignal(adapter.live_chord, timeout=WAIT_MS):
            pass
    finally:
        adapter.shutdown()  # stops the service, then the engine
        player.close()
    assert not service.running and service.status.state is LiveState.OFF
