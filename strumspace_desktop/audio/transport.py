"""Transport and metronome scheduling, run inside the audio callback.

The beat grid is anchored: beat(t) = anchor_beat + (t - anchor_clock) / samples_per_beat.
A click for integer beat b lands on round(anchor_clock + (b - anchor_beat) * spb), so
clicks never drift however long the transport runs. A tempo change, a locate or a
loop jump re-anchors the grid at the exact sample where it happens.
"""

from __future__ import annotations

import math

import numpy as np

from strumspace_desktop.audio.protocol import TransportState
from strumspace_desktop.core.timing import samples_per_beat

MAX_CLICKS_PER_BLOCK = 64
MAX_JUMPS_PER_BLOCK = 16


class Transport:
    """Play/stop, count-in, loop and tempo; reports click positions for each block."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.state = TransportState.STOPPED
        self.bpm = 120.0
        self.numerator = 4
        self.denominator = 4
        self.count_in_bars = 1
        self.loop_on = False
        self.loop_start = 0.0  # beats
        self.loop_end = 16.0
        self.record_armed = False
        self.metronome_on = True
        self._anchor_clock = 0  # engine sample clock at the anchor
        self._anchor_beat = 0.0  # transport beat at the anchor
        self._anchor_seconds = 0.0
        self._stopped_beat = 0.0  # where play starts from
        self._count_in_target = 0.0  # beat at which a count-in hands over to playing
        self._next_click = 0  # next integer beat to click
        # Preallocated per-block outputs: frame offset and accent of each click.
        self.click_offsets = np.zeros(MAX_CLICKS_PER_BLOCK, np.int64)
        self.click_accents = np.zeros(MAX_CLICKS_PER_BLOCK, np.int8)
        self.click_count = 0
        self.state_changed = False
        # Song playback follows these: loop jumps inside the block (frame offset, the
        # beat jumped to), the frame where a count-in hands over to playing (-1: none),
        # and `relocated`, set by play and locate (the song jumps there; the graph clears it).
        self.jump_offsets = np.zeros(MAX_JUMPS_PER_BLOCK, np.int64)
        self.jump_beats = np.zeros(MAX_JUMPS_PER_BLOCK, np.float64)
        self.jump_count = 0
        self.play_offset = -1
        self.relocated = False
        self._update_spb()

    # Derived values ------------------------------------------------------------------
    @property
    def samples_per_beat(self) -> float:
        return self._spb

    @property
    def count_in_target(self) -> float:
        """The beat where the running (or last) count-in hands over to playing."""
        return self._count_in_target

    def _update_spb(self) -> None:
        # The beat is the meter's unit: a quarter in 4/4, an eighth in 6/8.
        self._spb = samples_per_beat(self.bpm, self.denominator, self.sample_rate)

    def beat_at(self, clock: int) -> float:
        if self.state == TransportState.STOPPED:
            return self._stopped_beat
        return self._anchor_beat + (clock - self._anchor_clock) / self.samples_per_beat

    def seconds_at(self, clock: int) -> float:
        if self.state == TransportState.STOPPED:
            return self._stopped_beat * self.samples_per_beat / self.sample_rate
        return self._anchor_seconds + (clock - self._anchor_clock) / self.sample_rate

    def _click_clock(self, beat: int) -> int:
        return round(self._anchor_clock + (beat - self._anchor_beat) * self.samples_per_beat)

    def _reanchor(self, clock: int, beat: float) -> None:
        self._anchor_clock = clock
        self._anchor_beat = beat
        self._anchor_seconds = beat * self.samples_per_beat / self.sample_rate
        self._next_click = math.ceil(beat - 1e-9)

    # Commands (applied at a block boundary) ------------------------------------------
    def play(self, clock: int) -> None:
        if self.state != TransportState.STOPPED:
            return
        count_in = self.count_in_bars * self.numerator
        start = self._stopped_beat
        self.state = TransportState.COUNT_IN if count_in else TransportState.PLAYING
        self._reanchor(clock, start - count_in)
        self._count_in_target = start
        self.state_changed = True
        self.relocated = True

    def stop(self, clock: int) -> None:
        if self.state == TransportState.STOPPED:
            self._stopped_beat = 0.0  # stop twice: back to the start, as DAWs do
        else:
            beat = self.beat_at(clock)
            self._stopped_beat = max(0.0, beat if self.state == TransportState.PLAYING
                                     else self._count_in_target)
            self.state = TransportState.STOPPED
        self.state_changed = True

    def locate(self, clock: int, beat: float) -> None:
        beat = max(0.0, beat)
        if self.state == TransportState.STOPPED:
            self._stopped_beat = beat
        else:
            self.state = TransportState.PLAYING
            self._reanchor(clock, beat)
        self.state_changed = True
        self.relocated = True

    def set_tempo(self, clock: int, bpm: float) -> None:
        bpm = min(300.0, max(20.0, bpm))
        if self.state != TransportState.STOPPED:
            beat = self.beat_at(clock)
            seconds = self.seconds_at(clock)
            self.bpm = bpm
            self._update_spb()
            self._reanchor(clock, beat)
            self._anchor_seconds = seconds
        else:
            self.bpm = bpm
            self._update_spb()

    def set_meter(self, clock: int, numerator: int, denominator: int) -> None:
        if not 1 <= numerator <= 32 or denominator not in (1, 2, 4, 8, 16, 32):
            return
        beat = self.beat_at(clock)
        seconds = self.seconds_at(clock)
        self.numerator = numerator
        self.denominator = denominator
        self._update_spb()
        if self.state != TransportState.STOPPED:
            self._reanchor(clock, beat)
            self._anchor_seconds = seconds

    def set_loop(self, on: bool, start: float, end: float) -> None:
        if end - start < 1.0:
            on = False
        self.loop_on = on
        self.loop_start = max(0.0, start)
        self.loop_end = max(self.loop_start + 1.0, end)

    # Per block --------------------------------------------------------------------------
    def advance(self, clock: int, frames: int) -> None:
        """Work out this block's clicks, count-in end and loop jumps; clock is the
        engine sample clock of the block's first frame."""
        self.click_count = 0
        self.jump_count = 0
        self.play_offset = -1
        if self.state == TransportState.STOPPED:
            return
        end = clock + frames
        seg = clock
        while seg < end:
            seg_end = end
            jump_to = -1.0
            if self.state == TransportState.PLAYING and self.loop_on:
                loop_clock = self._click_clock_float(self.loop_end)
                if seg <= loop_clock < end:
                    seg_end = loop_clock
                    jump_to = self.loop_start
                elif loop_clock < seg:
                    # Located past the loop end: play on without looping back.
                    pass
            self._collect_clicks(clock, seg, seg_end)
            if self.state == TransportState.COUNT_IN:
                start_clock = self._click_clock_float(self._count_in_target)
                if start_clock < end:
                    self.state = TransportState.PLAYING
                    self.state_changed = True
                    self.play_offset = max(0, start_clock - clock)
            if jump_to < 0:
                break
            if self.jump_count < MAX_JUMPS_PER_BLOCK:
                self.jump_offsets[self.jump_count] = seg_end - clock
                self.jump_beats[self.jump_count] = jump_to
                self.jump_count += 1
            self._reanchor(seg_end, jump_to)
            seg = seg_end

    def _click_clock_float(self, beat: float) -> int:
        return round(self._anchor_clock + (beat - self._anchor_beat) * self.samples_per_beat)

    def _collect_clicks(self, block_clock: int, seg: int, seg_end: int) -> None:
        while True:
            at = self._click_clock(self._next_click)
            if at >= seg_end:
                return
            if at >= seg and self.click_count < MAX_CLICKS_PER_BLOCK:
                i = self.click_count
                self.click_offsets[i] = at - block_clock
                self.click_accents[i] = 1 if self._next_click % self.numerator == 0 else 0
                self.click_count = i + 1
            self._next_click += 1
