"""A mono stream resampled and cut into windowed frames as it arrives: what the tuning
and hum estimators take their spectra from (any block size gives the same frames)."""

from __future__ import annotations

import numpy as np


class WindowedFrames:
    """``push`` mono blocks at ``sample_rate``; each call returns the new frames
    ([k, n_fft], Hann-windowed, one every ``hop`` samples at ``rate``). NaN and
    infinity read as silence."""

    def __init__(self, sample_rate: float, rate: int, n_fft: int, hop: int,
                 quality: str = "HQ") -> None:
        import soxr

        self.n_fft, self.hop = int(n_fft), int(hop)
        self._rs = (None if float(sample_rate) == rate
                    else soxr.ResampleStream(float(sample_rate), rate, 1, dtype="float32",
                                             quality=quality))
        self._window = np.hanning(self.n_fft).astype(np.float32)
        self._buf = np.zeros(0, np.float32)

    def push(self, mono: np.ndarray) -> np.ndarray:
        x = np.asarray(mono, dtype=np.float32)
        if not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        if self._rs is not None:
            x = np.asarray(self._rs.resample_chunk(x), dtype=np.float32)
        buf = np.concatenate([self._buf, x]) if self._buf.size else x
        n = (buf.size - self.n_fft) // self.hop + 1 if buf.size >= self.n_fft else 0
        if n <= 0:
            self._buf = np.array(buf, dtype=np.float32)
            return np.zeros((0, self.n_fft), np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(buf, self.n_fft)[::self.hop][:n]
        out = frames * self._window
        self._buf = np.array(buf[n * self.hop:], dtype=np.float32)
        return out
