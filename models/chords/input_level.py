"""The input level the chord model hears: quiet recordings are lifted to a trained level.

The model was trained on clips whose peak lay between -21 and -1 dBFS
(``augment.py``), and its features have no per-clip normalisation (``features.py``),
so it learned that quiet sound is more likely no-chord. A piano chord held for 6 s in
a file peaking at -30 dBFS was named until 1.7 s, at -21 dBFS until 3.9 s, at -12 dBFS
until its release (6.0 s); the live display dropped it at 2.2, 5.5 and 6.2 s. At a
-30 dBFS peak the live display's majmin on the validation clips fell 2.1 points and
its median latency rose 20 ms. (MODEL.md, "Quiet recordings".)

* Files (``PeakTrack``, ``GainCurve``, ``lift``): every passage whose peak, within
  ``PASSAGE_S`` either side, is below ``TARGET_PEAK_DB`` is lifted to it, by at most
  ``MAX_FILE_GAIN_DB``; louder passages are left as they are. A quiet recording is
  lifted whole; so is the quiet half of a loud one (the validation chorales' second
  halves played 25 dB softer scored 0.860 majmin, 0.911 lifted, 0.923 at full level),
  while a chord's own decay within ``PASSAGE_S`` of its attack is not. Lifting the quiet
  files whole (the first version) moved validation majmin by +0.1, 0.0 and 0.0
  points over the three families (the rendered clips mostly peak at -1 dBFS); by
  passage, -0.1, 0.0 and 0.0 (2 s either side: -0.3). Bringing every file to -12 dBFS
  moved it +0.4, -0.5 and +0.5, and to -1 dBFS -1.3, +0.1 and -0.6, so loud passages
  keep their level.
* Live input (``LiveLevel``): the peak is not known in advance, so a peak envelope
  (instant attack, a slow release) sets the gain, by at most ``MAX_LIVE_GAIN_DB``: the
  live graph has no noise gate, and pink noise at -20 dBFS already showed a chord for
  a second, so room noise must not be lifted far.
"""

from __future__ import annotations

import math

import numpy as np

TARGET_PEAK_DB = -12.0
MAX_FILE_GAIN_DB = 24.0
PASSAGE_S = 8.0  # a passage's level: its loudest sample within this many seconds
STEP_S = 0.05  # the gain curve's step
SMOOTH_S = 0.5  # the gain moves this gradually (a moving average of its log)
MAX_LIVE_GAIN_DB = 12.0
# The envelope falls this fast once the playing gets quieter: a held chord's own decay
# (about 3 dB/s on a piano) is not lifted back, a softer passage is within a minute.
LIVE_RELEASE_DB_PER_S = 0.5


def lift(peaks: np.ndarray) -> np.ndarray:
    """The factors that bring passages whose (mono) peaks are ``peaks`` up to
    ``TARGET_PEAK_DB``: at least 1 (never quieter), at most ``MAX_FILE_GAIN_DB``; 1 for
    silence."""
    p = np.asarray(peaks, dtype=np.float64)
    wanted = 10.0 ** (TARGET_PEAK_DB / 20.0) / np.maximum(p, 1e-30)
    return np.where(p > 0, np.clip(wanted, 1.0, 10.0 ** (MAX_FILE_GAIN_DB / 20.0)), 1.0)


class PeakTrack:
    """A recording's peak every ``STEP_S``, from its mono blocks in order (the first
    pass over a file: 20 floats a second); ``gain_curve()`` when all have come."""

    def __init__(self, sample_rate: float) -> None:
        self.hop = max(1, round(float(sample_rate) * STEP_S))
        self._steps: list[np.ndarray] = []
        self._rest = np.zeros(0, np.float32)

    def push(self, mono: np.ndarray) -> None:
        a = np.abs(np.asarray(mono, dtype=np.float32))
        a[~np.isfinite(a)] = 0.0
        a = np.concatenate([self._rest, a])
        n = a.size // self.hop
        if n:
            self._steps.append(a[: n * self.hop].reshape(n, self.hop).max(axis=1))
        self._rest = a[n * self.hop:]

    def gain_curve(self) -> GainCurve:
        from scipy.ndimage import maximum_filter1d, uniform_filter1d

        steps = np.concatenate([*self._steps, [self._rest.max(initial=0.0)]])
        env = maximum_filter1d(steps, 2 * round(PASSAGE_S / STEP_S) + 1, mode="nearest")
        log_gain = uniform_filter1d(np.log(lift(env)), max(1, round(SMOOTH_S / STEP_S)),
                                    mode="nearest")
        return GainCurve(self.hop, log_gain)


class GainCurve:
    """Gain by sample index: the log gain of each step, interpolated between the
    steps' centres."""

    def __init__(self, hop: int, log_gain: np.ndarray) -> None:
        self.hop = hop
        self.log_gain = np.asarray(log_gain, dtype=np.float64)
        self._centres = (np.arange(self.log_gain.size) + 0.5) * hop
        self.is_flat = not bool(np.any(np.abs(self.log_gain) > 1e-9))

    def at(self, sample: float) -> float:
        return float(np.exp(np.interp(sample, self._centres, self.log_gain)))

    def apply(self, mono: np.ndarray, start: int) -> np.ndarray:
        """``mono`` (samples ``start`` on) times the gain."""
        x = np.asarray(mono, dtype=np.float32)
        if x.size == 0 or self.is_flat:
            return x
        # the steps whose centres bound these samples: one gain for all (a quiet file
        # lifted evenly) is a multiplication, a change needs the interpolation
        k0 = min(max(0, int((start - self.hop / 2) // self.hop)), self.log_gain.size - 1)
        k1 = min(self.log_gain.size - 1, int((start + x.size - self.hop / 2) // self.hop) + 1)
        span = self.log_gain[k0: k1 + 1]
        if np.ptp(span) <= 1e-9:
            return x * np.float32(math.exp(span[0]))
        lg = np.interp(np.arange(start, start + x.size), self._centres, self.log_gain)
        return (x * np.exp(lg)).astype(np.float32)


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
