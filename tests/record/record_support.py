"""An engine graph run offline (no device): commands and MIDI at exact clocks in,
the engine's events out, as the live engine would produce them."""

from __future__ import annotations

from collections import deque

import numpy as np

from strumspace_desktop.audio.graph import EngineGraph
from strumspace_desktop.audio.protocol import Cmd
from strumspace_desktop.audio.shared_block import SharedBlock

RATE = 48000
BLOCK = 256


class ScheduledMidi:
    """A stamped MIDI source (like JackMidiInputs): events at absolute engine clocks."""

    def __init__(self) -> None:
        self.queue: deque[tuple[int, list[int]]] = deque()

    def drain_into(self, sink: EngineGraph) -> None:
        end = sink.clock + BLOCK
        while self.queue and self.queue[0][0] < end:
            at, data = self.queue.popleft()
            sink.handle_midi(data, at - sink.clock)


class OfflineEngine:
    def __init__(self, bpm: float = 120.0, count_in: int = 0) -> None:
        self.block = SharedBlock.create()
        self.graph = EngineGraph(self.block, RATE, None)
        self.midi = ScheduledMidi()
        self.graph.stamped_midi = self.midi
        self.out = np.zeros((BLOCK, 2), np.float32)
        self.events: list[tuple[float, ...]] = []
        self.command(Cmd.TEMPO, bpm)
        self.command(Cmd.COUNT_IN, count_in)
        self.command(Cmd.METRONOME, 0, 0)
        self.run_blocks(1)

    @property
    def clock(self) -> int:
        return self.graph.clock

    def command(self, op: Cmd, *values: float) -> None:
        self.block.commands.push(int(op), *values)

    def note(self, at: int, pitch: int, length: int, velocity: int = 100) -> None:
        """Schedule a note at absolute engine clocks (must be queued in time order)."""
        self.midi.queue.append((at, [0x90, pitch, velocity]))
        self.midi.queue.append((at + length, [0x80, pitch, 0]))
        self.midi.queue = deque(sorted(self.midi.queue, key=lambda e: e[0]))

    def run_blocks(self, n: int) -> list[tuple[float, ...]]:
        for _ in range(n):
            self.graph.process(self.out, BLOCK)
        got = self.block.events.pop_all()
        self.events.extend(got)
        return got

    def run_until(self, clock: int) -> list[tuple[float, ...]]:
        n = max(0, -(-(clock - self.clock) // BLOCK))
        return self.run_blocks(n)

    def close(self) -> None:
        self.block.close()
