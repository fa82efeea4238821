"""The input level the chord model hears: quiet recordings are lifted to a trained level.

The model was trained on clips whose peak lay between -21 and -1 dBFS
(``augment.py``), and its features have no per-clip normalisation (``features.py``),
so it learned that quiet sound is more likely no-chord. A piano chord held for 6 s in
a file peaking at -30 dBFS was named until 1.7 s, at -21 dBFS until 3.9 s, at -12 dBFS
until its release (6.0 s); the live display dropped it at 2.2, 5.5 and 6.2 s. At a
-30 dBFS peak the live display's majmin on the validation clips fell 2.1 points and
its median latency rose 20 ms. (MODEL.md, "Quiet recordings".)

* Files (``file_gain``): a file whose peak is below ``TARGET_PEAK_DB`` is lifted to it,
  by at most ``MAX_FILE_GAIN_DB``; louder files are left as they are. Lifting only the
  quiet ones moved validation majmin by +0.1, 0.0 and 0.0 points over the three
  families (the rendered clips mostly peak at -1 dBFS); bringing every file to -12
  dBFS moved it +0.4, -0.5 and +0.5, and to -1 dBFS by -1.3, +0.1 and -0.6, so loud
  files keep their level.
* Live input (``LiveLevel``): the peak is not known in advance, so a peak envelope
  (instant attack, a slow release) sets the gain, by at most ``MAX_LIVE_GAIN_DB``: the
  live graph has no noise gate, and pink noise at -20 dBFS already showed a chord for
  a second, so room noise must not be lifted far.
"""

from __future__ import annotations

import math

import numpy as np

TARGET_PEAK_DB = -12.0
MAX_FILE_GAIN_DB = 36.0
MAX_LIVE_GAIN_DB = 12.0
# The envelope falls this fast once the playing gets quieter: a held chord's own decay
# (about 3 dB/s on a piano) is not lifted back, a softer passage is within a minute.
LIVE_RELEASE_DB_PER_S = 0.5


def peak_of(x: np.ndarray) -> float:
    """The largest finite absolute sample of ``x`` (0 for none)."""
    a = np.asarray(x)
    if a.size == 0:
        return 0.0
    peak = float(np.max(np.abs(a)))
    if math.isfinite(peak):
        return peak
    finite = a[np.isfinite(a)]
    return float(np.max(np.abs(finite), initial=0.0))


def file_gain(peak: float) -> float:
    """The factor that brings a recording whose (mono) peak is ``peak`` up to
    ``TARGET_PEAK_DB``: at least 1 (never quieter), at most ``MAX_FILE_GAIN_DB``; 1 for
    silence or a peak that is not a number."""
    if not (peak > 0.0 and math.isfinite(peak)):
        return 1.0
    wanted = 10.0 ** (TARGET_PEAK_DB / 20.0) / peak
    return float(min(10.0 ** (MAX_FILE_GAIN_DB / 20.0), max(1.0, wanted)))


class LiveLevel:
    """Gain for a live stream from a peak envelope, sample by sample: instant attack (a
    sample's own peak sets its gain, so a loud attack is never boosted) and a release
    of ``release_db_per_s``. The result does not depend on how the stream is cut into
    blocks. ``apply(mono)`` returns the scaled block; ``gain`` is its last sample's."""

    def __init__(self, sample_rate: float, *, max_gain_db: float = MAX_LIVE_GAIN_DB,
                 release_db_per_s: float = LIVE_RELEASE_DB_PER_S) -> None:
        self.sample_rate = float(sample_rate)
        self.max_gain_db = max_gain_db
        # natural log of the envelope's fall per sample
        self._fall = -release_db_per_s / 20.0 * math.log(10.0) / self.sample_rate
        self._target = 10.0 ** (TARGET_PEAK_DB / 20.0)
        self._max_gain = 10.0 ** (max_gain_db / 20.0)
        self.envelope = 0.0
        self.gain = 1.0

    def reset(self) -> None:
        self.envelope = 0.0
        self.gain = 1.0

    def apply(self, mono: np.ndarray) -> np.ndarray:
        x = np.asarray(mono, dtype=np.float32)
        if x.size == 0 or self._max_gain == 1.0:
            return x
        a = np.abs(x).astype(np.float64)
        a[~np.isfinite(a)] = 0.0
        k = np.arange(x.size) * self._fall
        with np.errstate(divide="ignore"):
            # log of max over m <= n of |x[m]| * fall^(n - m), and of the envelope carried in
            env = np.maximum.accumulate(np.log(a) - k) + k
            if self.envelope > 0.0:
                env = np.maximum(env, math.log(self.envelope) + self._fall + k)
        env = np.exp(env)
        gain = np.where(env > 0.0, np.clip(self._target / np.maximum(env, 1e-30), 1.0,
                                           self._max_gain), 1.0)
        self.envelope = float(env[-1])
        self.gain = float(gain[-1])
        if self.gain == 1.0 and bool(np.all(gain == 1.0)):
            return x
        return (x * gain).astype(np.float32)
