"""The control-thread side of song playback: from UI updates to a swapped-in program.

`SongLoader` keeps the engine's copy of the song and the mix, builds the runtimes
(song_runtime, mixer) and hands them to an EngineGraph at a block boundary: with a
running callback it publishes them in `pending_program` and waits until the
callback took them; without one (offline rendering, no device) it swaps them in
itself. The replaced runtimes are dropped here, never in the callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from strumspace_desktop.audio.graph import EngineGraph
from strumspace_desktop.audio.mixer import MixBuilder, MixRuntime, PluginFactory
from strumspace_desktop.audio.song_data import MIDI_STRIPS, MixState, SongUpdate
from strumspace_desktop.audio.song_runtime import SongBuilder, SongRuntime

SWAP_TIMEOUT_S = 2.0


class SongLoader:
    def __init__(self, sample_rate: int, factory: PluginFactory | None = None) -> None:
        self.sample_rate = sample_rate
        self.songs = SongBuilder(sample_rate)
        self.mixes = MixBuilder(factory)
        self.song: SongRuntime | None = None
        self.mix_state: MixState | None = None
        self.mix: MixRuntime = MixRuntime.unity()

    def _slots(self, song: SongRuntime | None, mix: MixRuntime) -> tuple[list[bool], list[int]]:
        audible = [True] * (len(song.slots) if song is not None else 0)
        if song is not None:
            for tid, slot in song.slots.items():
                audible[slot] = mix.audible.get(tid, True)
        strips = list(range(MIDI_STRIPS)) + list(song.audio_strips if song is not None else ())
        return audible, strips

    def set_song(self, graph: EngineGraph | None, update: SongUpdate,
                 running: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        song, changed = self.songs.apply(update)
        self.song = song
        if self.mix_state is not None:
            # Mute and solo of tracks that arrived now; the effects are unchanged.
            self.mix, params = self.mixes.build(self.mix_state)
        else:
            params = []
        self._install(graph, song, self.mix, params, running)
        return {"tracks": len(self.songs.tracks), "changed": len(changed),
                "messages": list(song.messages)}

    def set_mix(self, graph: EngineGraph | None, mix: MixState,
                running: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        self.mix_state = mix
        self.mix, params = self.mixes.build(mix)
        self._install(graph, None, self.mix, params, running)
        return {"messages": list(self.mixes.messages)}

    def reinstall(self, graph: EngineGraph) -> None:
        """A new graph (a new device or sample rate) gets the song and mix again."""
        if self.songs.sample_rate != graph.sample_rate:
            # Song samples are at the old rate: the UI compiles and sends it again.
            self.sample_rate = graph.sample_rate
            self.songs = SongBuilder(graph.sample_rate)
        self.song = self.songs.build() if self.songs.tracks else None
        if self.mix_state is not None:
            self.mixes = MixBuilder(self.mixes.factory)  # plugins belong to the old graph
            self.mix, _ = self.mixes.build(self.mix_state)
        self._install(graph, self.song, self.mix, [], lambda: False)

    def _install(self, graph: EngineGraph | None, song: SongRuntime | None, mix: MixRuntime,
                 params: list[tuple[Any, str, float]], running: Callable[[], bool]) -> None:
        if graph is None:
            return
        current = song if song is not None else self.song
        audible, strips = self._slots(current, mix)
        self._wait(graph, running)
        graph.pending_params = params or None
        graph.pending_program = (song, mix, audible, strips)
        if running():
            deadline = time.monotonic() + SWAP_TIMEOUT_S
            while graph.pending_program is not None and time.monotonic() < deadline:
                time.sleep(0.002)
        if graph.pending_program is not None:
            # No callback runs now: swap here, nothing else touches the graph.
            graph._swap_program()
            graph._apply_params()
        graph.retired_program = None

    @staticmethod
    def _wait(graph: EngineGraph, running: Callable[[], bool]) -> None:
        """Let the callback take the previous parameter writes first."""
        if graph.pending_params is None:
            return
        deadline = time.monotonic() + SWAP_TIMEOUT_S
        while running() and graph.pending_params is not None and time.monotonic() < deadline:
            time.sleep(0.002)
        if graph.pending_params is not None:
            graph._apply_params()
