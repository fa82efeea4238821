"""A recording session, free of Qt and of the engine: engine events in, takes out.

The engine stamps every event with its sample clock and reports each new beat line
(play, locate, tempo change, loop jump, stop) as an ANCHOR event. From those lines
the session turns a clock into a song tick exactly, splits the recording into
passes (a loop jump back starts a new one), applies the punch range, and pairs note
on/offs into notes. Notes still held when a pass ends (stop, punch-out, loop end)
are closed there.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from enum import Enum

from strumspace_desktop.audio.protocol import Evt, TransportState
from strumspace_desktop.core.quantize import QuantizeSettings
from strumspace_desktop.core.timing import PPQ

JUMP_EPSILON = 1e-6  # beats: a new line this far behind the old one is a jump back


class RecordMode(Enum):
    OVERDUB = "overdub"  # recorded notes join what is there
    REPLACE = "replace"  # what was there in the recorded range goes


@dataclass(frozen=True)
class RecordOptions:
    mode: RecordMode = RecordMode.OVERDUB
    loop_takes: bool = True  # loop recording: one take per pass (else passes merge)
    punch: tuple[int, int] | None = None  # song ticks [start, end) when punch is on
    input_quantize: QuantizeSettings | None = None
    latency_frames: int = 0  # audio: how late the input arrives (loopback calibration)


@dataclass(frozen=True)
class Line:
    """beat(c) = beat + (c - clock) / spb, from `clock` until the next line."""

    clock: int
    state: TransportState
    beat: float
    spb: float
    denominator: int

    @property
    def ticks_per_beat(self) -> float:
        return PPQ * 4 / self.denominator

    def tick_at(self, clock: float) -> float:
        return (self.beat + (clock - self.clock) / self.spb) * self.ticks_per_beat

    def clock_at(self, tick: float) -> float:
        return self.clock + (tick / self.ticks_per_beat - self.beat) * self.spb


class Timeline:
    """The engine's beat lines, in clock order."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self._clocks: list[int] = []

    def add(self, line: Line) -> None:
        # A line can only start at or after the last one (the engine emits in order).
        while self.lines and self.lines[-1].clock > line.clock:
            self.lines.pop()
            self._clocks.pop()
        self.lines.append(line)
        self._clocks.append(line.clock)

    def line_at(self, clock: float) -> Line | None:
        i = bisect_right(self._clocks, clock) - 1
        return self.lines[i] if i >= 0 else None

    def tick_at(self, clock: float) -> float | None:
        """The song tick at `clock`, None while stopped (or before any line)."""
        line = self.line_at(clock)
        if line is None or line.state == TransportState.STOPPED:
            return None
        return line.tick_at(clock)


@dataclass(frozen=True)
class RecordedNote:
    pitch: int
    velocity: int
    channel: int
    start: float  # song ticks
    end: float


@dataclass
class Pass:
    """One run through the recorded range: a take of a loop recording."""

    start: float  # song ticks
    end: float
    start_clock: float  # engine clocks of those ticks (for audio)
    end_clock: float
    notes: list[RecordedNote] = field(default_factory=list)


class RecordSession:
    """Feed it the engine's events while recording; `finish` returns the passes."""

    def __init__(self, options: RecordOptions, start_tick: float,
                 channel: int | None = None) -> None:
        self.options = options
        self.start_tick = float(start_tick)  # recording begins here (after the count-in)
        self.channel = channel  # None: notes of every channel
        self.timeline = Timeline()
        self.passes: list[Pass] = []
        self._current: Pass | None = None
        self._held: dict[tuple[int, int], tuple[float, int]] = {}
        self._pass_line: Line | None = None  # the line the current pass began on
        self.finished = False

    # Window -------------------------------------------------------------------------
    def _window(self) -> tuple[float, float]:
        lo, hi = self.start_tick, math.inf
        if self.options.punch is not None:
            lo = max(lo, float(self.options.punch[0]))
            hi = float(self.options.punch[1])
        return lo, hi

    def _in_window(self, tick: float) -> bool:
        lo, hi = self._window()
        return lo <= tick < hi

    # Events -------------------------------------------------------------------------
    def feed(self, record: tuple[float, ...]) -> None:
        if self.finished:
            return
        op, clock = int(record[0]), record[1]
        if op == Evt.ANCHOR:
            self._anchor(Line(int(clock), TransportState(int(record[2])), float(record[3]),
                              float(record[4]), int(record[5])))
        elif op == Evt.NOTE_ON:
            self._note_on(clock, int(record[2]), int(record[3]), int(record[4]))
        elif op == Evt.NOTE_OFF:
            self._note_off(clock, int(record[2]), int(record[3]))

    def feed_all(self, records: list[tuple[float, ...]]) -> None:
        for r in records:
            self.feed(r)

    def _anchor(self, line: Line) -> None:
        old = self.timeline.line_at(line.clock)
        self.timeline.add(line)
        if old is None or old.state == TransportState.STOPPED:
            self._pass_line = line
            return
        old_tick = old.tick_at(line.clock)
        if line.state == TransportState.STOPPED:
            self._end_pass(old_tick, line.clock)
            self.finished = True
            return
        new_tick = line.tick_at(line.clock)
        if new_tick < old_tick - JUMP_EPSILON * line.ticks_per_beat:
            self._end_pass(old_tick, line.clock)  # a loop jump back: the next pass begins
            self.start_tick = min(self.start_tick, new_tick)
            self._pass_line = line
        elif new_tick > old_tick + JUMP_EPSILON * line.ticks_per_beat:
            self._close_held(old_tick)  # located forward: held notes end where it jumped

    def _ensure_pass(self, tick: float, clock: float) -> Pass:
        cur = self._current
        if cur is None:
            lo, _ = self._window()
            line = self._pass_line or self.timeline.line_at(clock)
            # The pass starts where its line starts, or at the window's start if later.
            start = max(lo, line.tick_at(line.clock)) if line is not None else tick
            start = min(start, tick)
            start_clock = line.clock_at(start) if line is not None else clock
            cur = Pass(start, start, start_clock, start_clock)
            self._current = cur
        return cur

    def _end_pass(self, tick: float, clock: float) -> None:
        cur = self._current
        lo, hi = self._window()
        line = self._pass_line
        if cur is None and line is not None and line.state != TransportState.STOPPED:
            # Nothing was played, but the range was recorded (audio, empty takes).
            seg_start = max(lo, line.tick_at(line.clock))
            if seg_start < min(tick, hi):
                cur = self._ensure_pass(seg_start, line.clock_at(seg_start))
        if cur is None:
            return
        end = min(tick, hi)
        self._close_held(end)
        line = self.timeline.line_at(clock - 1)
        cur.end = max(cur.start, end)
        cur.end_clock = line.clock_at(cur.end) if line is not None else clock
        self.passes.append(cur)
        self._current = None
        self._pass_line = None  # a jump back starts the next pass, nothing else

    def _close_held(self, tick: float) -> None:
        if self._current is None:
            self._held.clear()
            return
        _, hi = self._window()
        end = min(tick, hi)
        for (ch, pitch), (start, vel) in self._held.items():
            self._current.notes.append(RecordedNote(pitch, vel, ch, start, max(start, end)))
        self._held.clear()

    def _note_on(self, clock: float, ch: int, pitch: int, vel: int) -> None:
        if self.channel is not None and ch != self.channel:
            return
        tick = self.timeline.tick_at(clock)
        if tick is None or not self._in_window(tick):
            return
        cur = self._ensure_pass(tick, clock)
        key = (ch, pitch)
        if key in self._held:  # retriggered without a note-off: end the first one here
            start, v = self._held.pop(key)
            cur.notes.append(RecordedNote(pitch, v, ch, start, tick))
        self._held[key] = (tick, max(1, min(127, vel)))

    def _note_off(self, clock: float, ch: int, pitch: int) -> None:
        held = self._held.pop((ch, pitch), None)
        if held is None or self._current is None:
            return
        tick = self.timeline.tick_at(clock)
        _, hi = self._window()
        end = hi if tick is None else min(tick, hi)
        start, vel = held
        self._current.notes.append(RecordedNote(pitch, vel, ch, start, max(start, end)))

    def punch_out_passed(self, clock: float) -> None:
        """Called as time goes on (each UI poll): a pass whose punch-out is behind the
        transport ends there, so that held notes close at the punch-out."""
        if self._current is None or self.options.punch is None:
            return
        tick = self.timeline.tick_at(clock)
        if tick is not None and tick >= self.options.punch[1]:
            self._end_pass(float(self.options.punch[1]), clock)

    def finish(self, clock: float | None = None) -> list[Pass]:
        """End the recording (at `clock` if the transport still runs) and return every
        pass, oldest first."""
        if not self.finished:
            if self._current is not None or clock is not None:
                line = self.timeline.line_at(clock) if clock is not None else None
                if line is not None and line.state != TransportState.STOPPED:
                    assert clock is not None
                    self._end_pass(line.tick_at(clock), clock)
                elif self._current is not None:
                    last = max((n.end for n in self._current.notes), default=self._current.start)
                    self._end_pass(last, self._current.end_clock)
            self.finished = True
        return self.passes
