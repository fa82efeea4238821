"""Songs for the playback tests: real documents, compiled and loaded into a real graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from strumspace_desktop.audio.graph import EngineGraph
from strumspace_desktop.audio.mixer import PluginFactory
from strumspace_desktop.audio.protocol import Cmd
from strumspace_desktop.audio.shared_block import SharedBlock
from strumspace_desktop.audio.song_data import mix_state, song_update
from strumspace_desktop.audio.song_loader import SongLoader
from strumspace_desktop.audio.synth import FluidSynthInstrument
from strumspace_desktop.core.document import Document, Note
from strumspace_desktop.core.document.compile import compile_document
from strumspace_desktop.core.document.model import Instrument

RATE = 48000
PPQ = 960


def two_track_song(bpm: float = 120.0) -> tuple[Document, str, str]:
    """Piano on channel 0 (a note every half beat) and bass on channel 1."""
    doc = Document.new("test", bpm=bpm)
    piano = doc.add_track("midi", "Piano", instrument=Instrument(0, 0, 0))
    bass = doc.add_track("midi", "Bass", instrument=Instrument(33, 0, 1))
    clip = doc.add_midi_clip(piano, 0, PPQ * 8)
    doc.add_notes(clip, [Note(60 + i % 12, i * 480, 400, 100, 0) for i in range(16)])
    clip = doc.add_midi_clip(bass, 0, PPQ * 8)
    doc.add_notes(clip, [Note(36 + i % 5, i * PPQ, 900, 110, 1) for i in range(8)])
    return doc, piano, bass


class SongGraph:
    """A graph with the FluidR3 synth (its own reverb and chorus off unless
    `synth_effects`) and `document` loaded the way the engine loads it."""

    def __init__(self, document: Any, soundfont: Path, *, project: Any = None,
                 factory: PluginFactory | None = None, synth_effects: bool = False) -> None:
        self.block = SharedBlock.create()
        self.graph = EngineGraph(self.block, RATE, FluidSynthInstrument(RATE, soundfont))
        self.graph.master_gain = 1.0
        self.graph.transport.metronome_on = False
        self.graph.transport.count_in_bars = 0
        self.block.commands.push(Cmd.SYNTH_EFFECTS, float(synth_effects), float(synth_effects))
        self.loader = SongLoader(RATE, factory)
        self.document = document
        self.project = project
        self.messages: list[str] = []
        self.load()

    def load(self) -> None:
        song = compile_document(self.document, RATE)
        finder = self.project.audio_path if self.project is not None else (lambda _b: None)
        self.messages += self.loader.set_song(self.graph, song_update(song, finder))["messages"]
        self.messages += self.loader.set_mix(self.graph, mix_state(self.document, song))[
            "messages"]

    def command(self, op: Cmd, *args: float) -> None:
        self.block.commands.push(op, *args)

    def render(self, frames: int, block: int = 256) -> np.ndarray:
        out = np.zeros((block, 2), np.float32)
        chunks = []
        done = 0
        while done < frames:
            n = min(block, frames - done)
            self.graph.process(out, n)
            chunks.append(out[:n].copy())
            done += n
        return np.concatenate(chunks)

    def close(self) -> None:
        inst = self.graph.instrument
        if inst is not None:
            inst.close()
        self.block.close()


def vst3_chain_check(plugin: str) -> tuple[list[str], int, bool]:
    """Run in a child process: a song whose piano strip holds a mono-only VST3 (skipped),
    the stereo `plugin` and a gain into it. (messages, plugin failures, output differs
    from the dry render)."""
    from strumspace_desktop.audio.synth import find_default_soundfont

    font = find_default_soundfont()
    assert font is not None
    doc, piano, bass = two_track_song()
    doc.set_mixer(bass, mute=True)
    dry = SongGraph(doc, font)
    dry.command(Cmd.PLAY)
    dry_audio = dry.render(2 * RATE)
    dry.close()
    doc.add_effect(piano, "vst3", {}, plugin="/usr/lib/vst3/ZamDelay.vst3")
    doc.add_effect(piano, "gain", {"gain_db": 12.0})
    doc.add_effect(piano, "vst3", {}, plugin=plugin)
    wet = SongGraph(doc, font, factory=PluginFactory(probe_timeout=30))
    try:
        wet.command(Cmd.PLAY)
        audio = wet.render(2 * RATE)
        return (wet.messages, wet.graph.plugin_failures,
                bool(np.abs(audio).max() > 0.01 and not np.allclose(audio, dry_audio,
                                                                    atol=1e-3)))
    finally:
        wet.close()


def failing_plugin_render(plugin: str, workers: int) -> tuple[np.ndarray, int]:
    """Run in a child process: the two-track song rendered offline with `plugin` (a
    mono-only VST3, which raises on stereo blocks) forced into the piano's chain
    after the loader's checks. (the audio, the plugin failures counted)."""
    import pedalboard

    from strumspace_desktop.audio.offline_render import RenderOptions, _Renderer

    doc, _piano, _bass = two_track_song()
    r = _Renderer(doc, RenderOptions(tail_seconds=0.5), stems=False, workers=workers)
    try:
        r.graph.mix.chains[0] = pedalboard.Pedalboard([pedalboard.load_plugin(plugin)])
        audio = np.concatenate([chunk.copy() for chunk, _n in r.blocks(None, None)])
        return audio, r.graph.plugin_failures
    finally:
        r.close()
