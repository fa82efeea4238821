"""Offline renders faster than one core allows, with the callback's result to the bit.

`RenderPipeline.blocks` runs an EngineGraph block by block like the live callback
does, but overlaps its two halves: while worker threads run the strips' effect
chains of block k+1 (pedalboard releases the GIL), the calling thread sums block k
(in the callback's order, so the samples are exactly those of
`EngineGraph.process`), hands it out, renders block k+2's front half (transport,
song, FluidSynth, whose ctypes calls release the GIL too, and the audio regions)
into block k's set of strip buffers, then joins the workers on what is left.

Every chain still processes its strip's blocks in order, one at a time; the front
half never reads what the back half writes. Never used in the engine process: the
callback must not wait on other threads.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Generator, Iterable, Iterator

import numpy as np

from strumspace_desktop.audio.graph import MAX_FRAMES, STRIP_ROWS, EngineGraph

JOIN_TIMEOUT_S = 10.0


def default_workers() -> int:
    """Worker threads beside the calling one: one per further core."""
    return max(0, min(8, os.cpu_count() or 1) - 1)


class RenderPipeline:
    def __init__(self, graph: EngineGraph, workers: int | None = None) -> None:
        self.graph = graph
        n = default_workers() if workers is None else max(0, workers)
        self._start = threading.Barrier(n + 1)
        self._done = threading.Barrier(n + 1)
        self._jobs: list[int] = []
        self._counter = itertools.count()
        self._slot = 0
        self._frames = 0
        self._processed: list[list[np.ndarray | None]] = [[None] * STRIP_ROWS,
                                                          [None] * STRIP_ROWS]
        self._closing = False
        self._active: Generator[tuple[np.ndarray, int], None, None] | None = None
        self._threads = [threading.Thread(target=self._work, name=f"render-fx-{i}",
                                          daemon=True) for i in range(n)]
        for t in self._threads:
            t.start()

    @property
    def workers(self) -> int:
        return len(self._threads)

    def _work(self) -> None:
        while True:
            try:
                self._start.wait()
            except threading.BrokenBarrierError:
                return
            if self._closing:
                return
            self._run_jobs()
            try:
                self._done.wait()
            except threading.BrokenBarrierError:
                return

    def _run_jobs(self) -> None:
        """Take chains off the shared list until none is left (workers and caller)."""
        jobs, counter = self._jobs, self._counter
        graph, slot, frames = self.graph, self._slot, self._frames
        out = self._processed[slot]
        while True:
            i = next(counter)  # atomic under the GIL: each chain is taken once
            if i >= len(jobs):
                return
            strip = jobs[i]
            out[strip] = graph.run_chain(slot, strip, frames)

    def _start_chains(self, slot: int, frames: int) -> None:
        self._jobs = self.graph.chain_jobs(slot)
        self._counter = itertools.count()
        self._slot, self._frames = slot, frames
        if self._threads:
            self._start.wait()

    def _join_chains(self) -> None:
        self._run_jobs()
        if self._threads:
            self._done.wait()

    def blocks(self, sizes: Iterable[int]) -> Iterator[tuple[np.ndarray, int]]:
        """See `_blocks`; `close` finishes a render left half way."""
        self._active = self._blocks(sizes)
        return self._active

    def _blocks(self, sizes: Iterable[int]) -> Generator[tuple[np.ndarray, int], None, None]:
        """Render blocks of the given sizes (each at most MAX_FRAMES); yields the
        block's stereo frames (valid until the next one) and its size.

        Per step, with block k's chains done and block k+1 synthesized: the workers
        start on block k+1's chains while this thread sums block k, hands it out,
        synthesizes block k+2 into block k's buffers, and helps with the chains."""
        graph = self.graph
        out = np.zeros((MAX_FRAMES, 2), np.float32)
        todo = list(sizes)
        if not todo:
            return
        graph._select_slot(0)
        graph._front(todo[0])
        self._start_chains(0, todo[0])
        try:
            if len(todo) > 1:
                graph._select_slot(1)
                graph._front(todo[1])
        finally:
            self._join_chains()
        for k, n in enumerate(todo):
            slot = k % 2
            more = k + 1 < len(todo)
            if more:
                self._start_chains(1 - slot, todo[k + 1])
            try:
                graph._finish(out, n, slot, self._processed[slot])
                yield out[:n], n
                if k + 2 < len(todo):
                    graph._select_slot(slot)
                    graph._front(todo[k + 2])
            finally:
                if more:
                    self._join_chains()
        graph._select_slot(0)

    def close(self) -> None:
        if self._active is not None:
            # A render left at a block (an error while writing it): its workers finish
            # the chains they were given before they are told to stop.
            self._active.close()
            self._active = None
        if not self._threads:
            return
        self._closing = True
        with contextlib.suppress(threading.BrokenBarrierError):
            self._start.wait(JOIN_TIMEOUT_S)
        for t in self._threads:
            t.join(JOIN_TIMEOUT_S)
        self._threads = []
