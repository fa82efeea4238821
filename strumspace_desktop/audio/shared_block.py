"""One shared-memory segment holding everything the UI and the engine process share.

The UI process creates it; the engine process attaches by name. Every part is a
fixed-size numpy view, so nothing in it ever grows or needs a lock.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from multiprocessing import resource_tracker, shared_memory

import numpy as np

from strumspace_desktop.audio.ringbuffer import SpscRing

# Capacity of the rings, in records; powers of two so that indices wrap with a mask.
COMMAND_CAPACITY = 4096
EVENT_CAPACITY = 8192
RECORD_WIDTH = 6
TIMING_CAPACITY = 1 << 16
STATUS_FIELDS = 64
STRIP_PEAK_SLOTS = 80  # song_data.MAX_STRIPS: 16 channel strips and 64 audio-track strips


@dataclass(frozen=True)
class Layout:
    """Byte offsets of each part inside the segment."""

    commands: int
    events: int
    status: int
    timings: int
    cc_consume: int
    strip_peaks: int
    size: int


def _layout() -> Layout:
    offset = 0

    def take(nbytes: int) -> int:
        nonlocal offset
        start = offset
        offset += (nbytes + 63) // 64 * 64  # keep every part on its own cache line
        return start

    commands = take(SpscRing.nbytes(COMMAND_CAPACITY, RECORD_WIDTH))
    events = take(SpscRing.nbytes(EVENT_CAPACITY, RECORD_WIDTH))
    status = take(STATUS_FIELDS * 8)
    timings = take(TIMING_CAPACITY * 4)
    cc_consume = take(16 * 128)
    strip_peaks = take(STRIP_PEAK_SLOTS * 2 * 4)
    return Layout(commands, events, status, timings, cc_consume, strip_peaks, offset)


LAYOUT = _layout()


class SharedBlock:
    """Views onto the shared segment: command ring (UI -> engine), event ring
    (engine -> UI), status fields, callback timings and the MIDI-learn CC mask."""

    def __init__(self, shm: shared_memory.SharedMemory, owner: bool) -> None:
        self._shm = shm
        self._owner = owner
        buf = shm.buf
        assert buf is not None
        self.commands = SpscRing(buf, LAYOUT.commands, COMMAND_CAPACITY, RECORD_WIDTH)
        self.events = SpscRing(buf, LAYOUT.events, EVENT_CAPACITY, RECORD_WIDTH)
        self.status = np.ndarray((STATUS_FIELDS,), np.float64, buf, LAYOUT.status)
        self.timings = np.ndarray((TIMING_CAPACITY,), np.float32, buf, LAYOUT.timings)
        # 1 where a learned CC binding consumes the controller instead of the synth.
        self.cc_consume = np.ndarray((16, 128), np.uint8, buf, LAYOUT.cc_consume)
        # Each mixer strip's decaying post-fader peak (left, right), written per block.
        self.strip_peaks = np.ndarray((STRIP_PEAK_SLOTS, 2), np.float32, buf,
                                      LAYOUT.strip_peaks)

    @property
    def name(self) -> str:
        return self._shm.name

    @classmethod
    def create(cls) -> SharedBlock:
        shm = shared_memory.SharedMemory(create=True, size=LAYOUT.size)
        assert shm.buf is not None
        shm.buf[: LAYOUT.size] = bytes(LAYOUT.size)
        return cls(shm, owner=True)

    @classmethod
    def attach(cls, name: str) -> SharedBlock:
        shm = shared_memory.SharedMemory(name=name)
        # Python < 3.13 registers attached segments with the resource tracker too, which
        # would unlink the creator's segment when this process exits.
        with contextlib.suppress(Exception):  # no tracker in some start methods
            resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
        return cls(shm, owner=False)

    def close(self) -> None:
        if not hasattr(self, "commands"):
            return  # already closed: stopping a client twice must be harmless
        # Drop the views before closing the mapping, or close() raises BufferError.
        del self.commands, self.events, self.status, self.timings, self.cc_consume
        del self.strip_peaks
        # A view may still be alive somewhere; then the mapping goes with the process.
        with contextlib.suppress(BufferError):
            self._shm.close()
        if self._owner:
            with contextlib.suppress(FileNotFoundError):
                self._shm.unlink()
