"""The audio input, shared: a ring of float32 frames in its own shared-memory segment.

The engine's audio callback is the only writer: it copies each input block in, then
publishes the new total of frames written. It never waits for anyone. Readers (the
recorder's disk writer, later the chord analysis) each keep their own position, so
there can be any number of them; one that falls more than the ring's capacity behind
loses the oldest frames and is told how many.

Frame n of the stream (counting from 0) is engine clock `clock_base + n`: the callback
writes every block, silence included, so the ring and the engine clock never drift.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from multiprocessing import resource_tracker, shared_memory

import numpy as np

HEADER_BYTES = 256
DEFAULT_CAPACITY = 1 << 20  # frames: about 22 s at 48 kHz, 8 MiB for stereo
# Header words (int64): frames written, engine clock of frame 0, channels, capacity,
# sample rate.
_WRITTEN, _BASE, _CHANNELS, _CAPACITY, _RATE = range(5)


class InputRing:
    """Views onto one input ring segment (writer or reader side)."""

    def __init__(self, shm: shared_memory.SharedMemory, owner: bool) -> None:
        self._shm = shm
        self._owner = owner
        buf = shm.buf
        assert buf is not None
        self._hdr = np.ndarray((HEADER_BYTES // 8,), np.int64, buf, 0)
        self.channels = int(self._hdr[_CHANNELS])
        self.capacity = int(self._hdr[_CAPACITY])
        self.sample_rate = int(self._hdr[_RATE])
        self._mask = self.capacity - 1
        self._data = np.ndarray((self.capacity, self.channels), np.float32, buf, HEADER_BYTES)

    @property
    def name(self) -> str:
        return self._shm.name

    @classmethod
    def create(cls, channels: int, sample_rate: int,
               capacity: int = DEFAULT_CAPACITY) -> InputRing:
        if capacity & (capacity - 1) or capacity <= 0:
            raise ValueError("capacity must be a power of two")
        if not 1 <= channels <= 64:
            raise ValueError(f"channels must be 1..64, got {channels}")
        size = HEADER_BYTES + capacity * channels * 4
        shm = shared_memory.SharedMemory(create=True, size=size)
        assert shm.buf is not None
        hdr = np.ndarray((HEADER_BYTES // 8,), np.int64, shm.buf, 0)
        hdr[:] = 0
        hdr[_CHANNELS] = channels
        hdr[_CAPACITY] = capacity
        hdr[_RATE] = sample_rate
        del hdr
        return cls(shm, owner=True)

    @classmethod
    def attach(cls, name: str) -> InputRing:
        shm = shared_memory.SharedMemory(name=name)
        # As in SharedBlock.attach: Python < 3.13 would unlink the writer's segment.
        with contextlib.suppress(Exception):
            resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
        return cls(shm, owner=False)

    # Writer (the audio callback) ------------------------------------------------------
    def write(self, block: np.ndarray, frames: int, clock: int) -> None:
        """Append `block[:frames]` (frames x channels) whose first frame is `clock`."""
        hdr = self._hdr
        w = int(hdr[_WRITTEN])
        if w == 0:
            hdr[_BASE] = clock
        i = w & self._mask
        n1 = min(frames, self.capacity - i)
        data = self._data
        data[i:i + n1] = block[:n1]
        if n1 < frames:
            data[:frames - n1] = block[n1:frames]
        hdr[_WRITTEN] = w + frames  # published after the frames

    # Readers --------------------------------------------------------------------------
    @property
    def written(self) -> int:
        return int(self._hdr[_WRITTEN])

    @property
    def clock_base(self) -> int:
        return int(self._hdr[_BASE])

    def reader(self, at_clock: int | None = None) -> InputReader:
        """A reader from now, or from engine clock `at_clock` if it is still held."""
        return InputReader(self, at_clock)

    def close(self) -> None:
        if not hasattr(self, "_data"):
            return
        del self._data, self._hdr
        with contextlib.suppress(BufferError):
            self._shm.close()
        if self._owner:
            with contextlib.suppress(FileNotFoundError):
                self._shm.unlink()


@dataclass
class Chunk:
    clock: int  # engine clock of frames[0]
    frames: np.ndarray  # frames x channels, float32, a copy
    lost: int  # frames skipped before this chunk because the reader fell behind


class InputReader:
    """One reader's position in an `InputRing`."""

    def __init__(self, ring: InputRing, at_clock: int | None = None) -> None:
        self.ring = ring
        w = ring.written
        if at_clock is None or w == 0:
            self.pos = w
        else:
            self.pos = min(w, max(w - ring.capacity, at_clock - ring.clock_base))

    @property
    def clock(self) -> int:
        """Engine clock of the next frame this reader returns."""
        return self.ring.clock_base + self.pos

    def available(self) -> int:
        return self.ring.written - self.pos

    def read(self, max_frames: int = 1 << 16) -> Chunk:
        ring = self.ring
        cap = ring.capacity
        w = ring.written
        start = max(self.pos, w - cap)
        lost = start - self.pos
        n = max(0, min(w - start, max_frames))
        i = start & ring._mask
        n1 = min(n, cap - i)
        out = np.empty((n, ring.channels), np.float32)
        out[:n1] = ring._data[i:i + n1]
        out[n1:] = ring._data[:n - n1]
        # The writer may have lapped us while we copied: drop what it overwrote.
        overwritten = ring.written - cap - start
        if overwritten > 0:
            cut = min(n, overwritten)
            out = out[cut:]
            start += cut
            n -= cut
            lost += cut
        self.pos = start + n
        return Chunk(ring.clock_base + start, out, lost)
