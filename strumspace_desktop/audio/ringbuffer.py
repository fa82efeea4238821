"""A single-producer, single-consumer ring of fixed-width float64 records.

Lock-free: the producer only writes the write index and the consumer only the read
index, each an aligned 8-byte word on its own cache line. The record is written
before the index that publishes it; x86-64 keeps stores in order, and CPython's
interpreter loop puts full barriers (its atomics) between our statements elsewhere.
"""

from __future__ import annotations

import numpy as np

_HEADER = 128  # write index at byte 0, read index at byte 64


class SpscRing:
    """Fixed records of `width` float64 values; capacity is a power of two."""

    __slots__ = ("_cap", "_mask", "_read", "_records", "_width", "_write")

    def __init__(self, buf: memoryview, offset: int, capacity: int, width: int) -> None:
        if capacity & (capacity - 1):
            raise ValueError("capacity must be a power of two")
        self._cap = capacity
        self._mask = capacity - 1
        self._width = width
        self._write = np.ndarray((1,), np.int64, buf, offset)
        self._read = np.ndarray((1,), np.int64, buf, offset + 64)
        self._records = np.ndarray((capacity, width), np.float64, buf, offset + _HEADER)

    @staticmethod
    def nbytes(capacity: int, width: int) -> int:
        return _HEADER + capacity * width * 8

    @property
    def capacity(self) -> int:
        return self._cap

    def __len__(self) -> int:
        return int(self._write[0] - self._read[0])

    # Producer side -----------------------------------------------------------------
    def push(self, a: float, b: float = 0.0, c: float = 0.0, d: float = 0.0,
             e: float = 0.0, f: float = 0.0) -> bool:
        """Append one record; False (and nothing written) when the ring is full."""
        w = int(self._write[0])
        if w - int(self._read[0]) >= self._cap:
            return False
        row = self._records[w & self._mask]
        row[0] = a
        row[1] = b
        row[2] = c
        row[3] = d
        row[4] = e
        row[5] = f
        self._write[0] = w + 1
        return True

    # Consumer side -----------------------------------------------------------------
    def available(self) -> int:
        return int(self._write[0] - self._read[0])

    def peek_row(self, i: int) -> np.ndarray:
        """The i-th unread record (0 = oldest); valid until advance() passes it."""
        return self._records[(int(self._read[0]) + i) & self._mask]

    def advance(self, count: int) -> None:
        self._read[0] = int(self._read[0]) + count

    def pop_all(self) -> list[tuple[float, ...]]:
        """Every unread record as a tuple (for the non-real-time side)."""
        r = int(self._read[0])
        w = int(self._write[0])
        out = [tuple(self._records[i & self._mask].tolist()) for i in range(r, w)]
        self._read[0] = w
        return out
