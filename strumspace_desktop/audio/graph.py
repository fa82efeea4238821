"""The engine's per-block work, free of any audio device.

`EngineGraph.process` is what the live callback runs and what offline renders and
tests run: commands from the UI, MIDI from the inputs, the instrument, the
metronome, the master gain and the meters. It preallocates everything it uses.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from strumspace_desktop.audio.metronome import Metronome
from strumspace_desktop.audio.protocol import Cmd, Evt, St, TransportState
from strumspace_desktop.audio.shared_block import SharedBlock
from strumspace_desktop.audio.synth import DRUM_CHANNEL, FluidSynthInstrument
from strumspace_desktop.audio.transport import Transport

PEAK_DECAY = 0.93  # per block: meters fall smoothly rather than flicker


class MidiSource(Protocol):
    """What the graph polls for live MIDI: python-rtmidi's MidiIn has this method."""

    def get_message(self) -> tuple[list[int], float] | None: ...


class StampedMidiSource(Protocol):
    """A source that hands its events to `handle_midi` with their frame offsets."""

    def drain_into(self, sink: EngineGraph) -> None: ...


class EngineGraph:
    def __init__(self, block: SharedBlock, sample_rate: int,
                 instrument: FluidSynthInstrument | None) -> None:
        self.block = block
        self.sample_rate = sample_rate
        self.instrument = instrument
        self.pending_instrument: FluidSynthInstrument | None = None
        self.retired_instrument: FluidSynthInstrument | None = None
        self.transport = Transport(sample_rate)
        self.metronome = Metronome(sample_rate)
        self.midi_sources: tuple[MidiSource, ...] = ()
        # JACK MIDI with exact frames (midi/jack_input.py), drained like the rtmidi inputs.
        self.stamped_midi: StampedMidiSource | None = None
        self._anchor_seen: tuple[int, float, float, bool] = (-1, 0.0, 0.0, True)
        self.master_gain = 0.8
        self.input_channel = 0
        self.input_monitor = 0.0  # gain of the audio input mixed into the output (0: off)
        self.clock = 0  # samples since the stream (or offline render) started
        self.blocks = 0
        self.midi_in_count = 0
        self.events_dropped = 0
        self.synth_generation = 0
        # Channel state mirrored here so that a swapped-in synth gets it back.
        self.programs = np.zeros((16, 2), np.int32)  # bank, program
        self.programs[DRUM_CHANNEL, 0] = 128
        self.channel_gain = np.ones(16, np.float64)
        self.reverb_on = True
        self.chorus_on = True
        self.peaks = np.zeros(2, np.float64)
        self._abs = np.zeros(4096 * 2, np.float32)
        st = block.status
        st[St.SAMPLE_RATE] = sample_rate
        self._publish_transport()

    # Commands ---------------------------------------------------------------------------
    def _drain_commands(self) -> None:
        ring = self.block.commands
        n = ring.available()
        for i in range(n):
            row = ring.peek_row(i)
            self._apply(int(row[0]), row[1], row[2], row[3], row[4])
        if n:
            ring.advance(n)

    def _apply(self, op: int, a: float, b: float, c: float, d: float) -> None:
        inst = self.instrument
        t = self.transport
        if op == Cmd.NOTE_ON:
            if inst is not None:
                inst.noteon(inst.ptr, int(a), int(b), int(c))
            self._emit(Evt.NOTE_ON, a, b, c, 1.0)
        elif op == Cmd.NOTE_OFF:
            if inst is not None:
                inst.noteoff(inst.ptr, int(a), int(b))
            self._emit(Evt.NOTE_OFF, a, b, 0.0, 1.0)
        elif op == Cmd.CONTROL_CHANGE:
            if inst is not None:
                inst.cc(inst.ptr, int(a), int(b), int(c))
        elif op == Cmd.PITCH_BEND:
            if inst is not None:
                inst.pitch_bend(inst.ptr, int(a), int(b))
        elif op == Cmd.PROGRAM:
            ch = int(a)
            self.programs[ch, 0] = int(b)
            self.programs[ch, 1] = int(c)
            if inst is not None:
                inst.program_select(ch, int(b), int(c))
        elif op == Cmd.ALL_NOTES_OFF:
            if inst is not None:
                for ch in range(16) if a < 0 else (int(a),):
                    inst.all_notes_off(ch)
        elif op == Cmd.PLAY:
            t.play(self.clock)
            self.metronome.reset()
        elif op == Cmd.STOP:
            t.stop(self.clock)
            self.metronome.reset()
        elif op == Cmd.LOCATE:
            t.locate(self.clock, a)
        elif op == Cmd.TEMPO:
            t.set_tempo(self.clock, a)
        elif op == Cmd.METER:
            t.set_meter(self.clock, int(a), int(b))
        elif op == Cmd.COUNT_IN:
            t.count_in_bars = min(2, max(0, int(a)))
        elif op == Cmd.LOOP:
            t.set_loop(a > 0.5, b, c)
        elif op == Cmd.RECORD_ARM:
            t.record_armed = a > 0.5
        elif op == Cmd.METRONOME:
            t.metronome_on = a > 0.5
            self.metronome.gain = min(1.0, max(0.0, b))
        elif op == Cmd.MASTER_GAIN:
            self.master_gain = min(2.0, max(0.0, a))
        elif op == Cmd.INPUT_MONITOR:
            self.input_monitor = min(2.0, max(0.0, b)) if a > 0.5 else 0.0
        elif op == Cmd.INPUT_CHANNEL:
            self.input_channel = min(15, max(0, int(a)))
        elif op == Cmd.SYNTH_EFFECTS:
            self.reverb_on = a > 0.5
            self.chorus_on = b > 0.5
            if inst is not None:
                inst.set_effects(self.reverb_on, self.chorus_on)
        elif op == Cmd.CHANNEL_MIX:
            ch = int(a)
            self.channel_gain[ch] = min(1.0, max(0.0, b))
            if inst is not None:
                inst.cc(inst.ptr, ch, 7, self._cc7(ch))

    def _cc7(self, ch: int) -> int:
        return round(127 * float(self.channel_gain[ch]))

    def _emit(self, kind: int, a: float = 0.0, b: float = 0.0, c: float = 0.0,
              d: float = 0.0) -> None:
        if not self.block.events.push(kind, self.clock, a, b, c, d):
            self.events_dropped += 1

    # Live MIDI --------------------------------------------------------------------------
    def _poll_midi(self) -> None:
        for src in self.midi_sources:
            while True:
                msg = src.get_message()
                if msg is None:
                    break
                self.handle_midi(msg[0])
        stamped = self.stamped_midi
        if stamped is not None:
            stamped.drain_into(self)

    def _emit_at(self, offset: int, kind: int, a: float = 0.0, b: float = 0.0,
                 c: float = 0.0, d: float = 0.0) -> None:
        if not self.block.events.push(kind, self.clock + offset, a, b, c, d):
            self.events_dropped += 1

    def _note_anchor(self) -> None:
        """Report each new beat line (play, locate, tempo, loop jump, stop) as an
        ANCHOR event, so that the UI converts event clocks to song beats exactly."""
        t = self.transport
        key = (t._anchor_clock, t._anchor_beat, t.samples_per_beat,
               t.state == TransportState.STOPPED)
        if key != self._anchor_seen:
            self._anchor_seen = key
            clock = self.clock if key[3] else key[0]
            self._emit_at(clock - self.clock, Evt.ANCHOR, int(t.state), key[1], key[2],
                          t.denominator)

    def handle_midi(self, data: list[int], offset: int = 0) -> None:
        """Route one message from a controller to the instrument on the input channel;
        `offset` is its frame relative to this block's start (events report it)."""
        if not data:
            return
        self.midi_in_count += 1
        status = data[0] & 0xF0
        ch = self.input_channel
        inst = self.instrument
        if status == 0x90 and len(data) >= 3 and data[2] > 0:
            if inst is not None:
                inst.noteon(inst.ptr, ch, data[1], data[2])
            self._emit_at(offset, Evt.NOTE_ON, ch, data[1], data[2], 0.0)
        elif status == 0x80 or (status == 0x90 and len(data) >= 3):
            if inst is not None:
                inst.noteoff(inst.ptr, ch, data[1])
            self._emit_at(offset, Evt.NOTE_OFF, ch, data[1], 0.0, 0.0)
        elif status == 0xB0 and len(data) >= 3:
            src_ch = data[0] & 0x0F
            # A controller bound by MIDI learn drives its target, not the synth.
            if not self.block.cc_consume[src_ch, data[1]] and inst is not None:
                value = data[2]
                if data[1] == 7:  # the track's fader scales the controller's volume
                    value = round(value * float(self.channel_gain[ch]))
                inst.cc(inst.ptr, ch, data[1], value)
            self._emit_at(offset, Evt.CONTROL_CHANGE, src_ch, data[1], data[2], 0.0)
        elif status == 0xE0 and len(data) >= 3:
            value = data[1] | (data[2] << 7)
            if inst is not None:
                inst.pitch_bend(inst.ptr, ch, value)
            self._emit_at(offset, Evt.PITCH_BEND, ch, value)
        elif status == 0xD0 and len(data) >= 2:
            if inst is not None:
                inst.channel_pressure(inst.ptr, ch, data[1])
        elif status == 0xA0 and len(data) >= 3:
            if inst is not None:
                inst.key_pressure(inst.ptr, ch, data[1], data[2])
        elif status == 0xC0 and len(data) >= 2:
            # Program changes from a controller are reported, not applied: the track's
            # instrument is chosen in the app and saved with the project.
            self._emit(Evt.PROGRAM, data[0] & 0x0F, data[1])

    # The block --------------------------------------------------------------------------
    def _swap_instrument(self) -> None:
        new = self.pending_instrument
        if new is None:
            return
        self.pending_instrument = None
        old = self.instrument
        for ch in range(16):
            new.program_select(ch, int(self.programs[ch, 0]), int(self.programs[ch, 1]))
            new.cc(new.ptr, ch, 7, self._cc7(ch))
        new.set_effects(self.reverb_on, self.chorus_on)
        if old is not None:
            old.all_sounds_off(-1)
        self.instrument = new
        self.retired_instrument = old  # freed by the control thread, never here
        self.synth_generation += 1

    def process(self, out: np.ndarray, frames: int) -> None:
        """Fill `out[:frames]` (float32, stereo, C-contiguous) with the next block."""
        if self.pending_instrument is not None:
            self._swap_instrument()
        self._drain_commands()
        self._note_anchor()
        if self.midi_sources or self.stamped_midi is not None:
            self._poll_midi()
        inst = self.instrument
        if inst is not None:
            inst.render(out, frames)
        else:
            out[:frames].fill(0.0)
        t = self.transport
        t.advance(self.clock, frames)
        self._note_anchor()
        if t.metronome_on and t.state != TransportState.STOPPED:
            self.metronome.render(out, frames, t.click_offsets, t.click_accents,
                                  t.click_count)
        elif t.state != TransportState.STOPPED and t.state == TransportState.COUNT_IN:
            # The count-in always clicks, even with the metronome off.
            self.metronome.render(out, frames, t.click_offsets, t.click_accents,
                                  t.click_count)
        if self.master_gain != 1.0:
            out[:frames] *= self.master_gain
        self._meter(out, frames)
        if t.state_changed:
            t.state_changed = False
            self._emit(Evt.TRANSPORT, int(t.state), t.beat_at(self.clock))
        self.clock += frames
        self.blocks += 1
        self._publish_transport()

    def _meter(self, out: np.ndarray, frames: int) -> None:
        scratch = self._abs[: frames * 2].reshape(frames, 2)
        np.abs(out[:frames], out=scratch)
        peaks = self.peaks
        left = float(scratch[:, 0].max())
        right = float(scratch[:, 1].max())
        peaks[0] = max(left, peaks[0] * PEAK_DECAY)
        peaks[1] = max(right, peaks[1] * PEAK_DECAY)

    def _publish_transport(self) -> None:
        st = self.block.status
        t = self.transport
        st[St.CLOCK] = self.clock
        st[St.HEARTBEAT] = self.blocks
        st[St.STATE] = int(t.state)
        st[St.BEAT] = t.beat_at(self.clock)
        st[St.SECONDS] = t.seconds_at(self.clock)
        st[St.TEMPO] = t.bpm
        st[St.NUMERATOR] = t.numerator
        st[St.DENOMINATOR] = t.denominator
        st[St.RECORD_ARMED] = t.record_armed
        st[St.LOOP_ON] = t.loop_on
        st[St.LOOP_START] = t.loop_start
        st[St.LOOP_END] = t.loop_end
        st[St.COUNT_IN_BARS] = t.count_in_bars
        st[St.METRONOME_ON] = t.metronome_on
        st[St.METRONOME_GAIN] = self.metronome.gain
        st[St.PEAK_LEFT] = self.peaks[0]
        st[St.PEAK_RIGHT] = self.peaks[1]
        st[St.MIDI_IN_COUNT] = self.midi_in_count
        st[St.EVENTS_DROPPED] = self.events_dropped
        st[St.MASTER_GAIN] = self.master_gain
        st[St.INPUT_CHANNEL] = self.input_channel
        st[St.SYNTH_GENERATION] = self.synth_generation
        inst = self.instrument
        st[St.VOICES] = inst.active_voices() if inst is not None else 0
