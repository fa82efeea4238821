"""Live chord recognition from an input stream, for the chord display.

``LiveRecognizer(sample_rate).push(block)`` takes audio blocks as they arrive (any size,
mono or multichannel) and returns a ``LiveChord`` whenever the displayed chord changes.
It runs ``features.StreamingFeatures`` and the causal model ``session.LiveNet``, then
smooths the frame posteriors so that the display does not flicker.

A quiet input is lifted towards a -12 dBFS peak, by at most 12 dB
(``input_level.LiveLevel``): the model was trained on louder clips and names a quiet
chord later and drops it sooner. Mains hum is notched out once heard (about 3 s;
``hum.LiveHumRemover``): the model reads 50 Hz hum alone as G:7. A player out of tune
(tuned to a recording, or to an old piano) is read as if in tune once the last 10 s
(``tuning.RecentTuning``, from 2 s on) are 20 cents off or more: the features then
come from a new stream at the rate that puts the input in tune, started 0.3 s back so
that its first frames are whole, and the chords keep the input's time line.

Smoothing, and what it costs in latency (frames are 1 / FPS = 23.2 ms):

- the bass head's vote (``decode.bass_evidence``, weight ``BASS_WEIGHT`` 0.5) added to
  the frame log-posteriors, as in the file decoder;
- an exponential moving average of the posteriors (``smoothing`` = weight of the old
  average, 0.3: a lag of 0.43 frames);
- hysteresis: a new chord replaces the displayed one when its smoothed posterior beats
  the displayed chord's by ``margin`` (0.3), for ``hold_frames`` consecutive frames (1);
- silence (loudest bin below -60 dBFS) lasting ``LIVE_SILENCE_S`` (0.25 s) is
  no-chord; the display turns to N that much after the playing stops.

Expected algorithmic latency from a chord change in the input to the new label, on
average (``latency_s``): half a hop for the change to reach a frame centre (11.6 ms) +
the features' window reaching ``features.LATENCY_S`` past the centre (49 ms) + the
model's look-ahead (``LiveNet.lookahead`` frames: 0 for the shipped model, whose live
branch has a causal trunk of its own) + the moving average (0.43 frames, 10 ms) + the
hold (``hold_frames - 1`` frames, 0) = about 71 ms, before the model's own reaction and
the margin. Measured on the 60 validation clips (frames timed by the arrival of their
256-sample input block at 48 kHz, no processing time; MODEL.md): median 146 ms to the
right label, 2,580 labels shown for 1,009 reference chords; with the earlier smoothing
0.4, 157 ms and 2,371 labels; the earlier model (one frame of look-ahead) 180 ms.

Memory is fixed: the feature and model buffers are trimmed as frames come out, and the
history is a ring of ``history`` chords.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.chords.decode import BASS_THRESHOLD, BLANK, bass_evidence
from models.chords.hum import LiveHumRemover
from models.chords.input_level import LiveLevel
from models.chords.runtime import SILENCE_LEVEL
from models.chords.tuning import CORRECT_MIN_CENTS, RecentTuning
from models.chords.vocabulary import N_INDEX, NUM_CLASSES, from_index

# Tuned on the 60 validation clips (MODEL.md, live latency).
HOLD_FRAMES = 1
SMOOTHING = 0.3
MARGIN = 0.3
# The bass head's vote (decode.bass_evidence), as in the file decoder: in a down-strum
# the bass sounds first. Validation medians 146 against 157 ms (valid) and 135 against
# 140 ms (valid_music21) with 0.5 against none; the display's majmin +0.4 / -0.3.
BASS_WEIGHT = 0.5
HISTORY = 64
# Silence (below -60 dBFS) this long shows no-chord; shorter gaps (between strums,
# 70 to 120 ms on rendered guitars) are left to the model.
LIVE_SILENCE_S = 0.25
# Tuning: a player tuned to a recording (the app says when it is off) or to an old
# piano. The model names chords a semitone high from about +40 cents, so the input is
# read as if in tune once the last 10 s (tuning.RecentTuning) are CORRECT_MIN_CENTS
# off, after at least LIVE_TUNING_MIN_S of them; the correction moves when the
# estimate moves LIVE_RETUNE_CENTS from it, and ends under CORRECT_MIN_CENTS minus
# that.
LIVE_TUNING_MIN_S = 2.0
LIVE_RETUNE_CENTS = 5.0
# A new feature stream (at the corrected rate) starts with this much of the input it
# has not heard, so that its first frames are whole (the long window is 186 ms).
PREROLL_S = 0.3
assert BLANK == NUM_CLASSES  # the live graph has no blank: its classes are the frame head's


@dataclass(frozen=True)
class LiveChord:
    """A displayed chord: Harte ``label``; ``root`` and ``bass`` pitch classes (-1 for
    N; ``bass == root`` in root position); ``quality`` ('' for N); ``confidence``
    (smoothed posterior, 0..1); ``since``: input seconds at which it began (the centre
    of the first frame of its winning run)."""

    label: str
    root: int
    quality: str
    bass: int
    confidence: float
    since: float

    @property
    def is_no_chord(self) -> bool:
        return self.root < 0


def _chord_of(index: int, bass_pc: int, confidence: float, since: float) -> LiveChord:
    chord = from_index(index)
    if bass_pc >= 0 and not chord.is_no_chord:
        chord = from_index(index, (bass_pc - chord.root) % 12)
    return LiveChord(chord.label(), chord.root, chord.quality if chord.root >= 0 else "",
                     chord.bass_pc, float(min(1.0, max(0.0, confidence))), since)


class ChordSmoother:
    """The display logic on its own: frame posteriors in, a LiveChord out when the
    displayed chord changes (moving average, then hysteresis; module docstring)."""

    def __init__(self, *, hold_frames: int = HOLD_FRAMES, smoothing: float = SMOOTHING,
                 margin: float = MARGIN, bass_threshold: float = BASS_THRESHOLD,
                 history: int = HISTORY, bass_weight: float = BASS_WEIGHT) -> None:
        if not 0 <= smoothing < 1:
            raise ValueError(f"smoothing must be in [0, 1), not {smoothing}")
        if hold_frames < 1:
            raise ValueError(f"hold_frames must be at least 1, not {hold_frames}")
        self.hold_frames = hold_frames
        self.smoothing = smoothing
        self.margin = margin
        self.bass_threshold = bass_threshold
        self.bass_weight = bass_weight
        self._history: deque[LiveChord] = deque(maxlen=max(1, history))
        self.reset()

    def reset(self) -> None:
        self._avg = np.zeros(NUM_CLASSES, np.float64)
        self._avg[N_INDEX] = 1.0
        self._bass_avg = np.zeros(13, np.float64)
        self._bass_avg[12] = 1.0
        self._cand: tuple[int, int] | None = None
        self._cand_run = 0
        self._cand_since = 0.0
        self._shown = (N_INDEX, -1)
        self._current = _chord_of(N_INDEX, -1, 1.0, 0.0)
        self._history.clear()

    @property
    def lag_frames(self) -> float:
        """Average delay (frames) the moving average and the hold add to a change."""
        return self.smoothing / (1.0 - self.smoothing) + (self.hold_frames - 1)

    @property
    def current(self) -> LiveChord:
        return self._current

    @property
    def history(self) -> list[LiveChord]:
        return list(self._history)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        idx = np.argsort(self._avg)[::-1][:k]
        return [(from_index(int(i)).label(), float(self._avg[i])) for i in idx]

    def step(self, logp: np.ndarray, bass_logp: np.ndarray, t: float, quiet: bool = False
             ) -> LiveChord | None:
        """One frame: ``logp`` [157] and ``bass_logp`` [13] log-posteriors of the frame
        centred at ``t`` seconds; ``quiet``: a silent frame (no-chord)."""
        a = self.smoothing
        if quiet:
            p = np.zeros(NUM_CLASSES)
            p[N_INDEX] = 1.0
            pb = np.zeros(13)
            pb[12] = 1.0
        else:
            lp = logp.astype(np.float64)
            if self.bass_weight > 0:
                lp = lp + self.bass_weight * bass_evidence(bass_logp[None])[0]
            p = np.exp(lp - lp.max())
            p /= p.sum()
            pb = np.exp(bass_logp.astype(np.float64))
        self._avg = a * self._avg + (1 - a) * p
        self._bass_avg = a * self._bass_avg + (1 - a) * pb
        best = int(np.argmax(self._avg))
        key = (best, self._bass_of(best))
        shown_cls = self._shown[0]
        if key == self._shown:
            self._cand, self._cand_run = None, 0
            return None
        leads = best != shown_cls and self._avg[best] >= self._avg[shown_cls] + self.margin
        if not (leads or best == shown_cls):  # a close call: keep what is shown
            self._cand, self._cand_run = None, 0
            return None
        if key != self._cand:
            self._cand, self._cand_run, self._cand_since = key, 0, t
        self._cand_run += 1
        if self._cand_run < self.hold_frames:
            return None
        self._shown = key
        self._cand, self._cand_run = None, 0
        self._current = _chord_of(key[0], key[1], float(self._avg[key[0]]), self._cand_since)
        self._history.append(self._current)
        return self._current

    def _bass_of(self, index: int) -> int:
        """The bass pitch class to show for chord ``index``: an inversion only when the
        bass head is confident and names a chord tone other than the root."""
        if index == N_INDEX:
            return -1
        chord = from_index(index)
        pc = int(np.argmax(self._bass_avg[:12]))
        if (pc == chord.root or self._bass_avg[pc] < self.bass_threshold
                or pc not in chord.pitch_classes):
            return -1
        return pc


class LiveRecognizer:
    """Chords from a live input; see the module docstring for smoothing and latency."""

    def __init__(self, sample_rate: float, *, threads: int = 1,
                 model: str | Path | None = None, hold_frames: int = HOLD_FRAMES,
                 smoothing: float = SMOOTHING, margin: float = MARGIN,
                 bass_threshold: float = BASS_THRESHOLD, history: int = HISTORY) -> None:
        from models.chords import features as feat
        from models.chords.session import LiveNet

        self.smoother = ChordSmoother(hold_frames=hold_frames, smoothing=smoothing,
                                      margin=margin, bass_threshold=bass_threshold,
                                      history=history)
        self.sample_rate = float(sample_rate)
        self._feat = feat
        self._level = LiveLevel(sample_rate)
        self._dehum = LiveHumRemover(sample_rate)
        self.net = LiveNet.load(model, threads=threads)
        self._pending_silent: deque[bool] = deque()
        # the input time of each frame the model has not answered yet
        self._pending_times: deque[float] = deque()
        self._quiet_run = 0
        self._preroll = max(1, round(PREROLL_S * self.sample_rate))
        self._start_stream()
        self.silence_frames = max(1, round(LIVE_SILENCE_S * feat.FPS))

    @property
    def latency_s(self) -> float:
        """Expected algorithmic latency (s) of a change, on average (module docstring)."""
        frame = 1.0 / self._feat.FPS
        return (0.5 * frame + self._feat.LATENCY_S
                + (self.net.lookahead + self.smoother.lag_frames) * frame)

    @property
    def model_version(self) -> str:
        return str(self.net.meta.get("model_version", "unknown"))

    def _start_stream(self) -> None:
        """Back to the start: an empty stream, read in tune as it comes."""
        self._tuning = RecentTuning(self.sample_rate)
        self.tuning_cents = 0.0  # the correction applied: the input read this far off
        self._stretch = 1.0
        self._stream = self._feat.StreamingFeatures(self.sample_rate)
        self._stream_t0 = 0.0  # input time (s) of the stream's first sample
        self._stream_frame = 0  # frames the stream emitted
        self._last_t = -math.inf  # time of the last frame the model saw
        self._samples = 0  # input samples so far
        self._recent = np.zeros(0, np.float32)  # the last PREROLL_S of (lifted) input
        self._tuning_frames = 0

    def reset(self) -> None:
        """Forget the stream (a new input, or after a gap)."""
        self._level.reset()
        self._dehum.reset()
        self.net.reset()
        self.smoother.reset()
        self._pending_silent.clear()
        self._pending_times.clear()
        self._quiet_run = 0
        self._start_stream()

    def _retune(self) -> bool:
        """Follow the input's tuning (``LIVE_TUNING_MIN_S`` and the rest above): True
        when the stream was replaced by one at the corrected rate."""
        if self._tuning.seconds < LIVE_TUNING_MIN_S:
            return False
        cents = self._tuning.cents
        if cents is None:
            return False
        on = abs(cents) >= CORRECT_MIN_CENTS or (
            self.tuning_cents != 0.0 and abs(cents) >= CORRECT_MIN_CENTS - LIVE_RETUNE_CENTS)
        target = cents if on else 0.0
        if abs(target - self.tuning_cents) < LIVE_RETUNE_CENTS:
            return False
        self.tuning_cents = target
        # read as if played at the rate that puts it in tune (runtime does the same)
        self._stretch = 2.0 ** (-target / 1200.0)
        self._stream = self._feat.StreamingFeatures(self.sample_rate * self._stretch)
        self._stream_t0 = (self._samples - self._recent.size) / self.sample_rate
        self._stream_frame = 0
        return True

    def _new_frames(self, frames: np.ndarray) -> np.ndarray:
        """The stream's new frames that come after the last one the model saw (a new
        stream's first frames repeat the old one's time), their times queued."""
        n = frames.shape[0]
        i = self._stream_frame + np.arange(n)
        self._stream_frame += n
        times = self._stream_t0 + np.asarray(self._feat.frame_time(i)) * self._stretch
        keep = times > self._last_t + 1e-9
        if keep.any():
            self._last_t = float(times[keep][-1])
        self._pending_times.extend(times[keep].tolist())
        return frames[keep]

    @property
    def hum_hz(self) -> float | None:
        """The mains hum being filtered out of the input (Hz), None when none."""
        hum = self._dehum.hum
        return None if hum is None else hum.mains_hz

    @property
    def current(self) -> LiveChord:
        return self.smoother.current

    @property
    def history(self) -> list[LiveChord]:
        """The last ``history`` displayed chords, oldest first (the current one last)."""
        return self.smoother.history

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable chords now (smoothed), for a 'maybe' hint."""
        return self.smoother.top(k)

    def push(self, block: np.ndarray) -> LiveChord | None:
        """Feed an audio block; the newly displayed chord if it changed (the last one
        when several changes fall in one block), else None."""
        mono = self._dehum.apply(self._feat.to_mono(block))
        self._tuning.push(mono)
        lifted = self._level.apply(mono)
        feed = lifted
        if self._tuning.frames != self._tuning_frames:
            self._tuning_frames = self._tuning.frames
            if self._retune():
                # the new stream hears the last PREROLL_S again: its first frames whole
                feed = np.concatenate([self._recent, lifted])
        self._recent = np.concatenate([self._recent, lifted])[-self._preroll:]
        self._samples += lifted.size
        frames = self._new_frames(self._stream.push(feed))
        if frames.shape[0] == 0:
            return None
        # silence is judged at the input's own level, as before the lift: room noise
        # lifted by the gain must not hold the display on a chord
        gain = self._level.gain
        floor = SILENCE_LEVEL if gain == 1.0 else math.log1p(
            math.expm1(SILENCE_LEVEL) * gain)
        silent = frames.max(axis=1, initial=0.0) < floor
        # the model returns frames after its look-ahead: remember which were silent
        self._pending_silent.extend(silent.tolist())
        logp, bass = self.net.push(frames)
        changed: LiveChord | None = None
        for i in range(logp.shape[0]):
            below = self._pending_silent.popleft() if self._pending_silent else False
            self._quiet_run = self._quiet_run + 1 if below else 0
            # only a lasting silence is no-chord, not the gap between two strums
            quiet = self._quiet_run >= self.silence_frames
            t = self._pending_times.popleft() if self._pending_times else self._last_t
            new = self.smoother.step(logp[i], bass[i], t, quiet)
            if new is not None:
                changed = new
        return changed

