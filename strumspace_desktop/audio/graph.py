"""The engine's per-block work, free of any audio device.

`EngineGraph.process` is what the live callback runs and what offline renders and
tests run: commands from the UI, MIDI from the inputs, the song, the instrument, the
mixer strips, the master bus, the metronome and the meters. It preallocates
everything it uses.

The song (song_runtime.SongRuntime) and the mix (mixer.MixRuntime) are built by the
engine's control thread and swapped in together at a block boundary
(`pending_program`); the replaced ones wait in `retired_program` for the control
thread to drop them, so that the callback never frees them. Song notes are sent to
FluidSynth between partial renders of the block, at their exact frames, and the
synth renders each MIDI channel into its own strip buffer and its shared reverb and
chorus into the FX return row.

A block is two halves: `_front` (commands, transport, song, synth and audio regions
into one of two sets of strip buffers) and `_finish` (effect chains, faders, master
bus, meters). The live callback runs them back to back; offline renders
(render_pipeline.py) run the next block's front while worker threads run this
block's effect chains, with the same result to the bit.
"""

from __future__ import annotations

import ctypes
from bisect import bisect_left, bisect_right
from typing import Any, Protocol

import numpy as np

from strumspace_desktop.audio.metronome import Metronome
from strumspace_desktop.audio.mixer import MixRuntime
from strumspace_desktop.audio.protocol import Cmd, Evt, St, TransportState
from strumspace_desktop.audio.shared_block import SharedBlock
from strumspace_desktop.audio.song_data import MAX_STRIPS, MIDI_STRIPS
from strumspace_desktop.audio.song_runtime import SongRuntime
from strumspace_desktop.audio.synth import DRUM_CHANNEL, FluidSynthInstrument
from strumspace_desktop.audio.transport import Transport
from strumspace_desktop.core.timing import PPQ

PEAK_DECAY = 0.93  # per block: meters fall smoothly rather than flicker
MAX_FRAMES = 4096  # longer blocks are processed in pieces of this size
PEDALBOARD_BLOCK = MAX_FRAMES  # constant, so that plugins are never prepared again
FX_RETURN = MAX_STRIPS  # the strip-buffer row of the synth's reverb and chorus return
STRIP_ROWS = MAX_STRIPS + 1


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
        self._no_notes = [0] * (16 * 128)
        self.reverb_on = True
        self.chorus_on = True
        # The song and the mixer (see the module docstring).
        self.song: SongRuntime | None = None
        self.mix = MixRuntime.unity()
        self.pending_program: tuple[SongRuntime | None, MixRuntime | None, list[bool],
                                    list[int]] | None = None
        self.retired_program: tuple[SongRuntime | None, MixRuntime] | None = None
        self.pending_params: list[tuple[Any, str, float]] | None = None
        self.song_pos = 0  # song sample at the next frame to play
        self._cursor = 0  # next song event
        self._song_synced = False
        self._was_playing = False
        self.sounding = [0] * (16 * 128)  # song notes held, per channel * 128 + pitch
        self.n_sounding = 0
        self._slot_audible: list[bool] = []
        self._active_strips: list[int] = list(range(MIDI_STRIPS))
        # Two sets of strip buffers: an offline render fills one while the other's
        # effects run (the live callback only ever uses set 0). Per set, what its
        # `_finish` needs of the block that `_front` rendered into it.
        self._slots = np.zeros((2, STRIP_ROWS, 2, MAX_FRAMES), np.float32)
        self._slot = 0
        self.strip_buf = self._slots[0]
        self._slot_mix = [self.mix, self.mix]
        self._slot_strips = [self._active_strips, self._active_strips]
        self._slot_clicks = [False, False]
        self._click_bufs = np.zeros((2, MAX_FRAMES, 2), np.float32)
        self.master_buf = np.zeros((2, MAX_FRAMES), np.float32)
        self._tmp = np.zeros((2, MAX_FRAMES), np.float32)
        self._mix_tmp = np.zeros((2, MAX_FRAMES), np.float32)
        self._ramp = np.arange(MAX_FRAMES, dtype=np.float32)
        self._env = np.zeros(MAX_FRAMES, np.float32)
        self._env2 = np.zeros(MAX_FRAMES, np.float32)
        # FluidSynth's planar outputs: channel c's left and right rows; the reverb and
        # chorus of its one effects group (left, right, left, right) into the FX return
        # row. The pointers move along when a block is rendered in pieces (one numpy
        # add rewrites them all).
        self._dry = (ctypes.c_void_p * (2 * MIDI_STRIPS))()
        self._fx = (ctypes.c_void_p * 4)()
        self._dry_ptrs = np.frombuffer(memoryview(self._dry).cast("B"), np.uint64)
        self._fx_ptrs = np.frombuffer(memoryview(self._fx).cast("B"), np.uint64)
        row = MAX_FRAMES * 4
        self._dry_bases = []
        self._fx_bases = []
        for slot in range(2):
            base = self._slots[slot].ctypes.data
            self._dry_bases.append(np.array([base + (i // 2) * 2 * row + (i % 2) * row
                                             for i in range(2 * MIDI_STRIPS)], np.uint64))
            self._fx_bases.append(np.array([base + FX_RETURN * 2 * row + (i % 2) * row
                                            for i in range(4)], np.uint64))
        self._dry_base = self._dry_bases[0]
        self._fx_base = self._fx_bases[0]
        self._dry_ptrs[:] = self._dry_base
        self._fx_ptrs[:] = self._fx_base
        self._ptr_offset = 0
        self._rendered = 0
        self.stem_out: np.ndarray | None = None  # offline stems: each strip post-fader
        self.plugin_failures = 0  # chains dropped because a plugin raised while processing
        self.peaks = np.zeros(2, np.float64)
        self._abs = np.zeros(4096 * 2, np.float32)
        if instrument is not None:
            self._prime(instrument)
        st = block.status
        st[St.SAMPLE_RATE] = sample_rate
        self._publish_transport()

    # Commands ---------------------------------------------------------------------------
    def _drain_commands(self) -> None:
        ring = self.block.commands
        n = ring.available()
        for i in range(n):
            row = ring.peek_row(i)
            # Plain floats: a numpy scalar kept in the transport (a loop's end) went
            # through round() every block and left objects behind on each pass.
            self._apply(int(row[0]), float(row[1]), float(row[2]), float(row[3]),
                        float(row[4]))
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
                if b == 91.0 or b == 93.0:  # sends to the shared reverb and chorus
                    inst.set_send_cc(int(a), int(b), int(c))
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
            if inst is not None and t.state == TransportState.STOPPED:
                # The reverb and chorus start as in an offline render (a new synth).
                inst.reset_effects()
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
            self._set_synth_effects()
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
                if data[1] == 91 or data[1] == 93:
                    inst.set_send_cc(ch, data[1], value)
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
        if old is not None:
            old.all_sounds_off(-1)
            new.reverb_cc[:] = old.reverb_cc
            new.chorus_cc[:] = old.chorus_cc
        self._prime(new)
        self.instrument = new
        self.sounding[:] = self._no_notes
        self.n_sounding = 0
        self.retired_instrument = old  # freed by the control thread, never here
        self.synth_generation += 1

    def _prime(self, inst: FluidSynthInstrument) -> None:
        """Give a synth the graph's channel state (programs, volume controllers, send
        gains, effects): the first one and every swapped-in one alike, so that a
        SoundFont loaded later plays exactly like one the graph started with."""
        for ch in range(16):
            inst.program_select(ch, int(self.programs[ch, 0]), int(self.programs[ch, 1]))
            inst.cc(inst.ptr, ch, 7, self._cc7(ch))
        inst.set_send_gains(self.mix.send_gains)
        inst.set_effects(self.reverb_on, self.chorus_on)

    def _set_synth_effects(self) -> None:
        """FluidSynth's shared reverb and chorus on or off."""
        inst = self.instrument
        if inst is not None:
            inst.set_effects(self.reverb_on, self.chorus_on)

    def _swap_program(self) -> None:
        pending = self.pending_program
        if pending is None:
            return
        self.pending_program = None
        song, mix, slot_audible, active = pending
        self.retired_program = (self.song, self.mix)  # dropped by the control thread
        if song is not None:
            for ch in song.changed_channels:
                self._song_notes_off(ch)
            inst = self.instrument
            for ch, (bank, program) in song.programs.items():
                self.programs[ch, 0] = bank
                self.programs[ch, 1] = program
                if inst is not None:
                    inst.program_select(ch, bank, program)
            self.song = song
            self._song_synced = False
        if mix is not None:
            self.mix = mix
            if self.instrument is not None:
                self.instrument.set_send_gains(mix.send_gains)
        self._slot_audible = slot_audible
        self._active_strips = active

    def _apply_params(self) -> None:
        params, self.pending_params = self.pending_params, None
        if params:
            for plugin, name, value in params:
                setattr(plugin, name, value)

    # The song ----------------------------------------------------------------------------
    def _song_notes_off(self, channel: int = -1) -> None:
        """Release the song's sounding notes (every channel for -1)."""
        if self.n_sounding == 0:
            return
        inst = self.instrument
        s = self.sounding
        lo, hi = (0, 2048) if channel < 0 else (channel * 128, channel * 128 + 128)
        for key in range(lo, hi):
            n = s[key]
            if n:
                if inst is not None:
                    inst.noteoff(inst.ptr, key >> 7, key & 127)
                s[key] = 0
                self.n_sounding -= n

    def _sync_song(self, beat: float) -> None:
        """Put the song at the transport's `beat` (in the meter's unit)."""
        song = self.song
        if song is None:
            return
        t = self.transport
        self.song_pos = song.sample_at_tick(beat * PPQ * 4.0 / t.denominator,
                                            self.sample_rate)
        self._cursor = bisect_left(song.samples, self.song_pos)
        self._song_synced = True

    def _song_before(self, frames: int) -> None:
        """Before the transport advances: jumps, stops and the song's tempo map."""
        t = self.transport
        if t.relocated:  # play or locate: whatever the song held stops
            t.relocated = False
            self._song_notes_off()
            self._song_synced = False
        playing = t.state == TransportState.PLAYING
        self._was_playing = playing
        if not playing:
            if t.state == TransportState.STOPPED:
                if self.n_sounding:
                    self._song_notes_off()
                self._song_synced = False
            return
        song = self.song
        if song is None:
            return
        if not self._song_synced:
            self._sync_song(t.beat_at(self.clock))
        ts = song.tempo_samples
        if len(ts) > 1:
            # The transport follows the song's tempo map, each change at its sample.
            pos = self.song_pos
            i = max(0, bisect_right(ts, pos) - 1)
            bpm = song.tempo_bpm[i]
            if abs(min(300.0, max(20.0, bpm)) - t.bpm) > 1e-9:
                t.set_tempo(self.clock, bpm)
            j = i + 1
            end = pos + frames
            while j < len(ts) and ts[j] < end:
                t.set_tempo(self.clock + ts[j] - pos, song.tempo_bpm[j])
                j += 1

    def _synth_to(self, frame: int) -> None:
        """Render the synth from where this block's rendering stopped up to `frame`."""
        done = self._rendered
        if frame <= done:
            return
        inst = self.instrument
        if inst is not None:
            if done != self._ptr_offset:
                np.add(self._dry_base, done * 4, out=self._dry_ptrs)
                np.add(self._fx_base, done * 4, out=self._fx_ptrs)
                self._ptr_offset = done
            inst.process(frame - done, 4, self._fx, 2 * MIDI_STRIPS, self._dry)
        self._rendered = frame

    def _play(self, f0: int, f1: int) -> None:
        """Song events and audio regions of block frames [f0, f1)."""
        n = f1 - f0
        song = self.song
        if n <= 0 or song is None:
            return
        pos = self.song_pos
        end = pos + n
        samples = song.samples
        i = self._cursor
        count = len(samples)
        if i < count and samples[i] < end:
            codes = song.codes
            vels = song.velocities
            audible = self._slot_audible
            n_slots = len(audible)
            inst = self.instrument
            sounding = self.sounding
            while i < count and samples[i] < end:
                self._synth_to(f0 + samples[i] - pos)
                code = codes[i]
                ch = (code >> 16) & 15
                pitch = code & 127
                key = (ch << 7) | pitch
                slot = code >> 24
                if code & 256:
                    if inst is not None and (slot >= n_slots or audible[slot]):
                        inst.noteon(inst.ptr, ch, pitch, vels[i])
                        sounding[key] += 1
                        self.n_sounding += 1
                elif sounding[key]:
                    if inst is not None:
                        inst.noteoff(inst.ptr, ch, pitch)
                    sounding[key] -= 1
                    self.n_sounding -= 1
                i += 1
            self._cursor = i
        if song.audio:
            self._play_regions(song, f0, n, pos)
        self.song_pos = end

    def _play_regions(self, song: SongRuntime, f0: int, n: int, pos: int) -> None:
        end = pos + n
        sb = self.strip_buf
        tmp = self._tmp
        for track in song.audio:
            for r in track.regions:
                if r.end <= pos or r.start >= end:
                    continue
                a = pos if pos > r.start else r.start
                b = end if end < r.end else r.end
                src = r.source + a - r.start
                data = r.data
                m = min(b - a, data.shape[1] - src)
                if m <= 0 or src < 0:
                    continue
                d0 = f0 + a - pos
                dst = sb[track.strip, :, d0:d0 + m]
                into = a - r.start
                left = r.end - a
                if into < r.fade_in or left - m < r.fade_out:
                    env = self._env[:m]
                    env.fill(r.gain)
                    if into < r.fade_in:
                        e2 = self._env2[:m]
                        np.add(self._ramp[:m], into, out=e2)
                        np.multiply(e2, 1.0 / r.fade_in, out=e2)
                        np.minimum(e2, 1.0, out=e2)
                        np.multiply(env, e2, out=env)
                    if left - m < r.fade_out:
                        e2 = self._env2[:m]
                        np.subtract(left, self._ramp[:m], out=e2)
                        np.multiply(e2, 1.0 / r.fade_out, out=e2)
                        np.minimum(e2, 1.0, out=e2)
                        np.multiply(env, e2, out=env)
                    np.multiply(data[:, src:src + m], env, out=tmp[:, :m])
                else:
                    np.multiply(data[:, src:src + m], r.gain, out=tmp[:, :m])
                np.add(dst, tmp[:, :m], out=dst)

    def _select_slot(self, slot: int) -> None:
        """Render the next block into strip-buffer set `slot` (offline pipelining)."""
        self._slot = slot
        self.strip_buf = self._slots[slot]
        self._dry_base = self._dry_bases[slot]
        self._fx_base = self._fx_bases[slot]
        self._dry_ptrs[:] = self._dry_base
        self._fx_ptrs[:] = self._fx_base
        self._ptr_offset = 0

    def _render(self, frames: int) -> None:
        """The synth's channels and the audio tracks into their strip buffers."""
        sb = self.strip_buf
        sb[:MIDI_STRIPS, :, :frames].fill(0.0)
        sb[FX_RETURN, :, :frames].fill(0.0)
        for s in self._active_strips:
            if s >= MIDI_STRIPS:
                sb[s, :, :frames].fill(0.0)
        if self._ptr_offset:
            self._dry_ptrs[:] = self._dry_base
            self._fx_ptrs[:] = self._fx_base
            self._ptr_offset = 0
        self._rendered = 0
        t = self.transport
        if self.song is not None and t.state == TransportState.PLAYING:
            cur = 0
            if not self._was_playing:  # the count-in ended inside this block
                cur = max(0, t.play_offset)
                self._sync_song(t.count_in_target)
            for j in range(t.jump_count):  # loop jumps
                jump = int(t.jump_offsets[j])
                self._play(cur, jump)
                self._synth_to(jump)
                self._song_notes_off()
                self._sync_song(float(t.jump_beats[j]))
                cur = jump
            self._play(cur, frames)
        self._synth_to(frames)

    def chain_jobs(self, slot: int) -> list[int]:
        """The strips of the block in strip-buffer set `slot` whose effect chains
        must run (offline pipelining hands them to worker threads)."""
        chains = self._slot_mix[slot].chains
        return [s for s in self._slot_strips[slot] if chains[s] is not None]

    def run_chain(self, slot: int, strip: int, frames: int) -> np.ndarray | None:
        """One strip's effect chain on the block in set `slot`; None if a plugin
        raised. Safe on a worker thread: pedalboard releases the GIL, and each chain
        sees exactly the samples it would see in the callback."""
        chain = self._slot_mix[slot].chains[strip]
        if chain is None:  # dropped after a failure while this block waited
            return None
        try:
            out: np.ndarray = chain.process(self._slots[slot][strip, :, :frames],
                                            self.sample_rate, PEDALBOARD_BLOCK, False)
        except Exception:  # a plugin that fails is left out, never the engine
            return None
        return out

    def _mix(self, out: np.ndarray, frames: int, slot: int,
             processed: list[np.ndarray | None] | None) -> None:
        """Strips through their effects and faders into the master bus, then the FX
        return, the master's inserts, limiter and volume, into `out`. `processed`:
        the chains' outputs when worker threads ran them (None: run them here)."""
        mix = self._slot_mix[slot]
        sb = self._slots[slot]
        master = self.master_buf[:, :frames]
        master.fill(0.0)
        peaks = self.block.strip_peaks
        np.multiply(peaks, PEAK_DECAY, out=peaks)
        tmp = self._mix_tmp[:, :frames]
        gains = mix.gains
        chains = mix.chains
        rate = self.sample_rate
        stems = self.stem_out
        for s in self._slot_strips[slot]:
            x = sb[s, :, :frames]
            chain = chains[s]
            if chain is not None:
                y = processed[s] if processed is not None else self.run_chain(slot, s, frames)
                if y is None:  # a plugin raised: the chain is dropped from the mix
                    chains[s] = None
                    self.plugin_failures += 1
                else:
                    x = y
            elif not x.any():
                if stems is not None:
                    stems[s, :, :frames].fill(0.0)
                continue  # a silent channel without effects costs nothing more
            np.multiply(x, gains[s], out=tmp)
            if stems is not None:
                stems[s, :, :frames] = tmp
            np.add(master, tmp, out=master)
            np.abs(tmp, out=tmp)
            left = tmp[0].max()
            right = tmp[1].max()
            if left > peaks[s, 0]:
                peaks[s, 0] = left
            if right > peaks[s, 1]:
                peaks[s, 1] = right
        if self.instrument is not None and (self.reverb_on or self.chorus_on):
            # The synth's shared reverb and chorus: each channel's send was already
            # scaled by its fader (zero when muted), so the return joins at unity.
            ret = sb[FX_RETURN, :, :frames]
            if stems is not None:
                stems[FX_RETURN, :, :frames] = ret
            np.add(master, ret, out=master)
        y = master
        if mix.master_chain is not None:
            try:
                y = mix.master_chain.process(master, rate, PEDALBOARD_BLOCK, False)
            except Exception:
                mix.master_chain = None
                self.plugin_failures += 1
        np.multiply(y.T, mix.master_gain, out=out[:frames])

    def process(self, out: np.ndarray, frames: int) -> None:
        """Fill `out[:frames]` (float32, stereo, C-contiguous) with the next block."""
        if frames <= MAX_FRAMES:
            self._process(out, frames)
            return
        done = 0
        while done < frames:  # offline renders may ask for long blocks
            n = min(MAX_FRAMES, frames - done)
            self._process(out[done:done + n], n)
            done += n

    def _process(self, out: np.ndarray, frames: int) -> None:
        slot = self._slot
        self._front(frames)
        self._finish(out, frames, slot, None)

    def _front(self, frames: int) -> None:
        """Everything up to the strips' effects: swaps, commands, live MIDI, the
        transport, the song, the synth and the audio regions into the current set of
        strip buffers, and the metronome's clicks into that set's click buffer."""
        if self.pending_instrument is not None:
            self._swap_instrument()
        if self.pending_program is not None:
            self._swap_program()
        if self.pending_params is not None:
            self._apply_params()
        self._drain_commands()
        self._note_anchor()
        if self.midi_sources or self.stamped_midi is not None:
            self._poll_midi()
        t = self.transport
        self._song_before(frames)
        t.advance(self.clock, frames)
        self._note_anchor()
        self._render(frames)
        slot = self._slot
        self._slot_mix[slot] = self.mix
        self._slot_strips[slot] = self._active_strips
        # The count-in always clicks, even with the metronome off.
        clicks = ((t.metronome_on and t.state != TransportState.STOPPED)
                  or t.state == TransportState.COUNT_IN)
        self._slot_clicks[slot] = clicks
        if clicks:
            buf = self._click_bufs[slot, :frames]
            buf.fill(0.0)
            self.metronome.render(buf, frames, t.click_offsets, t.click_accents,
                                  t.click_count)
        if t.state_changed:
            t.state_changed = False
            self._emit(Evt.TRANSPORT, int(t.state), t.beat_at(self.clock))
        self.clock += frames
        self.blocks += 1

    def _finish(self, out: np.ndarray, frames: int, slot: int,
                processed: list[np.ndarray | None] | None) -> None:
        """The block that `_front` rendered into set `slot`: mixed into `out`."""
        self._mix(out, frames, slot, processed)
        if self._slot_clicks[slot]:
            block = out[:frames]
            np.add(block, self._click_bufs[slot, :frames], out=block)
        if self.master_gain != 1.0:
            out[:frames] *= self.master_gain
        self._meter(out, frames)
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
