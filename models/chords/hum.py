"""Mains hum: found by its lines at the multiples of 50 or 60 Hz, taken out by notches.

A guitar's single-coil pickup, an amplifier or a ground loop adds the mains frequency
and its harmonics to the signal. The chord model never heard it in training and reads
50 Hz hum as G:7 (50 Hz is G1 35 cents sharp, and its harmonics up to 350 Hz lie near
G, D, B and F): a file of hum alone at -50 dBFS was G:7 from end to end, and the
60 validation clips with 50 Hz hum added at -30 dBFS lost 10 points of majmin (0.954
-> 0.855; the live display 8 points), played at -30 dBFS over hum at -50 dBFS 10
points (0.957 -> 0.857; MODEL.md, "Mains hum notched out": 0.928 and 0.937 with the
notches).

``HumDetector`` (streaming, any sample rate: resampled to ``RATE``) takes spectra of
``N_FFT`` samples (1.86 s: 0.54 Hz bins) and finds in each the lines near a multiple
of 50 or 60 Hz: local maxima ``LINE_DB`` above the median of their neighbourhood,
each placed by parabolic interpolation. Hum holds its frequency to a few hundredths
of a hertz for the whole recording and sounds whether or not anyone plays; a note
must be tuned within a few cents of a mains multiple (50 Hz is G 35 cents sharp, 60
Hz a quarter-tone between A# and B) to put a line there, and only while it sounds.
The mains frequency is the one, within ``SEARCH_HZ`` of 50 or 60 Hz, whose harmonics
are lines in the most spectra, placed exactly by the lines on its two lowest
harmonics (``LOW_HARMONICS``); there is hum when one of those two is a line in
``PRESENT`` (30 %) of the spectra. Every harmonic up to ``F_MAX`` that is a line in
``SEEN`` (5 %) of them is notched (the upper ones are often heard only in the rests).
On the 154 validation clips, clean, hum was found in 2 (both FreePats renders, the
notches moved their majmin by +0.04 and +0.05 s), in none of the 97 test clips; with
50 Hz hum added to the 60 `valid` clips in 54 at -30 dBFS, 36 at -40 (where the music
hides it in most spectra, and it costs 0.4 points of majmin), 59 under playing at
-30 dBFS. Cost: about 3,300 times real time on one core (the analysis runs at about
300).

``HumFilter`` removes those harmonics with one IIR notch each (``scipy.signal``),
``NOTCH_HZ`` wide plus ``NOTCH_HZ_PER_HARMONIC`` per harmonic (the mains wanders, the
k-th harmonic k times as far): 44 dB off a steady hum below 2 kHz, 31 dB when the
mains wanders by 0.01 Hz, 22 dB by 0.03 Hz; about 8 % of the spectrum below 2 kHz
when all 40 harmonics of 50 Hz are notched, and the notes, which lie off the mains'
multiples, lose under 0.5 dB. ``LiveHumRemover`` does both on a live input.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from models.chords.windowed_frames import WindowedFrames

RATE = 4410
N_FFT = 8192  # 1.86 s at RATE: 0.54 Hz bins
LIVE_HOP = N_FFT // 2  # a file's spectra follow each other; live ones overlap by half
F_MAX = 2000.0  # Hz: harmonics looked for (and notched) up to here
MAINS = (50.0, 60.0)
SEARCH_HZ = 0.3  # grids hold their frequency within 0.2 Hz
SEARCH_STEP_HZ = 0.01
BLOCK_BINS = 15  # 8.1 Hz: a line's neighbourhood is its block and the two beside it
LINE_DB = 12.0
LINE_TOLERANCE_HZ = 0.1  # a line this close to a harmonic is on it
LINE_TOLERANCE_PER_HARMONIC = 0.02  # the k-th harmonic wanders k times as far
LOW_HARMONICS = 2
PRESENT = 0.3  # a low harmonic a line in this share of the spectra: hum
SEEN = 0.05  # once there is hum, every harmonic a line in this share is notched
MIN_FRAMES = 2
LIVE_WINDOW = 8  # spectra (7.4 s) the live detector looks at
MAINS_MOVED_HZ = 0.02  # a live estimate this far from the notches' mains rebuilds them
NOTCH_HZ = 1.0
NOTCH_HZ_PER_HARMONIC = 0.15
PRIME_S = 2.0  # the notches settle within about 1 s of a hum's onset
PRIME_PERIODS_S = 1.0  # the longest whole number of mains periods looped to prime them
SILENT = 1e-7  # a frame this quiet (peak magnitude) has no lines to count


@dataclass(frozen=True)
class Hum:
    """Mains hum found in a recording: its frequency and the harmonics (Hz) present."""

    mains_hz: float
    harmonics: tuple[float, ...]

    def scaled(self, factor: float) -> Hum:
        """The same hum in a recording read ``factor`` times faster (tuning correction)."""
        return Hum(self.mains_hz * factor, tuple(f * factor for f in self.harmonics))


class HumDetector:
    """``push`` mono blocks at ``sample_rate``; ``hum`` is the hum found so far (None
    when there is none). ``window`` > 0 counts only the last ``window`` spectra (live
    input: hum that comes with a cable plugged in later is found later); spectra start
    every ``hop`` samples at ``RATE``."""

    def __init__(self, sample_rate: float, window: int = 0, hop: int = N_FFT) -> None:
        self.sample_rate = float(sample_rate)
        self._frames_in = WindowedFrames(self.sample_rate, RATE, N_FFT, hop, quality="LQ")
        df = RATE / N_FFT
        # every bin near a harmonic of a mains frequency within the search
        cand: set[int] = set()
        for mains in MAINS:
            k = np.arange(1, int(F_MAX // (mains - SEARCH_HZ)) + 1)
            lo = np.floor(k * (mains - SEARCH_HZ) / df).astype(int) - 1
            hi = np.ceil(k * (mains + SEARCH_HZ) / df).astype(int) + 1
            for a, b in zip(lo, hi, strict=True):
                cand.update(range(a, b + 1))
        self._bins = np.array(sorted(cand))
        self._top = int(self._bins[-1]) + 2 * BLOCK_BINS + 2
        # the lines (Hz, sorted) of each spectrum counted
        self._lines: deque[np.ndarray] = deque(maxlen=window if window > 0 else None)
        self.spectra = 0  # spectra taken so far (the window keeps the last ones)
        self._grid = {m: np.arange(m - SEARCH_HZ, m + SEARCH_HZ + 1e-9, SEARCH_STEP_HZ)
                      for m in MAINS}

    def push(self, mono: np.ndarray) -> None:
        for frame in self._frames_in.push(mono):
            self._lines.append(self._spectrum_lines(frame))
            self.spectra += 1

    def _spectrum_lines(self, frame: np.ndarray) -> np.ndarray:
        """The frequencies (Hz) of the spectral lines near mains harmonics: local
        maxima ``LINE_DB`` above their neighbourhood's median, placed by parabolic
        interpolation of the log magnitude."""
        import scipy.fft

        mag = np.abs(scipy.fft.rfft(frame))[: self._top]
        if mag.max(initial=0.0) < SILENT:
            return np.zeros(0)
        db = 20.0 * np.log10(mag + 1e-12)
        b = self._bins
        peak = (db[b] > db[b - 1]) & (db[b] >= db[b + 1])
        b = b[peak]
        if b.size == 0:
            return np.zeros(0)
        # the neighbourhood's median, from medians of blocks of BLOCK_BINS: one
        # partition of the spectrum instead of one per peak
        n = db.size // BLOCK_BINS * BLOCK_BINS
        block = np.median(db[:n].reshape(-1, BLOCK_BINS), axis=1)
        j = np.minimum(b // BLOCK_BINS, block.size - 2)
        lo, mid, hi = block[np.maximum(j - 1, 0)], block[j], block[j + 1]
        median3 = np.maximum(np.minimum(lo, mid), np.minimum(np.maximum(lo, mid), hi))
        b = b[db[b] - median3 > LINE_DB]
        a, c, e = db[b - 1], db[b], db[b + 1]
        denom = a - 2 * c + e
        shift = np.where(denom < 0, 0.5 * (a - e) / np.where(denom < 0, denom, -1.0), 0.0)
        return np.sort((b + np.clip(shift, -0.5, 0.5)) * (RATE / N_FFT))

    @property
    def frames(self) -> int:
        """Spectra counted (within the window)."""
        return len(self._lines)

    def _shares(self, mains: np.ndarray, k: np.ndarray) -> np.ndarray:
        """[len(mains), len(k)]: the share of spectra in which a line lies on the k-th
        harmonic of each mains frequency."""
        target = mains[:, None] * k[None, :]
        tol = LINE_TOLERANCE_HZ + LINE_TOLERANCE_PER_HARMONIC * k
        hits = np.zeros(target.shape)
        for lines in self._lines:
            if lines.size:
                hits += _nearest_distance(lines, target) <= tol
        return hits / max(1, len(self._lines))

    def harmonic_shares(self) -> tuple[float, np.ndarray]:
        """The mains frequency whose harmonics are lines most often, and the share of
        spectra in which each of its harmonics (1, 2, ... up to ``F_MAX``) is one."""
        best: tuple[float, float, np.ndarray] | None = None
        for nominal, grid in self._grid.items():
            k = np.arange(1, int(F_MAX // (nominal + SEARCH_HZ)) + 1)
            share = self._shares(grid, k)
            score = share.sum(axis=1) - np.abs(grid - nominal) * 1e-3
            j = int(np.argmax(score))
            if best is None or score[j] > best[0]:
                best = (float(score[j]), float(grid[j]), k)
        assert best is not None
        _, mains, k = best
        # Within a line's tolerance many mains frequencies score alike, and notes'
        # partials on high harmonics break the tie at random: the lines on the low
        # harmonics say where the mains is.
        heard = []  # the mains frequency each line on a low harmonic puts it at
        for h in k[:LOW_HARMONICS]:
            tol = LINE_TOLERANCE_HZ + LINE_TOLERANCE_PER_HARMONIC * h
            heard += [lines[np.abs(lines - mains * h) <= tol] / h for lines in self._lines]
        if heard and (found := np.concatenate(heard)).size:
            # (grids hold their frequency within the search: a median outside it is
            # notes', not the mains')
            nominal = min(MAINS, key=lambda m: abs(m - mains))
            mains = float(np.clip(np.median(found), nominal - SEARCH_HZ, nominal + SEARCH_HZ))
        return mains, self._shares(np.array([mains]), k)[0]

    @property
    def hum(self) -> Hum | None:
        if self.frames < MIN_FRAMES:
            return None
        mains, share = self.harmonic_shares()
        if share[:LOW_HARMONICS].max(initial=0.0) < PRESENT:
            return None
        k = np.flatnonzero(share >= SEEN) + 1
        return Hum(round(mains, 3), tuple(float(h) * mains for h in k))


def _nearest_distance(lines: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The distance from every ``target`` to the nearest of the sorted ``lines``."""
    i = np.clip(np.searchsorted(lines, target), 1, max(1, lines.size - 1))
    near = np.abs(lines[np.minimum(i, lines.size - 1)] - target)
    return np.minimum(near, np.abs(lines[i - 1] - target))


def detect(mono: np.ndarray, sample_rate: float) -> Hum | None:
    """The hum in a whole mono recording (None when there is none)."""
    det = HumDetector(sample_rate)
    det.push(mono)
    return det.hum


class HumFilter:
    """Notches at ``hum``'s harmonics for audio at ``sample_rate``, block by block
    (the filter's state carries over); harmonics at or above the Nyquist frequency
    are left out.

    Started from rest, the notches let a hum that is there from the first sample
    through for about a second (hum alone at -50 dBFS: -59 dB in the first quarter
    second, -77 once settled), which the chord model read as G:maj. So the first block
    primes them: the hum repeats every mains period, so a whole number of periods
    from the block's start, looped for ``PRIME_S``, is the hum as it sounded before
    the recording began, and the recording starts with the notches settled on it
    (a first block shorter than one period, 20 ms at 50 Hz, leaves them at rest).
    (A mirrored start, as ``scipy.signal.filtfilt`` pads, does not do it: each
    harmonic comes back with another phase, and rings the notches again.)"""

    def __init__(self, hum: Hum, sample_rate: float) -> None:
        from scipy import signal

        self.hum = hum
        sections = []
        for f in hum.harmonics:
            if f >= 0.49 * sample_rate:
                continue
            k = max(1, round(f / hum.mains_hz))
            width = NOTCH_HZ + NOTCH_HZ_PER_HARMONIC * k
            b, a = signal.iirnotch(f, f / width, fs=sample_rate)
            sections.append(np.concatenate([b, a]))
        self._sos = np.array(sections, dtype=np.float64).reshape(-1, 6)
        self._zi = np.zeros((self._sos.shape[0], 2))
        self._rate = float(sample_rate)
        self._period = self._rate / hum.mains_hz
        self._prime_n = round(PRIME_S * float(sample_rate))
        self._primed = False

    def apply(self, x: np.ndarray) -> np.ndarray:
        if self._sos.shape[0] == 0 or x.size == 0:
            return x
        from scipy import signal

        if not self._primed:
            self._primed = True
            self._prime(x)
        y, self._zi = signal.sosfilt(self._sos, x, zi=self._zi)
        return np.asarray(y, dtype=np.float32)

    def _prime(self, x: np.ndarray) -> None:
        from scipy import signal

        # the whole number of periods (within the block and PRIME_PERIODS_S) whose
        # length is closest to a whole number of samples, so the loop has no seam
        fit = min(x.size, PRIME_PERIODS_S * self._rate)
        counts = np.arange(1, int(fit / self._period) + 1)
        if counts.size == 0:
            return
        lengths = counts * self._period
        n = round(float(lengths[int(np.argmin(np.abs(lengths - np.round(lengths))))]))
        head = np.asarray(x[:n], dtype=np.float64)
        loop = np.tile(head, -(-self._prime_n // n))
        _, self._zi = signal.sosfilt(self._sos, loop, zi=self._zi)


class LiveHumRemover:
    """Hum taken out of a live input as it is found: ``apply`` each mono block in
    order. The detector looks at the last ``LIVE_WINDOW`` spectra (7 s); the notches
    only grow (a harmonic heard once stays notched, and the filter is rebuilt, which
    lets the hum through for a few tenths of a second, only when they change) until
    ``reset``."""

    def __init__(self, sample_rate: float) -> None:
        self.sample_rate = float(sample_rate)
        self.reset()

    @property
    def hum(self) -> Hum | None:
        """The hum being notched out (None when none was found)."""
        return None if self._filter is None else self._filter.hum

    def reset(self) -> None:
        self._detector = HumDetector(self.sample_rate, window=LIVE_WINDOW, hop=LIVE_HOP)
        self._filter: HumFilter | None = None
        self._frames_seen = 0

    def apply(self, mono: np.ndarray) -> np.ndarray:
        self._detector.push(mono)
        if self._detector.spectra != self._frames_seen:
            self._frames_seen = self._detector.spectra
            self._update(self._detector.hum)
        return mono if self._filter is None else self._filter.apply(mono)

    def _update(self, found: Hum | None) -> None:
        if found is None:
            return
        now = self.hum
        if now is not None and abs(now.mains_hz - found.mains_hz) <= MAINS_MOVED_HZ:
            mains = now.mains_hz
            have = {round(f / mains) for f in now.harmonics}
            new = {round(f / mains) for f in found.harmonics}
            if new <= have:
                return
            found = Hum(mains, tuple(float(k) * mains for k in sorted(have | new)))
        self._filter = HumFilter(found, self.sample_rate)
