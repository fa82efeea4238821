"""How far a recording's tuning lies from A = 440 Hz, in cents, from its spectral peaks.

The chord model was trained on renders detuned by up to 50 cents either way, but it
does not read both sides alike: on validation clips played sharp it named the chords
a semitone too high from about +40 cents (majmin 0.988 in tune, 0.882 at +40, 0.448 at
+45), while -45 cents still scored 0.987 (MODEL.md, "Tuning"). The file analyzer
therefore measures the tuning first and, when it is off by ``CORRECT_MIN_CENTS`` or
more, reads the recording as if it were in tune (``runtime``).

``TuningEstimator``: streaming, any sample rate (resampled to ``RATE`` first: 2 kHz
is all it reads, and at 44.1 kHz the same estimate cost five times the CPU). Each
frame (a Hann window of 0.37 s, half overlapping) gives its spectral peaks between
``F_MIN`` and ``F_MAX`` (local maxima within ``PEAK_RANGE_DB`` of the frame's
loudest), each placed by parabolic interpolation of the log magnitude. A peak's
distance from the nearest equal-tempered semitone is an angle on a circle (a semitone
round), and the weighted circular mean of all the angles is the tuning. Octave
partials agree with their fundamental; the fifth harmonic (-14 cents) and the seventh
(-31) are weak, so the mean follows the fundamentals. ``strength`` (0..1, the mean's
resultant length) says how much the peaks agree; below ``MIN_STRENGTH`` (noise, drums,
silence) the tuning is unknown. librosa's ``estimate_tuning`` does the same job with
a histogram, but its first call imports ``librosa.core.pitch`` (1.9 s on this
machine), longer than a whole CLI analysis.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from models.chords.windowed_frames import WindowedFrames

if TYPE_CHECKING:
    from models.chords.hum import Hum

F_MIN = 150.0  # Hz: below it a window of 0.37 s cannot place a peak within a few cents
F_MAX = 2000.0  # Hz: upper partials of pianos and strings are stretched sharp
PEAK_RANGE_DB = 40.0
RATE = 11025
N_FFT = 4096  # 0.37 s at RATE: 2.7 Hz bins
MIN_STRENGTH = 0.3
MIN_PEAKS = 50
CORRECT_MIN_CENTS = 20.0  # the model reads +-35 cents alike; correct well before that
# Peaks are summed in bands this wide, so that those of mains hum can be left out
# afterwards (hum.py: 50 Hz is G 35 cents sharp, and hum alone measured +36 cents).
BAND_HZ = 0.5
HUM_GUARD_HZ = 1.5  # peaks this close to a hum harmonic are the hum's
RECENT_S = 10.0  # a live input's tuning: the last this many seconds


class TuningEstimator:
    """``push`` mono blocks at ``sample_rate``; ``cents`` is the tuning so far
    (-50..50, None when unknown), ``strength`` how much the peaks agree."""

    def __init__(self, sample_rate: float) -> None:
        self.sample_rate = float(sample_rate)
        self.hop = N_FFT // 2
        self._frames_in = WindowedFrames(self.sample_rate, RATE, N_FFT, self.hop)
        freqs = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
        band = np.flatnonzero((freqs >= F_MIN) & (freqs <= F_MAX))
        self._lo, self._hi = int(band[0]), int(band[-1]) + 1
        n_bands = int(F_MAX / BAND_HZ) + 2
        self._sum = np.zeros(n_bands, np.complex128)
        self._weight = np.zeros(n_bands)
        self._count = np.zeros(n_bands, np.int64)

    def push(self, mono: np.ndarray) -> None:
        frames = self._frames_in.push(mono)
        if frames.shape[0]:
            self._frames(frames)

    def _frames(self, frames: np.ndarray) -> None:
        import scipy.fft

        mag = np.abs(scipy.fft.rfft(frames, axis=1))[:, self._lo - 1: self._hi + 1]
        loud = mag.max(axis=1, keepdims=True)
        mid = mag[:, 1:-1]
        peak = ((mid > mag[:, :-2]) & (mid >= mag[:, 2:])
                & (mid > loud * 10 ** (-PEAK_RANGE_DB / 20)) & (loud > 1e-6))
        t, k = np.nonzero(peak)
        a, b, c = (np.log(mag[t, k + j] + 1e-12) for j in (0, 1, 2))
        denom = a - 2 * b + c
        shift = np.where(denom < 0, 0.5 * (a - c) / np.where(denom < 0, denom, -1.0), 0.0)
        freq = (self._lo + k + np.clip(shift, -0.5, 0.5)) * RATE / N_FFT
        semis = 12.0 * np.log2(freq / 440.0)
        w = mag[t, k + 1]
        self._add(frames.shape[0], t, freq, w * np.exp(2j * np.pi * semis), w)

    def _add(self, n_frames: int, t: np.ndarray, freq: np.ndarray, z: np.ndarray,
             w: np.ndarray) -> None:
        """Count the peaks (frame ``t`` of ``n_frames``, frequency, weighted unit
        vector, weight) of a batch of frames."""
        n = self._sum.size
        band = np.minimum((freq / BAND_HZ).astype(np.int64), n - 1)
        self._sum += (np.bincount(band, z.real, n) + 1j * np.bincount(band, z.imag, n))
        self._weight += np.bincount(band, w, n)
        self._count += np.bincount(band, minlength=n)

    def _totals(self, hum: Hum | None) -> tuple[complex, float, int]:
        """The peaks' summed vector, weight and count (without ``hum``'s harmonics)."""
        keep = np.ones(self._sum.size, bool)
        if hum is not None:
            centre = (np.arange(self._sum.size) + 0.5) * BAND_HZ
            for f in hum.harmonics:
                keep &= np.abs(centre - f) > HUM_GUARD_HZ + BAND_HZ / 2
        return (complex(self._sum[keep].sum()), float(self._weight[keep].sum()),
                int(self._count[keep].sum()))

    @property
    def peaks(self) -> int:
        return self._totals(None)[2]

    @property
    def strength(self) -> float:
        total, weight, _ = self._totals(None)
        return abs(total) / weight if weight > 0 else 0.0

    @property
    def cents(self) -> float | None:
        return self.cents_without(None)

    def cents_without(self, hum: Hum | None) -> float | None:
        """The tuning from the peaks that are not ``hum``'s harmonics (all of them
        when ``hum`` is None)."""
        total, weight, count = self._totals(hum)
        if count < MIN_PEAKS or weight <= 0 or abs(total) / weight < MIN_STRENGTH:
            return None
        return float(np.angle(total) / (2 * np.pi) * 100.0)


class RecentTuning(TuningEstimator):
    """The tuning of the last ``window_s`` seconds of a stream (a live input: the
    player may retune); ``seconds`` is how much the window holds so far. Hum is not
    left out here: the live input reaches it with its hum notched out."""

    def __init__(self, sample_rate: float, window_s: float = RECENT_S) -> None:
        super().__init__(sample_rate)
        # per frame: summed vector, weight, peaks
        self._recent: deque[tuple[complex, float, int]] = deque(
            maxlen=max(1, round(window_s * RATE / self.hop)))
        self._frames_seen = 0

    @property
    def seconds(self) -> float:
        return len(self._recent) * self.hop / RATE

    @property
    def frames(self) -> int:
        """Frames taken so far (the window keeps the last ones)."""
        return self._frames_seen

    def _add(self, n_frames: int, t: np.ndarray, freq: np.ndarray, z: np.ndarray,
             w: np.ndarray) -> None:
        zs = np.bincount(t, z.real, n_frames) + 1j * np.bincount(t, z.imag, n_frames)
        ws = np.bincount(t, w, n_frames)
        cs = np.bincount(t, minlength=n_frames)
        self._recent.extend(zip(zs.tolist(), ws.tolist(), cs.tolist(), strict=True))
        self._frames_seen += n_frames

    def _totals(self, hum: Hum | None) -> tuple[complex, float, int]:
        return (complex(sum(r[0] for r in self._recent)),
                float(sum(r[1] for r in self._recent)), int(sum(r[2] for r in self._recent)))


def estimate(mono: np.ndarray, sample_rate: float) -> float | None:
    """The tuning of a whole mono recording in cents (None when unknown)."""
    est = TuningEstimator(sample_rate)
    est.push(mono)
    return est.cents
