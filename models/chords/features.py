"""Log-frequency spectrogram for chord recognition: fast, streamable, clip-independent.

Frames every ``HOP`` samples at ``SAMPLE_RATE`` (11,025 Hz: C8 at 4.2 kHz fits under its
Nyquist frequency, and half the work of 22,050). ``N_BINS`` = 243 bins, three per
semitone, centred on MIDI 27.67 .. 108.33 (E1 - 1/3 .. C8 + 1/3): bin ``3 * (m - 28) + 1``
is MIDI note ``m``, so a transposition by ``s`` semitones is a shift of ``3 * s`` bins.

Two windows, both ending ``RIGHT_SAMPLES`` (46 ms) after the frame centre so that live
latency stays low:

* the upper bins (MIDI >= ``CROSSOVER_MIDI``, E3 and up) come from a 1,024-sample Hann
  window (93 ms) centred on the frame;
* the lower bins come from a 186 ms window at a quarter of the rate (2,756.25 Hz, 512
  samples; a 65-tap linear-phase FIR low-pass decimates, so a stream lags only 2.9 ms
  more): semitones in the bass need the finer frequency resolution. It ends where the
  short window ends, so it looks no further ahead; its centre lies 46 ms before the
  frame's.

Values: ``log1p(LOG_GAIN * magnitude)`` with magnitudes scaled so that a full-scale sine
reads about 1. The transform is fixed (no per-clip normalisation), so a stream gives
the same frames as the whole clip; silence is exactly 0.

``features`` runs at several thousand times real time on one core (MODEL.md).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

SAMPLE_RATE = 11025
HOP = 256
FPS = SAMPLE_RATE / HOP  # 43.07 frames per second
BINS_PER_SEMITONE = 3
LOWEST_MIDI = 28  # E1
HIGHEST_MIDI = 108  # C8
N_BINS = BINS_PER_SEMITONE * (HIGHEST_MIDI - LOWEST_MIDI + 1)  # 243
CROSSOVER_MIDI = 52  # E3: below it the long window's resolution is needed
N_FFT = 1024  # short window, at SAMPLE_RATE
DECIMATE = 4
LOW_RATE = SAMPLE_RATE / DECIMATE  # 2756.25 Hz
N_FFT_LOW = 512  # long window, at LOW_RATE (186 ms)
HOP_LOW = HOP // DECIMATE
RIGHT_SAMPLES = N_FFT // 2  # both windows end this many samples after the frame centre
RIGHT_LOW = RIGHT_SAMPLES // DECIMATE
DEC_TAPS = 65  # decimation low-pass (linear phase)
DEC_HALF = DEC_TAPS // 2
LOG_GAIN = 1000.0
# Audio a frame needs after its centre: the short window's right half, or the
# decimation filter's half-length after the long window's last low-rate sample.
LATENCY_SAMPLES = max(RIGHT_SAMPLES, DECIMATE * (RIGHT_LOW - 1) + DEC_HALF + 1)  # 541
LATENCY_S = LATENCY_SAMPLES / SAMPLE_RATE  # 49 ms


def bin_midi() -> np.ndarray:
    """MIDI pitch (fractional) of every bin's centre."""
    return LOWEST_MIDI + (np.arange(N_BINS) - 1) / BINS_PER_SEMITONE


def frame_time(i: int | np.ndarray) -> float | np.ndarray:
    """Seconds of frame ``i``'s centre."""
    return i * HOP / SAMPLE_RATE


def n_frames(n_samples: int) -> int:
    """Frames of a clip of ``n_samples`` at SAMPLE_RATE: one per complete hop."""
    return max(0, n_samples // HOP)


def _filters(n_fft: int, rate: float, midis: np.ndarray) -> np.ndarray:
    """[n_fft // 2 + 1, len(midis)] triangular filters on log frequency, at least one
    FFT bin wide (linear interpolation where the FFT is coarser than the bins)."""
    freqs = np.arange(n_fft // 2 + 1) * rate / n_fft
    centre = 440.0 * 2.0 ** ((midis - 69) / 12)
    width = np.maximum(centre * (2 ** (1 / (12 * BINS_PER_SEMITONE)) - 1), rate / n_fft)
    w = np.maximum(0.0, 1.0 - np.abs(freqs[:, None] - centre[None, :]) / width[None, :])
    w /= w.sum(axis=0, keepdims=True)
    return w.astype(np.float32)


Plan = tuple[np.ndarray, np.ndarray, Any, Any, int, int, int]


@cache
def _plan(low_midi: int = LOWEST_MIDI, high_midi: int = HIGHEST_MIDI) -> Plan:
    """Windows, sparse filterbanks and sizes for bins from ``low_midi`` to ``high_midi``
    (training caches a wider range than N_BINS: transposition shifts it, train.py)."""
    midis = low_midi + (np.arange(BINS_PER_SEMITONE * (high_midi - low_midi + 1)) - 1
                        ) / BINS_PER_SEMITONE
    low = midis < CROSSOVER_MIDI - 1e-6
    n_low = int(low.sum())
    # Window scaled so that a full-scale sine gives a magnitude of about 1.
    win = np.hanning(N_FFT + 1)[:-1]
    win_low = np.hanning(N_FFT_LOW + 1)[:-1]
    f_hi = _filters(N_FFT, SAMPLE_RATE, midis[n_low:]) * (2.0 / win.sum())
    f_lo = _filters(N_FFT_LOW, LOW_RATE, midis[:n_low]) * (2.0 / win_low.sum())
    # Only the FFT bins a filter touches are computed into the product.
    k_hi = int(np.nonzero(f_hi.any(axis=1))[0][-1]) + 1
    k_lo = int(np.nonzero(f_lo.any(axis=1))[0][-1]) + 1
    # Sparse (transposed): each filter touches a few FFT bins, a dense product would
    # cost ten times the FFTs.
    from scipy import sparse

    return (win.astype(np.float32), win_low.astype(np.float32),
            sparse.csr_array(f_hi[:k_hi].T), sparse.csr_array(f_lo[:k_lo].T),
            n_low, k_hi, k_lo)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """float32 mono from [n], [n, channels] (or [channels, n] with few rows)."""
    x = np.asarray(audio)
    if x.ndim == 2:
        if x.shape[0] <= 8 < x.shape[1]:
            x = x.T
        x = x.mean(axis=1)
    elif x.ndim != 1:
        raise ValueError(f"audio must be 1-D or 2-D, not {x.ndim}-D")
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max)
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():  # a damaged file: silence instead of NaN everywhere
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return x


def resample(x: np.ndarray, sr: float, quality: str = "HQ") -> np.ndarray:
    if sr <= 0:
        raise ValueError(f"sample rate must be positive, not {sr}")
    if sr == SAMPLE_RATE or x.size == 0:
        return x
    import soxr

    return np.asarray(soxr.resample(x, sr, SAMPLE_RATE, quality=quality), dtype=np.float32)


@cache
def _dec_filter() -> np.ndarray:
    """Low-pass for the decimation by 4: a windowed sinc, cutoff 600 Hz, about -74 dB
    from 1.2 kHz (nothing aliases into the bass bins, which end at 170 Hz); linear
    phase, so a stream needs only DEC_HALF samples (2.9 ms) of look-ahead."""
    k = np.arange(DEC_TAPS) - DEC_HALF
    h = np.sinc(2 * 600.0 / SAMPLE_RATE * k) * np.blackman(DEC_TAPS)
    return (h / h.sum()).astype(np.float32)


def _decimate(buf: np.ndarray, offset: int, j0: int, j1: int) -> np.ndarray:
    """Low-rate samples j0 .. j1 (sample j sits at 4 j of the SAMPLE_RATE signal) from
    ``buf``, which holds that signal from sample ``offset`` on."""
    if j1 <= j0:
        return np.zeros(0, np.float32)
    a = DECIMATE * j0 - DEC_HALF - offset
    seg = buf[a: DECIMATE * (j1 - 1) + DEC_HALF + 1 - offset]
    win = np.lib.stride_tricks.sliding_window_view(seg, DEC_TAPS)[::DECIMATE]
    return np.asarray(win @ _dec_filter(), dtype=np.float32)


def _frames_from(x: np.ndarray, x_low: np.ndarray, first: int, count: int,
                 offset: int = 0, offset_low: int = 0, plan: Plan | None = None
                 ) -> np.ndarray:
    """Frames ``first .. first + count`` from signals that start at sample ``offset``
    (``offset_low`` at LOW_RATE) of the zero-padded clip; both padded far enough."""
    win, win_low, f_hi, f_lo, n_low, k_hi, k_lo = plan or _plan()
    out = np.empty((count, n_low + f_hi.shape[0]), dtype=np.float32)
    if count == 0:
        return out
    from scipy import fft as sfft

    start = first * HOP - N_FFT // 2 - offset
    seg = x[start: start + (count - 1) * HOP + N_FFT]
    fr = np.lib.stride_tricks.sliding_window_view(seg, N_FFT)[::HOP]
    spec = sfft.rfft(fr * win, workers=1)[:, :k_hi]
    out[:, n_low:] = (f_hi @ np.abs(spec).T).T
    start_low = first * HOP_LOW + RIGHT_LOW - N_FFT_LOW - offset_low
    seg_low = x_low[start_low: start_low + (count - 1) * HOP_LOW + N_FFT_LOW]
    fr_low = np.lib.stride_tricks.sliding_window_view(seg_low, N_FFT_LOW)[::HOP_LOW]
    spec_low = sfft.rfft(fr_low * win_low, workers=1)[:, :k_lo]
    out[:, :n_low] = (f_lo @ np.abs(spec_low).T).T
    np.multiply(out, LOG_GAIN, out=out)
    np.log1p(out, out=out)
    return out


_PAD_LOW = N_FFT_LOW  # low-rate samples before the clip the first frame reaches back to
_PAD = DECIMATE * _PAD_LOW + DEC_HALF  # SAMPLE_RATE samples before the clip (zeros)


def features(audio: np.ndarray, sr: float, quality: str = "HQ") -> np.ndarray:
    """float32 [T, N_BINS] for mono or multichannel audio at any rate; T = one frame
    per complete hop at SAMPLE_RATE (0 for clips shorter than 23 ms). ``quality``: the
    soxr resampler's (the model was trained on "HQ"; the live path uses "LQ", whose
    stream lags 3 ms instead of 76)."""
    return features_range(audio, sr, LOWEST_MIDI, HIGHEST_MIDI, quality)


def features_range(audio: np.ndarray, sr: float, low_midi: int, high_midi: int,
                   quality: str = "HQ") -> np.ndarray:
    """``features`` over another pitch range (three bins per semitone, the same
    filters: ``features`` is the slice of a wider range)."""
    plan = _plan(low_midi, high_midi)
    x = resample(to_mono(audio), sr, quality)
    count = n_frames(x.size)
    if count == 0:
        return np.zeros((0, BINS_PER_SEMITONE * (high_midi - low_midi + 1)), dtype=np.float32)
    xp = np.concatenate([np.zeros(_PAD, np.float32), x,
                         np.zeros(RIGHT_SAMPLES + DEC_HALF + HOP, np.float32)])
    x_low = _decimate(xp, -_PAD, -_PAD_LOW, (count - 1) * HOP_LOW + RIGHT_LOW)
    return _frames_from(xp, x_low, 0, count, -_PAD, -_PAD_LOW, plan)


class StreamingFeatures:
    """Frames from audio pushed block by block, equal to ``features`` of the whole
    stream at the same resampling ``quality``. A frame comes out once the audio
    ``LATENCY_S`` past its centre has arrived (plus the resampler's lag when the rate
    is not SAMPLE_RATE: about 3 ms at "LQ", the live default); ``flush()`` ends the
    stream (zero-pads like ``features``)."""

    def __init__(self, sr: float, quality: str = "LQ") -> None:
        if sr <= 0:
            raise ValueError(f"sample rate must be positive, not {sr}")
        self.sr = float(sr)
        self.quality = quality
        self.reset()

    def reset(self) -> None:
        import soxr

        self._rs = (None if self.sr == SAMPLE_RATE
                    else soxr.ResampleStream(self.sr, SAMPLE_RATE, 1, dtype="float32",
                                             quality=self.quality))
        self._buf = np.zeros(_PAD, np.float32)  # signal from sample self._off on
        self._off = -_PAD
        self._low = np.zeros(0, np.float32)  # low-rate signal from self._off_low on
        self._off_low = -_PAD_LOW
        self._j = -_PAD_LOW  # next low-rate sample to compute
        self._n = 0  # samples received at SAMPLE_RATE
        self._next = 0  # next frame to emit
        self._ended = False

    @property
    def frames_emitted(self) -> int:
        return self._next

    def push(self, block: np.ndarray) -> np.ndarray:
        """New frames [k, N_BINS] (k may be 0) after this block of audio."""
        if self._ended:
            raise RuntimeError("the stream was flushed; call reset() first")
        x = to_mono(block)
        if self._rs is not None:
            x = np.asarray(self._rs.resample_chunk(x), dtype=np.float32)
        return self._feed(x, False)

    def flush(self) -> np.ndarray:
        """The frames still due at the end of the stream (zero-padded like ``features``)."""
        if self._ended:
            return np.zeros((0, N_BINS), np.float32)
        x = np.zeros(0, np.float32)
        if self._rs is not None:
            x = np.asarray(self._rs.resample_chunk(x, last=True), dtype=np.float32)
        out = self._feed(x, True)
        self._ended = True
        return out

    def _feed(self, x: np.ndarray, last: bool) -> np.ndarray:
        self._n += x.size
        self._buf = np.concatenate([self._buf, x])
        if last:
            end = n_frames(self._n)
            self._buf = np.concatenate(
                [self._buf, np.zeros(RIGHT_SAMPLES + DEC_HALF + HOP, np.float32)])
            j_end = max(self._j, (end - 1) * HOP_LOW + RIGHT_LOW)
        else:
            # Low-rate sample j needs the signal up to 4 j + DEC_HALF.
            j_end = max(self._j, (self._n - DEC_HALF - 1) // DECIMATE + 1)
        self._low = np.concatenate([self._low, _decimate(self._buf, self._off, self._j, j_end)])
        self._j = j_end
        if not last:
            # Frame i needs samples up to i*HOP + RIGHT_SAMPLES and low-rate samples up
            # to i*HOP_LOW + RIGHT_LOW, and stays within the clip's complete hops.
            by_hi = (self._n - RIGHT_SAMPLES) // HOP + 1
            by_lo = (self._j - RIGHT_LOW) // HOP_LOW + 1
            end = min(n_frames(self._n), by_hi, by_lo)
        count = max(0, end - self._next)
        out = _frames_from(self._buf, self._low, self._next, count, self._off, self._off_low)
        self._next += count
        # Keep only what the next frame and the next low-rate sample reach back to.
        keep_from = min(self._next * HOP - N_FFT // 2,
                        DECIMATE * self._j - DEC_HALF) - self._off
        if keep_from > 0:
            self._buf = self._buf[keep_from:]
            self._off += keep_from
        keep_low = self._next * HOP_LOW + RIGHT_LOW - N_FFT_LOW - self._off_low
        if keep_low > 0:
            self._low = self._low[keep_low:]
            self._off_low += keep_low
        return out
