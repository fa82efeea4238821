"""The engine graph rendered offline: deterministic, sample-accurate, allocation-stable."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from strumspace_desktop.audio.graph import EngineGraph
from strumspace_desktop.audio.protocol import Cmd, Evt, St, TransportState
from strumspace_desktop.audio.shared_block import SharedBlock
from strumspace_desktop.audio.synth import FluidSynthInstrument, SoundFontError

RATE = 48000


@pytest.fixture
def block() -> Iterator[SharedBlock]:
    b = SharedBlock.create()
    yield b
    b.close()


def render(graph: EngineGraph, blocks: int, frames: int) -> np.ndarray:
    out = np.zeros((frames, 2), np.float32)
    chunks = []
    for _ in range(blocks):
        graph.process(out, frames)
        chunks.append(out.copy())
    return np.concatenate(chunks)


def onsets(signal: np.ndarray, threshold: float = 0.05, gap: int = 2000) -> list[int]:
    """Sample indices where |signal| first exceeds threshold after `gap` quiet samples."""
    loud = np.nonzero(np.abs(signal) > threshold)[0]
    found: list[int] = []
    for i in loud:
        if not found or i - found[-1] > gap:
            found.append(int(i))
    return found


@pytest.mark.parametrize("frames", [64, 100, 256, 1024])
def test_metronome_clicks_land_on_their_exact_samples(block: SharedBlock, frames: int) -> None:
    graph = EngineGraph(block, RATE, instrument=None)
    block.commands.push(Cmd.TEMPO, 137.0)
    block.commands.push(Cmd.COUNT_IN, 1)
    block.commands.push(Cmd.PLAY)
    audio = render(graph, int(RATE * 4 / frames), frames)
    spb = RATE * 60 / 137.0
    expected = [round(k * spb) for k in range(int(len(audio) / spb) + 1)
                if round(k * spb) + 10 < len(audio)]
    assert onsets(audio[:, 0]) == expected
    # Downbeats (count-in bar and bar 1) are the accented, higher click.
    first = audio[expected[0]:expected[0] + 200, 0]
    second = audio[expected[1]:expected[1] + 200, 0]
    zero_crossings = lambda x: int(np.sum(np.diff(np.sign(x)) != 0))  # noqa: E731
    assert zero_crossings(first) > zero_crossings(second)


def test_rendering_is_deterministic(block: SharedBlock, soundfont: Path) -> None:
    def take() -> np.ndarray:
        b = SharedBlock.create()
        try:
            graph = EngineGraph(b, RATE, FluidSynthInstrument(RATE, soundfont))
            b.commands.push(Cmd.PROGRAM, 0, 0, 0)
            b.commands.push(Cmd.NOTE_ON, 0, 60, 100)
            b.commands.push(Cmd.NOTE_ON, 0, 64, 90)
            b.commands.push(Cmd.PLAY)
            return render(graph, 200, 128)
        finally:
            b.close()

    a, b2 = take(), take()
    assert np.abs(a).max() > 0.05
    assert np.array_equal(a, b2)


@pytest.mark.parametrize("frames", [64, 128, 256, 1024])
def test_synth_note_starts_within_fluidsynth_block(block: SharedBlock, soundfont: Path,
                                                   frames: int) -> None:
    inst = FluidSynthInstrument(RATE, soundfont)
    graph = EngineGraph(block, RATE, inst)
    block.commands.push(Cmd.PROGRAM, 0, 0, 0)
    silence = render(graph, 10, frames)
    assert np.abs(silence).max() < 1e-6  # FluidSynth's anti-denormal noise, no more
    block.commands.push(Cmd.NOTE_ON, 0, 60, 127)
    audio = render(graph, 20, frames)
    first = int(np.nonzero(np.abs(audio[:, 0]) > 1e-4)[0][0])
    assert first < 64  # FluidSynth starts a note at its next 64-frame boundary: here 0


def test_drum_kit_and_all_programs_sound(block: SharedBlock, soundfont: Path) -> None:
    inst = FluidSynthInstrument(RATE, soundfont)
    graph = EngineGraph(block, RATE, inst)
    silent_programs = []
    for program in range(128):
        block.commands.push(Cmd.PROGRAM, 0, 0, program)
        block.commands.push(Cmd.NOTE_ON, 0, 60, 110)
        audio = render(graph, 12, 256)
        block.commands.push(Cmd.ALL_NOTES_OFF, -1)
        render(graph, 4, 256)
        if np.abs(audio).max() < 1e-3:
            silent_programs.append(program)
    # Some GM sound effects (e.g. 120 Reverse Cymbal) start slowly; nearly all sound at once.
    assert len(silent_programs) <= 3, silent_programs
    block.commands.push(Cmd.PROGRAM, 9, 0, 0)  # channel 10: the GM drum kit
    block.commands.push(Cmd.NOTE_ON, 9, 38, 120)  # acoustic snare
    assert np.abs(render(graph, 12, 256)).max() > 0.01


def test_live_midi_is_routed_to_the_input_channel(block: SharedBlock, soundfont: Path) -> None:
    graph = EngineGraph(block, RATE, FluidSynthInstrument(RATE, soundfont))
    block.commands.push(Cmd.INPUT_CHANNEL, 3)
    render(graph, 1, 256)
    graph.handle_midi([0x90, 62, 100])  # note on, channel 1 on the controller
    graph.handle_midi([0xB0, 64, 127])  # sustain
    graph.handle_midi([0xE0, 0, 80])  # pitch bend up
    graph.handle_midi([0xB0, 1, 40])  # modulation
    graph.handle_midi([0x80, 62, 0])
    assert np.abs(render(graph, 20, 256)).max() > 0.01  # sustained: still sounding
    events = block.events.pop_all()
    kinds = [(int(e[0]), int(e[2]), int(e[3])) for e in events]
    assert (Evt.NOTE_ON, 3, 62) in kinds and (Evt.NOTE_OFF, 3, 62) in kinds
    assert (Evt.CONTROL_CHANGE, 0, 64) in kinds and (Evt.PITCH_BEND, 3, 80 << 7) in kinds


def test_learned_controller_does_not_reach_the_synth(block: SharedBlock,
                                                     soundfont: Path) -> None:
    graph = EngineGraph(block, RATE, FluidSynthInstrument(RATE, soundfont))
    block.cc_consume[0, 7] = 1
    block.commands.push(Cmd.NOTE_ON, 0, 60, 120)
    loud = np.abs(render(graph, 10, 256)).max()
    graph.handle_midi([0xB0, 7, 0])  # bound to something else: volume must stay
    assert np.abs(render(graph, 4, 256)).max() > loud * 0.3
    assert block.events.pop_all()[-1][0] == Evt.CONTROL_CHANGE


def test_soundfont_swap_keeps_channel_programs(block: SharedBlock, soundfont: Path) -> None:
    graph = EngineGraph(block, RATE, FluidSynthInstrument(RATE, soundfont))
    block.commands.push(Cmd.PROGRAM, 2, 0, 40)
    render(graph, 1, 256)
    graph.pending_instrument = FluidSynthInstrument(RATE, soundfont)
    render(graph, 1, 256)
    assert graph.retired_instrument is not None and graph.synth_generation == 1
    assert block.status[St.SYNTH_GENERATION] == 1
    assert tuple(graph.programs[2]) == (0, 40)


def test_missing_and_broken_soundfonts_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SoundFontError, match="does not exist"):
        FluidSynthInstrument(RATE, tmp_path / "nope.sf2")
    bad = tmp_path / "broken.sf2"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00sfbk" + b"\x00" * 100)
    with pytest.raises(SoundFontError, match=r"broken\.sf2"):
        FluidSynthInstrument(RATE, bad)
    text = tmp_path / "notes.sf2"
    text.write_text("not a soundfont")
    with pytest.raises(SoundFontError, match="not a SoundFont"):
        FluidSynthInstrument(RATE, text)


def test_no_memory_growth_over_ten_thousand_callbacks(block: SharedBlock,
                                                      soundfont: Path) -> None:
    graph = EngineGraph(block, RATE, FluidSynthInstrument(RATE, soundfont))
    out = np.zeros((128, 2), np.float32)
    block.commands.push(Cmd.PLAY)

    def cycle(i: int) -> None:
        # Steady-state traffic: notes, a controller, transport reads, events out.
        if i % 50 == 0:
            block.commands.push(Cmd.NOTE_ON, 0, 48 + i % 24, 90)
            graph.handle_midi([0xB0, 1, i % 128])
        if i % 50 == 25:
            block.commands.push(Cmd.NOTE_OFF, 0, 48 + (i - 25) % 24)
        if i % 200 == 0:
            block.events.pop_all()
        graph.process(out, 128)

    for i in range(2000):  # warm up caches, interned ints, voice pools
        cycle(i)
    ours = str(Path(__file__).parents[2] / "strumspace_desktop")
    tracemalloc.start(5)
    try:
        before = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, ours + "/*")])
        for i in range(10_000):
            cycle(i)
        after = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, ours + "/*")])
    finally:
        tracemalloc.stop()
    growth = [s for s in after.compare_to(before, "lineno") if s.size_diff > 0]
    # The few transient objects alive at the moment of the snapshot (the last block's
    # ctypes pointer, say) may differ; a leak of even one small object per callback
    # would add hundreds of kilobytes over 10,000 callbacks.
    assert sum(s.size_diff for s in growth) < 1024, [str(s) for s in growth[:5]]
    assert sum(s.count_diff for s in growth) < 16
    assert graph.transport.state == TransportState.PLAYING


def test_built_in_effects_can_be_switched_off(block: SharedBlock, soundfont: Path) -> None:
    def tail_level(effects: bool) -> float:
        b = SharedBlock.create()
        try:
            graph = EngineGraph(b, RATE, FluidSynthInstrument(RATE, soundfont))
            b.commands.push(Cmd.SYNTH_EFFECTS, float(effects), float(effects))
            b.commands.push(Cmd.NOTE_ON, 0, 60, 110)
            render(graph, 20, 128)
            graph.handle_midi([0xB0, 120, 0])  # All Sound Off: voices stop at once
            return float(np.abs(render(graph, 40, 128)[3000:]).max())
        finally:
            b.close()

    assert tail_level(False) < 1e-4 < tail_level(True)  # only the reverb tail remains
