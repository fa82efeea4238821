"""Metronome clicks, mixed into the output at the exact sample of each beat.

The clicks are our own short sample buffers rather than FluidSynth notes, because
FluidSynth starts a note only at its next 64-frame boundary.
"""

from __future__ import annotations

import numpy as np

CLICK_SECONDS = 0.03


def make_click(sample_rate: int, freq: float) -> np.ndarray:
    """A 30 ms decaying sine burst whose first sample is its peak (a hard onset)."""
    n = int(sample_rate * CLICK_SECONDS)
    t = np.arange(n) / sample_rate
    env = np.exp(-t / 0.006)
    return (np.cos(2 * np.pi * freq * t) * env).astype(np.float32)


class Metronome:
    """Holds the two click sounds and the one click that may still be ringing."""

    def __init__(self, sample_rate: int) -> None:
        self.accent = make_click(sample_rate, 1760.0)
        self.normal = make_click(sample_rate, 1320.0)
        self.gain = 0.5
        self._ringing: np.ndarray | None = None
        self._ring_pos = 0
        self._scratch = np.zeros(self.accent.shape[0], np.float32)

    def reset(self) -> None:
        self._ringing = None

    def render(self, out: np.ndarray, frames: int, offsets: np.ndarray,
               accents: np.ndarray, count: int) -> None:
        """Add the tail of a ringing click and any clicks starting in this block."""
        ringing = self._ringing
        if ringing is not None:
            first = int(offsets[0]) if count else frames
            self._mix(out, ringing, self._ring_pos, 0, min(frames, first))
        for i in range(count):
            click = self.accent if accents[i] else self.normal
            start = int(offsets[i])
            stop = int(offsets[i + 1]) if i + 1 < count else frames
            self._ringing = click
            self._ring_pos = 0
            self._mix(out, click, 0, start, stop)

    def _mix(self, out: np.ndarray, click: np.ndarray, pos: int, start: int, stop: int) -> None:
        n = min(stop - start, click.shape[0] - pos)
        if n > 0:
            seg = np.multiply(click[pos:pos + n], self.gain, out=self._scratch[:n])
            out[start:start + n, 0] += seg
            out[start:start + n, 1] += seg
            pos += n
        self._ring_pos = pos
        if pos >= click.shape[0]:
            self._ringing = None
