"""`LiveChordService`: starts, follows and stops the live chord worker (Qt-free).

The UI side holds one service. It tells the service about the engine's stream
(`follow(info)` with the `open_stream` / `stream_recovered` info, whose
`input_ring` names the shared input ring), and that the engine went away
(`engine_lost`); it calls `poll()` on its timer and gets `LiveChord`, `LiveStatus`
and `LiveStats` values back. A new ring (a restarted engine) restarts the worker; a
vanished engine stops it with a clear status; a worker that dies is reported, never
raised. Nothing here touches the engine: the worker only reads the ring.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from collections.abc import Mapping
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from strumspace_desktop.analysis.live_events import LiveChord, LiveState, LiveStats, LiveStatus
from strumspace_desktop.analysis.live_worker import LiveOptions, run_live_worker

LiveEvent = LiveChord | LiveStatus | LiveStats
STOP_TIMEOUT_S = 5.0


class LiveChordService:
    def __init__(self, options: LiveOptions | None = None) -> None:
        self.options = options or LiveOptions()
        self.status = LiveStatus(LiveState.OFF)
        self.ring_name: str | None = None
        self.last_chord: LiveChord | None = None
        self.last_stats: LiveStats | None = None
        self._proc: Any = None
        self._conn: Connection | None = None
        self._stop: Any = None
        self._pending: list[LiveEvent] = []
        self.enabled = True

    # Lifetime ----------------------------------------------------------------------
    def follow(self, stream_info: Mapping[str, Any] | None) -> None:
        """Listen to the input ring of this stream (restart on a new ring; stop with a
        status when the stream has no input)."""
        name = (stream_info or {}).get("input_ring")
        if not name:
            self.stop()
            self._set(LiveStatus(LiveState.NO_INPUT,
                                 "The audio device was opened without an input."))
            return
        if name == self.ring_name and self.running:
            return
        self.start(str(name))

    def start(self, ring_name: str) -> None:
        """(Re)start the worker on the input ring `ring_name`."""
        self._end_worker()
        self.ring_name = ring_name
        if not self.enabled:
            return
        ctx = mp.get_context("spawn")
        ours, theirs = ctx.Pipe(duplex=False)
        self._stop = ctx.Event()
        self._proc = ctx.Process(target=run_live_worker, name="strumspace-live-chords",
                                 args=(ring_name, self.options, theirs, self._stop),
                                 daemon=True)
        self._proc.start()
        theirs.close()
        self._conn = ours
        self._set(LiveStatus(LiveState.STARTING))

    def set_channels(self, channels: tuple[int, ...] | None) -> None:
        """Hear these input channels (0-based, mixed; None: all), e.g. the armed track's
        choice from `record.input_choice.resolve`; a running worker restarts."""
        self.options = replace(self.options, channels=channels)
        if self.ring_name is not None and self.running:
            self.start(self.ring_name)

    def engine_lost(self, message: str = "") -> None:
        """The engine (and its ring) went away: stop listening until `follow` again."""
        self._end_worker()
        self.ring_name = None
        self._set(LiveStatus(LiveState.NO_INPUT, message or
                             "The audio engine stopped; live chords resume when it is back."))

    def stop(self) -> None:
        """Stop listening (on purpose)."""
        self._end_worker()
        self.ring_name = None
        if self.status.state is not LiveState.OFF:
            self._set(LiveStatus(LiveState.OFF))

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # Polling -----------------------------------------------------------------------
    def poll(self) -> list[LiveEvent]:
        """Everything the worker reported since the last poll (never blocks)."""
        conn = self._conn
        if conn is not None:
            try:
                while conn.poll(0):
                    self._take(conn.recv())
            except (EOFError, OSError):
                self._worker_ended()
            else:
                if not self._proc.is_alive() and not conn.poll(0):
                    self._worker_ended()
        out, self._pending = self._pending, []
        return out

    def _take(self, msg: object) -> None:
        if isinstance(msg, LiveChord):
            self.last_chord = msg
            self._pending.append(msg)
        elif isinstance(msg, LiveStats):
            self.last_stats = msg
            self._pending.append(msg)
        elif isinstance(msg, LiveStatus):
            self._set(msg)

    def _worker_ended(self) -> None:
        """The worker exited without being asked (it said why, or it crashed)."""
        self._end_worker()
        if self.status.state in (LiveState.STARTING, LiveState.LISTENING):
            self._set(LiveStatus(LiveState.FAILED, "Live chord recognition stopped unexpectedly."))

    def _set(self, status: LiveStatus) -> None:
        self.status = status
        self._pending.append(status)

    def _end_worker(self) -> None:
        proc, self._proc = self._proc, None
        conn, self._conn = self._conn, None
        stop, self._stop = self._stop, None
        if stop is not None:
            stop.set()
        if proc is not None:
            # Keep reading while it winds down: a full pipe must not hold it up.
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while proc.is_alive() and time.monotonic() < deadline:
                if conn is not None:
                    with contextlib.suppress(EOFError, OSError):
                        while conn.poll(0):
                            self._take(conn.recv())
                proc.join(0.05)
            if proc.is_alive():
                proc.terminate()
                proc.join(STOP_TIMEOUT_S)
            if proc.is_alive():
                proc.kill()
                proc.join(STOP_TIMEOUT_S)
            with contextlib.suppress(ValueError):
                proc.close()
        if conn is not None:
            # Keep what it said on its way out (its last stats) before letting go.
            with contextlib.suppress(EOFError, OSError):
                while conn.poll(0):
                    self._take(conn.recv())
            conn.close()
