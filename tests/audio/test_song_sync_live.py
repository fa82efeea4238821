"""SongSync with the real engine: polling never waits for the engine (it may take
seconds to decode long audio files), replies are picked up by later polls, and a
request whose engine dies on the way is covered by the client's restart."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from song_support import PPQ
from test_engine_live import wait_for

from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.audio.song_sync import SongSync
from strumspace_desktop.core.document.model import BlobInfo
from strumspace_desktop.core.document.project_files import Project, new_project

pytestmark = pytest.mark.jack

GOOD = "b" * 64
BROKEN = "c" * 64


def _project(folder: Path, seconds: float = 30.0) -> tuple[Project, str]:
    """An audio track playing a long tone from beat 0, and a region of a damaged file."""
    project = new_project(folder / "audio")
    project.audio_dir.mkdir(parents=True)
    rate = 44100
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    sf.write(project.audio_dir / f"{GOOD}.wav", np.stack([tone, tone], 1), rate,
             subtype="FLOAT")
    (project.audio_dir / f"{BROKEN}.wav").write_bytes(b"RIFF\x00\x00not audio at all")
    doc = project.document
    doc.add_blob(BlobInfo(GOOD, "wav", len(tone), rate, 2, "tone.wav"))
    doc.add_blob(BlobInfo(BROKEN, "wav", rate, rate, 2, "broken.wav"))
    track = doc.add_track("audio", "Tone")
    doc.add_audio_region(track, GOOD, 0, PPQ * 40)
    other = doc.add_track("audio", "Broken")
    doc.add_audio_region(other, BROKEN, 0, PPQ * 2)
    return project, track


def _poll_until_answered(sync: SongSync) -> None:
    def answered() -> bool:
        sync.poll()
        return not sync.busy

    wait_for(answered, timeout=60, what="the engine's replies")


def test_poll_sends_without_waiting_and_picks_up_the_replies(engine: EngineClient,
                                                             tmp_path: Path) -> None:
    project, track = _project(tmp_path)
    sync = SongSync(project, engine)
    try:
        assert sync.poll()  # sent; the replies are read by later polls, never here
        assert sync.busy and sync.messages == []
        _poll_until_answered(sync)
        assert any("broken.wav" in m.lower() or BROKEN in m for m in sync.messages), \
            sync.messages
        strip = sync.strip_of(track)
        assert strip is not None
        engine.play()
        wait_for(lambda: max(engine.track_peaks(strip)) > 0.1, what="the tone playing")
    finally:
        engine.stop_transport()
        sync.close()


def test_edits_while_a_request_is_on_its_way_go_out_later(engine: EngineClient,
                                                           tmp_path: Path) -> None:
    project, track = _project(tmp_path, seconds=10.0)
    sync = SongSync(project, engine, debounce_s=0.0)
    try:
        assert sync.poll()
        project.document.set_mixer(track, volume_db=-6.0)  # the song is still on its way
        strip = sync.strip_of(track)
        assert strip is not None
        engine.play()

        def at_half_level() -> bool:
            sync.poll()
            return 0.1 < max(engine.track_peaks(strip)) < 0.2  # 0.3 at -6 dB

        wait_for(at_half_level, timeout=60, what="the fader edit in the engine")
    finally:
        engine.stop_transport()
        sync.close()


def test_a_request_whose_engine_dies_is_covered_by_the_restart(engine: EngineClient,
                                                               tmp_path: Path) -> None:
    project, track = _project(tmp_path, seconds=10.0)
    sync = SongSync(project, engine)
    try:
        assert sync.poll()
        pid = engine.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # the engine dies with the song on its way
        wait_for(lambda: not engine.alive, what="the engine gone")
        sync.poll()
        assert not sync.busy  # no reply will ever come: nothing waits for one
        seen: list[str] = []

        def recovered() -> bool:
            seen.extend(kind for kind, _ in engine.poll_notifications())
            return "stream_recovered" in seen

        wait_for(recovered, timeout=60, what="the restarted engine")
        strip = sync.strip_of(track)
        assert strip is not None
        engine.play()  # the client gave the new engine the song it remembered
        wait_for(lambda: max(engine.track_peaks(strip)) > 0.1, what="the tone playing")
    finally:
        engine.stop_transport()
        sync.close()
