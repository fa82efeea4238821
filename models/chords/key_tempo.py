"""Key, tempo, beats and bars beside the chords.

- Key: Krumhansl-Schmuckler correlation of a 12-bin pitch-class profile with the 24
  rotated key profiles (Temperley's by default, Krumhansl-Kessler available). The
  profile comes from the decoded chords (pitch classes weighted by duration, the bass
  counted once more), which is what a musician hears as the harmony and costs nothing.
- Tempo and beats: a global tempo from the autocorrelation of an onset envelope
  computed from the chord features themselves (positive spectral flux of the log
  spectrogram, so no second spectrogram is taken), then the dynamic-programming beat
  tracker of librosa (Ellis 2007) at that tempo; the tempo reported is the one the
  beats keep, and the beats move onto the chord changes where those agree they lie
  off them.
- Bars: the bar length (3 or 4 beats) and the downbeat phase (which of every
  ``beats_per_bar`` beats starts a bar) that put the most chord changes on bar lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from models.chords.vocabulary import FLAT_NAMES, SHARP_NAMES, Chord

# A light spread of each onset to its neighbouring frames before the autocorrelation
# (why: global_tempo). [0.25, 0.5, 0.25] put 3 more of the 168 validation clips of
# fixed tempo at half or double their tempo; this one, 1 (119 -> 118 at their level).
ACF_SMOOTHING = np.array([0.15, 0.7, 0.15])

# Bar lengths told apart (beats; the first is the default) and how much better another
# must explain the chord changes to replace it.
METERS = (4, 3)
METER_PREFERENCE = 1.4
# The fewest chord changes the bar length or a beat shift is judged by.
MIN_CHANGES = 4
# Beats move onto the chord changes when the changes agree this well (mean resultant
# length of their phases within the beat) that they lie at least this far off them
# (periods). Chosen on meter_valid, valid and valid_freepats (0.4 to 0.7 by 0.1 and
# 0.1 to 0.3: BENCHMARKS.md, chords_meter).
BEAT_SHIFT_AGREEMENT = 0.5
BEAT_SHIFT_MIN = 0.2

# Temperley (2001, Kostka-Payne corpus) and Krumhansl-Kessler (1982), tonic first.
PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "temperley": ((5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0),
                  (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0)),
    "krumhansl": ((6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
                  (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)),
}
# Tonics whose key signature has flats (F major .. Gb major; D minor .. Eb minor).
_FLAT_MAJOR = frozenset({5, 10, 3, 8, 1, 6})
_FLAT_MINOR = frozenset({2, 7, 0, 5, 10, 3})


@dataclass(frozen=True)
class KeyEstimate:
    tonic: int  # pitch class 0..11
    mode: str  # "major" | "minor"
    confidence: float  # Pearson correlation with the winning profile, -1..1

    @property
    def prefers_flats(self) -> bool:
        return self.tonic in (_FLAT_MAJOR if self.mode == "major" else _FLAT_MINOR)

    @property
    def tonic_name(self) -> str:
        return (FLAT_NAMES if self.prefers_flats else SHARP_NAMES)[self.tonic]

    @property
    def label(self) -> str:
        """mir_eval.key notation, e.g. ``Eb major``."""
        return f"{self.tonic_name} {self.mode}"


def prefers_flats(tonic: int, mode: str) -> bool:
    """Whether the key's signature is written with flats (chord names follow it)."""
    return KeyEstimate(tonic % 12, mode, 0.0).prefers_flats


def key_from_profile(pcp: np.ndarray, profile: str = "temperley") -> KeyEstimate | None:
    """The key whose rotated profile correlates best with ``pcp`` (12 weights, C first);
    None for an empty or flat profile (no harmony: no key)."""
    v = np.asarray(pcp, dtype=np.float64)
    if v.shape != (12,):
        raise ValueError(f"a pitch-class profile has 12 bins, not {v.shape}")
    if not np.isfinite(v).all() or v.std() < 1e-9:
        return None
    best: KeyEstimate | None = None
    for mode, prof in zip(("major", "minor"), PROFILES[profile], strict=True):
        p = np.asarray(prof)
        for tonic in range(12):
            r = float(np.corrcoef(v, np.roll(p, tonic))[0, 1])
            if best is None or r > best.confidence:
                best = KeyEstimate(tonic, mode, r)
    return best


def chord_profile(chords: Sequence[tuple[float, Chord]]) -> np.ndarray:
    """Duration-weighted pitch classes of (duration, chord) pairs; no-chord adds nothing."""
    pcp = np.zeros(12)
    for dur, chord in chords:
        if chord.is_no_chord or dur <= 0:
            continue
        for pc in chord.pitch_classes:
            pcp[pc] += dur
        pcp[chord.bass_pc] += dur
    return pcp


def detect_key(chords: Sequence[tuple[float, Chord]], profile: str = "temperley"
               ) -> KeyEstimate | None:
    return key_from_profile(chord_profile(chords), profile)


# ------------------------------------------------------------ tempo and beats ---


def onset_envelope(features: np.ndarray) -> np.ndarray:
    """Onset strength per frame: the summed increase of the log-magnitude bins from the
    previous frame (positive spectral flux), [T]."""
    f = np.asarray(features, dtype=np.float32)
    if f.shape[0] == 0:
        return np.zeros(0, np.float32)
    diff = np.diff(f, axis=0, prepend=f[:1])
    return np.maximum(diff, 0.0).sum(axis=1).astype(np.float32)


def global_tempo(envelope: np.ndarray, fps: float, start_bpm: float = 120.0,
                 std_octaves: float = 1.0, lo: float = 40.0, hi: float = 240.0) -> float | None:
    """One tempo (bpm) for the clip: the peak of the onset envelope's autocorrelation
    weighted by a log-normal prior around ``start_bpm`` (librosa's prior), from a
    single FFT. librosa's own estimate builds a local tempogram first, which cost more
    than the whole chord model here (0.3 s for 4 minutes)."""
    e = np.asarray(envelope, dtype=np.float64)
    n = e.size
    if n < 4:
        return None
    # Onsets spread over neighbouring frames, so that a beat period between two whole
    # frames still peaks at its own lag (clicks at 132 bpm, 19.6 frames apart, fall 19
    # and 20 frames apart: unsmoothed, lag 39, half the tempo, matched them best).
    e = np.convolve(e, ACF_SMOOTHING, mode="same")
    e = e - e.mean()
    m = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(e, m)
    ac = np.fft.irfft(np.abs(spec) ** 2, m)[1:n]
    bpm = 60.0 * fps / np.arange(1, n)
    ok = (bpm >= lo) & (bpm <= hi)
    if not ok.any() or ac[ok].max() <= 0:
        return None
    prior = np.exp(-0.5 * ((np.log2(bpm) - np.log2(start_bpm)) / std_octaves) ** 2)
    score = np.where(ok, ac * prior, -np.inf)
    return float(bpm[int(np.argmax(score))])


def track_beats(envelope: np.ndarray, fps: float, start_bpm: float = 120.0,
                tightness: float = 100.0) -> tuple[float | None, np.ndarray]:
    """Tempo (bpm) and beat times (s, frame centres): ``global_tempo``, then Ellis's
    dynamic-programming beat tracker at that tempo (librosa.beat.beat_track's
    algorithm, re-implemented: importing librosa.beat compiles an uncached numba
    function, 3 to 25 s per process here). No tempo and no beats for a clip without
    onsets or shorter than two seconds."""
    env = np.asarray(envelope, dtype=np.float64)
    if env.size < 2 * fps or float(env.max(initial=0.0)) <= 0.0:
        return None, np.zeros(0)
    bpm = global_tempo(env, fps, start_bpm)
    if bpm is None:
        return None, np.zeros(0)
    period = round(60.0 * fps / bpm)  # frames per beat
    env = env / (env.std(ddof=1) + 1e-12)
    win = np.exp(-0.5 * (np.arange(-period, period + 1) * 32.0 / period) ** 2)
    local = np.convolve(env, win, mode="same")
    backlink, cum = _beat_dp(local, float(period), float(tightness))
    # the last beat: the last local maximum of the cumulative score above half their median
    peaks = np.flatnonzero((cum[1:-1] > cum[:-2]) & (cum[1:-1] >= cum[2:])) + 1
    if peaks.size == 0:
        return None, np.zeros(0)
    good = peaks[cum[peaks] >= 0.5 * np.median(cum[peaks])]
    n = int(good[-1])
    frames = []
    while n >= 0:
        frames.append(n)
        n = int(backlink[n])
    beats = np.asarray(frames[::-1], dtype=np.int64)
    # drop weak beats at both ends (below half the RMS of the beats' local score)
    smooth = np.convolve(local[beats], np.hanning(5), mode="same")
    thresh = 0.5 * float(np.sqrt(np.mean(smooth ** 2)))
    loud = np.flatnonzero(local > thresh)
    if loud.size == 0:
        return None, np.zeros(0)
    beats = beats[(beats >= loud[0]) & (beats <= loud[-1])]
    if beats.size < 2:
        return None, np.zeros(0)
    return _tempo_of_beats(beats, bpm, fps), beats / fps


def _tempo_of_beats(beats: np.ndarray, bpm: float, fps: float) -> float:
    """The tempo the tracked beats keep: the slope of a least-squares line through
    them (a beat left out counts as the gap it leaves). The autocorrelation's peak is
    a whole number of frames, so at 130 bpm its steps are 6 bpm apart; the line through
    a clip's beats is a hundred times finer (the evaluation sets of steady tempo,
    BENCHMARKS.md "chords_meter": median error 1.1 % before, 0.01 % after). ``bpm``
    stands when the line strays more than 10 % from it."""
    if beats.size < 4:
        return bpm
    period = 60.0 * fps / bpm
    # Each gap counts as the whole number of beats it spans, rounded gap by gap (a
    # period 2 % off, rounded over the whole clip, would skip an index halfway).
    gaps = np.diff(beats)
    steps = np.maximum(1.0, np.round(gaps / float(np.median(gaps))))
    index = np.concatenate([[0.0], np.cumsum(steps)])
    slope = float(np.polyfit(index, beats.astype(np.float64), 1)[0])
    if slope <= 0 or abs(slope / period - 1.0) > 0.1:
        return bpm
    return 60.0 * fps / slope


@njit(cache=True)
def _beat_dp(local, period, tightness):
    """Best predecessor of every frame as a beat, half to two periods back, scored by
    the local onset score minus the squared log deviation from the period."""
    n = local.shape[0]
    backlink = np.full(n, -1, np.int64)
    cum = np.zeros(n)
    thresh = 0.01 * local.max()
    first = True
    log_p = np.log(period)
    for i in range(n):
        best = -np.inf
        where = -1
        lo = i - int(np.round(2 * period))
        hi = i - int(np.round(period / 2))
        for loc in range(hi, lo - 1, -1):
            if loc < 0:
                break
            score = cum[loc] - tightness * (np.log(i - loc) - log_p) ** 2
            if score > best:
                best = score
                where = loc
        cum[i] = local[i] + best if where >= 0 else local[i]
        if first and local[i] < thresh:
            backlink[i] = -1
        else:
            backlink[i] = where
            first = False
    return backlink, cum


def _change_weights(b: np.ndarray, change_times: Sequence[float]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(the beat nearest each chord change, the change's weight): changes within a
    third of a beat period count, each weighted by its closeness."""
    period = float(np.median(np.diff(b)))
    ch = np.asarray(change_times, dtype=np.float64)
    j = np.clip(np.searchsorted(b, ch), 1, b.size - 1)
    nearest = np.where(np.abs(b[j] - ch) < np.abs(b[j - 1] - ch), j, j - 1)
    dist = np.abs(b[nearest] - ch) / period
    return nearest, np.maximum(0.0, 1.0 - 3.0 * dist)


def _phase_scores(nearest: np.ndarray, weight: np.ndarray, beats_per_bar: int) -> np.ndarray:
    scores = np.zeros(beats_per_bar)
    np.add.at(scores, nearest % beats_per_bar, weight)
    return scores


def align_to_changes(beats: np.ndarray, change_times: Sequence[float],
                     min_agreement: float = BEAT_SHIFT_AGREEMENT,
                     min_shift: float = BEAT_SHIFT_MIN) -> np.ndarray:
    """The beats moved onto the chord changes when the changes agree that the beats
    sit off them: the beat tracker follows the loudest onsets, and a strum pattern's
    accents can fall on an off-beat, while chords change on the beat. The changes'
    phases within the beat (0..1 of a period) are averaged on the circle; when their
    agreement (the mean resultant length) reaches ``min_agreement`` and the mean is at
    least ``min_shift`` of a period from the beats, every beat moves by it."""
    b = np.asarray(beats, dtype=np.float64)
    if b.size < 4:
        return b
    period = float(np.median(np.diff(b)))
    ch = np.asarray(change_times, dtype=np.float64)
    ch = ch[(ch >= b[0] - period) & (ch <= b[-1] + period)]
    if ch.size < MIN_CHANGES:
        return b
    j = np.clip(np.searchsorted(b, ch, side="right") - 1, 0, b.size - 1)
    phase = (ch - b[j]) / period
    z = np.exp(2j * np.pi * phase).mean()
    if abs(z) < min_agreement:
        return b
    shift = float(np.angle(z)) / (2 * np.pi)  # -0.5 .. 0.5 of a period
    if abs(shift) < min_shift:
        return b
    moved = b + shift * period
    return moved[moved >= 0.0]


def beats_per_bar(beats: np.ndarray, change_times: Sequence[float],
                  meters: Sequence[int] = METERS, prefer: float = METER_PREFERENCE) -> int:
    """Beats in a bar, from where the harmony changes: for each candidate, the share of
    the changes' weight that its best downbeat phase holds, times the candidate (1 for
    changes spread evenly over the beats, the candidate itself when they all fall on
    bar lines). The first candidate (4) stands unless another scores ``prefer`` times
    as much: changes on every beat, or every other one, say nothing of 3 against 4,
    and most songs are in 4."""
    b = np.asarray(beats, dtype=np.float64)
    if b.size < 2 * max(meters) or len(change_times) < MIN_CHANGES:
        return int(meters[0])
    nearest, weight = _change_weights(b, change_times)
    total = float(weight.sum())
    if total <= 0:
        return int(meters[0])
    lift = {m: m * float(_phase_scores(nearest, weight, m).max()) / total for m in meters}
    best = max(meters[1:], key=lambda m: lift[m], default=meters[0])
    return int(best) if lift[best] > prefer * lift[meters[0]] else int(meters[0])


def downbeats(beats: np.ndarray, change_times: Sequence[float], beats_per_bar: int = 4
              ) -> np.ndarray:
    """Bar starts: every ``beats_per_bar``-th beat, from the phase whose beats lie
    closest to the chord changes (changes within a third of a beat period count, each
    weighted by its closeness). Phase 0 when there are no changes to go by."""
    b = np.asarray(beats, dtype=np.float64)
    if b.size == 0:
        return b
    if b.size < 2 or not len(change_times):
        return b[::beats_per_bar]
    nearest, weight = _change_weights(b, change_times)
    phase = int(np.argmax(_phase_scores(nearest, weight, beats_per_bar)))
    return b[phase::beats_per_bar]
