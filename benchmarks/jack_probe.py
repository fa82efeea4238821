"""A separate JACK client for measurements: it emits MIDI at known frames and records
the engine's output, both stamped with JACK's frame clock.

Used by the live tests and by `benchmarks.audio_engine`. It is one JACK client, so
JACK runs it after the engine's audio client (it listens to it) and before the
engine's MIDI client (it feeds it): a note it emits in cycle k is polled by the
engine's callback in cycle k+1 and captured here in that same cycle, the path a
hardware MIDI port (read by the driver at the start of a cycle) takes too.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import jack
import numpy as np

MINUS_60_DBFS = 10 ** (-60 / 20)


@dataclass
class NoteLatency:
    emitted: list[int] = field(default_factory=list)  # absolute JACK frames
    onsets: list[int | None] = field(default_factory=list)


class JackProbe:
    """Record `seconds` of the engine's left output and send scheduled MIDI."""

    def __init__(self, seconds: float, name: str = "StrumSpace-probe") -> None:
        self.client = jack.Client(name, no_start_server=True)
        self.rate = self.client.samplerate
        self.period = self.client.blocksize
        self.midi_out = self.client.midi_outports.register("midi_out")
        self.audio_in = self.client.inports.register("in_1")
        self.capacity = int(seconds * self.rate) + self.period
        self.audio = np.zeros(self.capacity, np.float32)
        self.start_frame = -1  # JACK frame of audio[0]
        self.filled = 0
        self.cycle_starts: list[int] = []
        self.recording = False
        self.xruns = 0
        self.late_events = 0
        self._schedule: deque[tuple[int, bytes]] = deque()
        self._lock = threading.Lock()
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)

    def _xrun(self, delay: float) -> None:
        self.xruns += 1

    def _process(self, frames: int) -> None:
        t0 = self.client.last_frame_time
        self.midi_out.clear_buffer()
        if self._lock.acquire(blocking=False):  # never wait in the process callback
            try:
                sched = self._schedule
                while sched and sched[0][0] < t0 + frames:
                    at, data = sched.popleft()
                    if at < t0:
                        self.late_events += 1
                        at = t0
                    self.midi_out.write_midi_event(at - t0, data)
            finally:
                self._lock.release()
        if not self.recording:
            return
        if self.start_frame < 0:
            self.start_frame = t0
        pos = t0 - self.start_frame
        if pos + frames > self.capacity:
            self.recording = False
            return
        self.audio[pos:pos + frames] = self.audio_in.get_array()
        self.filled = pos + frames
        self.cycle_starts.append(t0)

    # Control (from the owning thread) ----------------------------------------------
    def activate(self, engine_audio_port: str | None, engine_midi_port: str | None) -> None:
        self.client.activate()
        if engine_audio_port:
            self.client.connect(engine_audio_port, self.audio_in)
        if engine_midi_port:
            self.client.connect(self.midi_out, engine_midi_port)

    def now(self) -> int:
        return int(self.client.frame_time)

    def schedule(self, frame: int, data: bytes) -> None:
        with self._lock:
            self._schedule.append((frame, data))

    def start_recording(self) -> None:
        self.start_frame = -1
        self.filled = 0
        self.cycle_starts = []
        self.recording = True

    def stop_recording(self) -> np.ndarray:
        self.recording = False
        return self.audio[: self.filled]

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()

    # Analysis -------------------------------------------------------------------------
    def onset_after(self, frame: int, window: int, threshold: float = MINUS_60_DBFS,
                    quiet_before: int = 240) -> int | None:
        """First absolute frame at or after `frame` whose level exceeds `threshold`,
        provided the `quiet_before` frames before it were below it (else None)."""
        i = frame - self.start_frame
        if self.start_frame < 0 or i - quiet_before < 0 or i + window > self.filled:
            return None
        if np.abs(self.audio[i - quiet_before:i]).max() > threshold:
            return None
        loud = np.nonzero(np.abs(self.audio[i:i + window]) > threshold)[0]
        return frame + int(loud[0]) if loud.size else None


def jack_ports(pattern: str, is_midi: bool = False, is_input: bool = False,
               is_output: bool = False) -> list[str]:
    client = jack.Client("StrumSpace-ports", no_start_server=True)
    try:
        return [p.name for p in client.get_ports(pattern, is_midi=is_midi,
                                                 is_input=is_input, is_output=is_output)]
    finally:
        client.close()
