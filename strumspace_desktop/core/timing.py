"""Musical time: ticks, tempo maps, meters, bar:beat:tick and clock formatting.

Pure Python on purpose (no Qt, no audio imports): the audio process, the UI and
the tests all share these conversions, and they must agree to the sample.

Conventions
-----------
* A tick is 1/PPQ of a quarter note. BPM always counts quarter notes per minute,
  whatever the meter's denominator (as in MIDI files and most DAWs).
* Ticks before 0 are valid (count-in). They use the first tempo and the first
  meter, extended backwards.
* Bars are 0-based internally (`TimeSignatureChange.bar`, `bar_start_tick`);
  `BBT` holds the 1-based numbers a DAW displays, so bar index -1 shows as bar 0.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

PPQ = 960
MIN_BPM = 20.0
MAX_BPM = 300.0
# 1/64 notes still give an integral tick count per beat (960 * 4 / 64 = 60).
MAX_DENOMINATOR = 64
MAX_NUMERATOR = 64


@dataclass(frozen=True, slots=True)
class TempoChange:
    tick: int
    bpm: float


def _check_bpm(bpm: float) -> None:
    if not (math.isfinite(bpm) and MIN_BPM <= bpm <= MAX_BPM):
        raise ValueError(f"tempo must be between {MIN_BPM:g} and {MAX_BPM:g} bpm, got {bpm!r}")


class TempoMap:
    """Piecewise-constant tempo. Converts ticks to seconds and samples and back."""

    __slots__ = ("_bpms", "_changes", "_start_seconds", "_ticks")

    def __init__(self, changes: Sequence[TempoChange]) -> None:
        if not changes:
            raise ValueError("a tempo map needs at least one tempo change")
        if changes[0].tick != 0:
            raise ValueError("the first tempo change must be at tick 0")
        for prev, cur in pairwise(changes):
            if cur.tick <= prev.tick:
                raise ValueError("tempo changes must be sorted by strictly increasing tick")
        for change in changes:
            _check_bpm(change.bpm)
        self._changes = tuple(changes)
        self._ticks = [c.tick for c in changes]
        self._bpms = [float(c.bpm) for c in changes]
        # Start time of each segment, so a lookup is one bisect, not a sum.
        starts = [0.0]
        for i in range(1, len(changes)):
            span = self._ticks[i] - self._ticks[i - 1]
            starts.append(starts[-1] + span * _seconds_per_tick(self._bpms[i - 1]))
        self._start_seconds = starts

    @classmethod
    def constant(cls, bpm: float) -> TempoMap:
        return cls([TempoChange(0, bpm)])

    @property
    def changes(self) -> tuple[TempoChange, ...]:
        return self._changes

    def _segment_for_tick(self, tick: float) -> int:
        # Negative ticks fall in segment 0 (the first tempo extends backwards).
        return max(bisect_right(self._ticks, tick) - 1, 0)

    def bpm_at_tick(self, tick: float) -> float:
        return self._bpms[self._segment_for_tick(tick)]

    def seconds_at_tick(self, tick: float) -> float:
        i = self._segment_for_tick(tick)
        return self._start_seconds[i] + (tick - self._ticks[i]) * _seconds_per_tick(self._bpms[i])

    def tick_at_seconds(self, seconds: float) -> float:
        i = max(bisect_right(self._start_seconds, seconds) - 1, 0)
        return self._ticks[i] + (seconds - self._start_seconds[i]) / _seconds_per_tick(
            self._bpms[i]
        )

    def sample_at_tick(self, tick: float, sample_rate: int) -> int:
        """The sample frame nearest to `tick` (halves round up)."""
        _check_sample_rate(sample_rate)
        return math.floor(self.seconds_at_tick(tick) * sample_rate + 0.5)

    def tick_at_sample(self, sample: float, sample_rate: int) -> float:
        _check_sample_rate(sample_rate)
        return self.tick_at_seconds(sample / sample_rate)


def _seconds_per_tick(bpm: float) -> float:
    return 60.0 / (bpm * PPQ)


def _check_sample_rate(sample_rate: int) -> None:
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate!r}")


def samples_per_beat(bpm: float, denominator: int, sample_rate: int) -> float:
    """Length of one beat of a meter with this denominator, in samples.

    `bpm` counts quarter notes, so an eighth-note beat is half as long.
    """
    _check_bpm(bpm)
    _check_denominator(denominator)
    _check_sample_rate(sample_rate)
    return 60.0 / bpm * (4.0 / denominator) * sample_rate


def _check_denominator(denominator: int) -> None:
    is_power_of_two = denominator > 0 and denominator & (denominator - 1) == 0
    if not (is_power_of_two and denominator <= MAX_DENOMINATOR):
        raise ValueError(
            f"denominator must be a power of two up to {MAX_DENOMINATOR}, got {denominator!r}"
        )


@dataclass(frozen=True, slots=True)
class Meter:
    """A time signature such as 4/4 or 6/8."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if not 1 <= self.numerator <= MAX_NUMERATOR:
            raise ValueError(
                f"numerator must be between 1 and {MAX_NUMERATOR}, got {self.numerator!r}"
            )
        _check_denominator(self.denominator)

    @property
    def ticks_per_beat(self) -> int:
        return PPQ * 4 // self.denominator

    @property
    def ticks_per_bar(self) -> int:
        return self.ticks_per_beat * self.numerator


@dataclass(frozen=True, slots=True)
class TimeSignatureChange:
    bar: int  # 0-based bar index where this meter starts
    numerator: int
    denominator: int

    @property
    def meter(self) -> Meter:
        return Meter(self.numerator, self.denominator)


@dataclass(frozen=True, slots=True, order=True)
class BBT:
    """A position as displayed: 1-based bar and beat, ticks within the beat.

    Count-in bars before the song have bar numbers 0, -1, -2 ...
    """

    bar: int
    beat: int
    tick: int


class TimeSignatureMap:
    """Meter changes at bar boundaries; converts ticks to and from `BBT`."""

    __slots__ = ("_bars", "_changes", "_meters", "_start_ticks")

    def __init__(self, changes: Sequence[TimeSignatureChange]) -> None:
        if not changes:
            raise ValueError("a time signature map needs at least one change")
        if changes[0].bar != 0:
            raise ValueError("the first time signature change must be at bar 0")
        for prev, cur in pairwise(changes):
            if cur.bar <= prev.bar:
                raise ValueError("time signature changes must be sorted by strictly increasing bar")
        self._changes = tuple(changes)
        self._meters = [c.meter for c in changes]  # validates each signature
        self._bars = [c.bar for c in changes]
        starts = [0]
        for i in range(1, len(changes)):
            bars = self._bars[i] - self._bars[i - 1]
            starts.append(starts[-1] + bars * self._meters[i - 1].ticks_per_bar)
        self._start_ticks = starts

    @classmethod
    def constant(cls, numerator: int, denominator: int) -> TimeSignatureMap:
        return cls([TimeSignatureChange(0, numerator, denominator)])

    @property
    def changes(self) -> tuple[TimeSignatureChange, ...]:
        return self._changes

    def meter_at_bar(self, bar: int) -> Meter:
        """Meter of the 0-based bar index `bar`."""
        return self._meters[max(bisect_right(self._bars, bar) - 1, 0)]

    def meter_at_tick(self, tick: float) -> Meter:
        return self.bbt_meter(tick)[1]

    def bar_start_tick(self, bar: int) -> int:
        """First tick of the 0-based bar index `bar` (that is `BBT.bar - 1`)."""
        i = max(bisect_right(self._bars, bar) - 1, 0)
        return self._start_ticks[i] + (bar - self._bars[i]) * self._meters[i].ticks_per_bar

    def bbt_meter(self, tick: float) -> tuple[BBT, Meter]:
        """`bbt_at_tick` plus the meter in force there (saves a second lookup)."""
        whole = math.floor(tick)  # a position inside a tick shows that tick
        i = max(bisect_right(self._start_ticks, whole) - 1, 0)
        meter = self._meters[i]
        # Floor division keeps beats and ticks non-negative before tick 0.
        bar_offset, within_bar = divmod(whole - self._start_ticks[i], meter.ticks_per_bar)
        beat, beat_tick = divmod(within_bar, meter.ticks_per_beat)
        bar_index = self._bars[i] + bar_offset
        return BBT(bar_index + 1, beat + 1, beat_tick), meter

    def bbt_at_tick(self, tick: float) -> BBT:
        return self.bbt_meter(tick)[0]

    def tick_at_bbt(self, bbt: BBT) -> int:
        bar_index = bbt.bar - 1
        meter = self.meter_at_bar(bar_index)
        if not 1 <= bbt.beat <= meter.numerator:
            raise ValueError(f"beat {bbt.beat} is outside a bar of {meter.numerator} beats")
        if not 0 <= bbt.tick < meter.ticks_per_beat:
            raise ValueError(f"tick {bbt.tick} is outside a beat of {meter.ticks_per_beat} ticks")
        return self.bar_start_tick(bar_index) + (bbt.beat - 1) * meter.ticks_per_beat + bbt.tick


def format_bbt(bbt: BBT) -> str:
    """'bar:beat:ticks' with ticks zero-padded to three digits, e.g. '3:2:480'."""
    return f"{bbt.bar}:{bbt.beat}:{bbt.tick:03d}"


def format_clock(seconds: float) -> str:
    """'m:ss.mmm' (minutes grow past 59; negative times get a leading '-')."""
    if not math.isfinite(seconds):
        raise ValueError(f"cannot format {seconds!r} as a clock")
    # Integer milliseconds first, so 59.9996 s shows as 1:00.000, never 0:60.000.
    total_ms = math.floor(abs(seconds) * 1000 + 0.5)
    sign = "-" if seconds < 0 and total_ms else ""
    minutes, rest_ms = divmod(total_ms, 60_000)
    secs, millis = divmod(rest_ms, 1000)
    return f"{sign}{minutes}:{secs:02d}.{millis:03d}"
