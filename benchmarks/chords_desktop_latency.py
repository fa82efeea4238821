"""Live chord latency through the desktop app's real path (issue #5, "on screen"):

a private JACK dummy server (48 kHz, 256 frames) -> a player client that plays the
evaluation clips once into the engine's audio inputs -> the real engine process
(`audio.client.EngineClient`, its input copied to the shared-memory ring) -> the live
chord worker process (`analysis.live.LiveChordService`, LiveRecognizer inside) -> the
UI side, which polls the service every POLL_S (as the UI's timer would).

Time of a chord change: when its first sample would have been captured by a sound card
whose period ends at the player's JACK callback for that period (the player records the
wall clock at every callback). Time of the new label: when `poll()` hands the UI side a
`LiveChord` with `changed` naming the new chord. Not included: the UI's repaint.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import soundfile as sf

from benchmarks.chords_ours import live_changes
from benchmarks.chords_scoring import Segments, read_lab
from benchmarks.chords_sets import Clip
from benchmarks.jack_server import JackServer, feed_engine_inputs

POLL_S = 0.01
RATE = 48000
PERIOD = 256


class _Player:
    """A JACK client playing `audio` once (after `go()`), connected to every
    StrumSpace-audio:in_* port, recording (position, wall clock) at each callback."""

    def __init__(self, audio: np.ndarray) -> None:
        import jack

        self.audio = np.ascontiguousarray(audio, dtype=np.float32)
        self.pos = 0
        self.playing = False
        n = len(self.audio) // PERIOD + 64
        self.stamps = np.zeros((n, 2))  # (first frame of the cycle, time.monotonic())
        self.cycles = 0
        self.client = jack.Client("StrumSpace-bench-player", no_start_server=True)
        self.port = self.client.outports.register("out")
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        buf = self.port.get_array()
        if not self.playing or self.pos >= len(self.audio):
            buf[:] = 0.0
            return
        take = min(frames, len(self.audio) - self.pos)
        buf[:take] = self.audio[self.pos:self.pos + take]
        buf[take:] = 0.0
        if self.cycles < len(self.stamps):
            self.stamps[self.cycles] = (self.pos, time.monotonic())
            self.cycles += 1
        self.pos += take

    def go(self) -> None:
        self.playing = True

    @property
    def done(self) -> bool:
        return self.pos >= len(self.audio)

    def connect(self) -> int:
        return feed_engine_inputs(self.client, self.port)

    def wall_time(self, frame: int) -> float:
        """When the sound card would have captured `frame`: its period ends at the
        callback that passed it on."""
        stamps = self.stamps[: self.cycles]
        k = int(np.searchsorted(stamps[:, 0], frame, side="right")) - 1
        first, t = stamps[max(k, 0)]
        return float(t - (PERIOD - (frame - first)) / RATE)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def _program(clips: list[Clip], seconds: float) -> tuple[np.ndarray, Segments]:
    """The clips back to back at RATE (mono), up to `seconds`, with their labels."""
    import soxr

    parts, labels, offset = [], [], 0.0
    for clip in clips:
        audio, sr = sf.read(clip.audio, dtype="float32", always_2d=True)
        x = soxr.resample(audio.mean(axis=1), sr, RATE).astype(np.float32)
        parts.append(x)
        labels += [(a + offset, b + offset, lab) for a, b, lab in read_lab(clip.lab)]
        offset += len(x) / RATE
        if offset >= seconds:
            break
    return np.concatenate(parts), labels


def _wait(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def measure(clips: list[Clip], seconds: float) -> dict[str, Any]:
    """Plays about `seconds` of the clips through the app's live path in real time."""
    from strumspace_desktop.analysis.live import LiveChordService
    from strumspace_desktop.analysis.live_events import (
        LiveChord,
        LiveState,
        LiveStats,
        LiveStatus,
    )
    from strumspace_desktop.audio.client import EngineClient

    audio, ref = _program(clips, seconds)
    server = JackServer(f"strumspace-chords-bench-{os.getpid()}", RATE, PERIOD).start()
    old = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    engine = EngineClient()
    player: _Player | None = None
    service = LiveChordService()
    arrivals: list[tuple[float, str]] = []
    states: list[Any] = []
    stats: list[Any] = []
    try:
        engine.start()
        engine.open_stream(host_api="JACK Audio Connection Kit", blocksize=PERIOD,
                           set_jack_blocksize=False)
        info: dict[str, Any] = engine.request("info")["stream"]
        if not info.get("input_ring"):
            raise RuntimeError("the engine opened no input ring")
        if int(info["sample_rate"]) != RATE:
            raise RuntimeError(f"the engine runs at {info['sample_rate']} Hz, not {RATE}")
        player = _Player(audio)
        if player.connect() < 1:
            raise RuntimeError("the engine has no audio input port on JACK")
        service.follow(info)

        def poll() -> None:
            for event in service.poll():
                if isinstance(event, LiveChord) and event.changed:
                    arrivals.append((time.monotonic(), event.label))
                elif isinstance(event, LiveStatus):
                    states.append(event)
                elif isinstance(event, LiveStats):
                    stats.append(event)

        def listening() -> bool:
            poll()
            if any(s.state is LiveState.FAILED for s in states):
                raise RuntimeError(f"the live worker failed: {states[-1].message}")
            return any(s.state is LiveState.LISTENING for s in states)

        _wait(listening, 180, "the live worker to listen")  # slow to start on a busy machine
        arrivals.clear()
        player.go()
        end = time.monotonic() + len(audio) / RATE + 2.0
        while time.monotonic() < end:
            poll()
            time.sleep(POLL_S)
        played = player
        ref_wall = [(played.wall_time(int(a * RATE)), played.wall_time(int(b * RATE)), lab)
                    for a, b, lab in ref if int(a * RATE) < played.pos]
    finally:
        service.stop()
        if player is not None:
            player.close()
        engine.stop()
        server.stop()
        if old is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old
    shown = [(t, t, label) for t, label in arrivals]
    changes = live_changes(ref_wall, [(0.0, 0.0, "N"), *shown])
    found = np.array([c["latency_ms"] for c in changes if c["latency_ms"] is not None])
    return {
        "median_ms": round(float(np.median(found)), 1) if found.size else None,
        "p90_ms": round(float(np.percentile(found, 90)), 1) if found.size else None,
        "changes": len(changes), "detected": int(found.size),
        "audio_s": round(len(audio) / RATE, 1), "labels_shown": len(arrivals),
        # the worker's own account: frames it read from the ring and skipped to catch up
        "worker_frames_read": stats[-1].frames_read if stats else None,
        "worker_frames_skipped": stats[-1].frames_skipped if stats else None,
        "block": PERIOD, "sample_rate": RATE, "poll_s": POLL_S,
        "what": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
    }
