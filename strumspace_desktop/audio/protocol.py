"""Opcodes of the real-time command and event rings, and the status fields.

Records are six float64 values: [opcode, a, b, c, d, e]. Integers up to 2**53 are
exact in a float64, which covers sample clocks for thousands of years.
"""

from __future__ import annotations

from enum import IntEnum

# The engine process's exit status when its device vanished (EngineClient then
# restarts it). Here, not in engine_process, so that the UI process can read it
# without importing sounddevice: PortAudio initialised there can abort at exit.
EXIT_STREAM_LOST = 75


class Cmd(IntEnum):
    """UI -> engine, applied at the start of the next audio block."""

    NOTE_ON = 1  # channel, note, velocity
    NOTE_OFF = 2  # channel, note
    CONTROL_CHANGE = 3  # channel, controller, value
    PITCH_BEND = 4  # channel, value 0..16383 (8192 centre)
    PROGRAM = 5  # channel, bank, program
    ALL_NOTES_OFF = 6  # channel (-1: every channel)
    PLAY = 10
    STOP = 11  # a second STOP while stopped returns to the start
    LOCATE = 12  # beat position
    TEMPO = 13  # bpm
    METER = 14  # numerator, denominator
    COUNT_IN = 15  # bars (0, 1, 2)
    LOOP = 16  # enabled, start beat, end beat
    RECORD_ARM = 17  # armed
    METRONOME = 18  # enabled, gain
    MASTER_GAIN = 19  # gain
    INPUT_CHANNEL = 20  # synth channel that live MIDI input plays
    CHANNEL_MIX = 21  # channel, gain 0..1 (mute/solo/volume already folded in)
    SYNTH_EFFECTS = 22  # reverb on, chorus on (the instrument's built-in effect units)
    INPUT_MONITOR = 60  # on, gain: the audio input mixed into the output (recording)


class Evt(IntEnum):
    """Engine -> UI, stamped with the engine's sample clock in field 1."""

    NOTE_ON = 1  # clock, channel, note, velocity, source (0 input port, 1 UI)
    NOTE_OFF = 2  # clock, channel, note
    CONTROL_CHANGE = 3  # clock, channel, controller, value (as received from the controller)
    PITCH_BEND = 4  # clock, channel, value
    PROGRAM = 5  # clock, channel, program
    XRUN = 10  # clock, total xruns
    TRANSPORT = 11  # clock, state, beat
    OVERFLOW = 12  # clock, events lost because the ring was full
    # clock where a new beat line starts, state, beat there, samples per beat, meter
    # denominator: beat(c) = beat + (c - clock) / samples_per_beat until the next one.
    ANCHOR = 20


class TransportState(IntEnum):
    STOPPED = 0
    COUNT_IN = 1
    PLAYING = 2


class St(IntEnum):
    """Indices into the shared status array, written by the engine once per block."""

    HEARTBEAT = 0  # blocks processed
    CLOCK = 1  # samples processed since the stream started
    STATE = 2  # TransportState
    BEAT = 3  # transport position in beats of the meter's unit (negative in count-in)
    SECONDS = 4  # transport position in seconds (negative in count-in)
    TEMPO = 5
    NUMERATOR = 6
    DENOMINATOR = 7
    XRUNS = 8
    LOAD = 9  # last callback time / period
    LOAD_PEAK = 10  # decaying peak of LOAD
    PEAK_LEFT = 11  # decaying output peak, linear
    PEAK_RIGHT = 12
    RUNNING = 13  # 1 while the stream runs
    SAMPLE_RATE = 14
    BLOCKSIZE = 15
    INPUT_LATENCY = 16  # seconds, as the host API reports
    OUTPUT_LATENCY = 17
    RECORD_ARMED = 18
    LOOP_ON = 19
    LOOP_START = 20
    LOOP_END = 21
    MIDI_IN_COUNT = 22  # MIDI messages received from ports
    VOICES = 23
    COUNT_IN_BARS = 24
    METRONOME_ON = 25
    TIMING_INDEX = 26  # callbacks written into the timings ring so far
    EVENTS_DROPPED = 27
    MASTER_GAIN = 28
    INPUT_CHANNEL = 29
    SYNTH_GENERATION = 30  # bumps each time a new SoundFont synth is swapped in
    METRONOME_GAIN = 31
    # Recording (RECORD helper's fields, kept at the end of the array).
    JACK_FRAME_OFFSET = 60  # JACK frame time minus the engine clock, this block
