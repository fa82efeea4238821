"""File analysis in a worker process, with progress and cancel (Qt-free).

The worker is a fresh interpreter (multiprocessing "spawn"): the model's CPU work
shares no GIL with the UI, and cancelling is a plain terminate: the process ends at
once whatever it is doing, and whatever it had computed is dropped with it, so a
cancelled job never applies a partial result. The UI polls `poll()` on its timer
(the Qt adapter's `watch_analysis` does this and emits signals).
"""

from __future__ import annotations

import contextlib
import enum
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

PROGRESS_STEP = 0.01  # the worker reports progress at most every 1 %


class JobState(enum.Enum):
    READY = "ready"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


def _file_worker(path: str, options: dict[str, Any], conn: Connection) -> None:
    """The worker process: analyse one file, send progress, then the result or an error."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sent = [-1.0]

    def progress(fraction: float) -> None:
        if fraction - sent[0] >= PROGRESS_STEP or fraction >= 1.0:
            sent[0] = fraction
            conn.send(("progress", float(fraction)))

    try:
        from models.chords.runtime import AnalysisError, analyze_file

        try:
            analysis = analyze_file(path, progress=progress, **options)
        except AnalysisError as exc:
            conn.send(("error", str(exc)))
            return
        except (OSError, ValueError, RuntimeError) as exc:
            conn.send(("error", f"{Path(path).name} could not be analysed: {exc}"))
            return
        conn.send(("done", analysis))
    except Exception as exc:  # anything else still reaches the musician as a message
        with contextlib.suppress(OSError):
            conn.send(("error", f"The chord analysis failed: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


class FileAnalysisJob:
    """One file analysed in its own process.

    `start()`, then `poll()` now and then (never blocks): it returns the state and
    keeps `progress` (0..1), `result` (the runtime's `Analysis` once DONE) and
    `error` (a message for musicians once FAILED) up to date. `cancel()` ends the
    worker at once. `wait()` blocks (command line and tests)."""

    def __init__(self, path: str | os.PathLike[str], *, beat_sync: bool = False,
                 chunk_seconds: float | None = None,
                 on_progress: Callable[[float], None] | None = None) -> None:
        self.path = Path(path)
        # Called from poll() for every progress report (poll may drain several at once).
        self.on_progress = on_progress
        self.beat_sync = beat_sync
        # The runtime reports progress once per chunk of the model's input (60 s by
        # default): a smaller chunk gives finer progress at some extra cost.
        self.chunk_seconds = chunk_seconds
        self.state = JobState.READY
        self.progress = 0.0
        self.result: Any = None
        self.error = ""
        self._proc: Any = None
        self._conn: Connection | None = None

    def start(self) -> None:
        if self.state is not JobState.READY:
            raise RuntimeError("a job runs once")
        ctx = mp.get_context("spawn")
        ours, theirs = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_file_worker, name="strumspace-chord-file",
                                 args=(str(self.path), self._options(), theirs), daemon=True)
        self._proc.start()
        theirs.close()  # the worker holds its end: EOF here means the worker is gone
        self._conn = ours
        self.state = JobState.RUNNING

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"beat_sync": self.beat_sync}
        if self.chunk_seconds is not None:
            options["chunk_seconds"] = self.chunk_seconds
        return options

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)

    def poll(self) -> JobState:
        conn = self._conn
        if self.state is not JobState.RUNNING or conn is None:
            return self.state
        try:
            while conn.poll(0):
                self._message(conn.recv())
                if self.finished:
                    break
        except (EOFError, OSError):
            self._fail("The chord analysis stopped unexpectedly.")
        except Exception as exc:  # a result that cannot be unpickled
            self._fail(f"The chord analysis sent a damaged result: {exc}")
        if self.finished:
            self._reap()
        return self.state

    def _message(self, msg: tuple[str, Any]) -> None:
        kind, value = msg
        if kind == "progress":
            self.progress = max(self.progress, min(1.0, float(value)))
            if self.on_progress is not None:
                self.on_progress(self.progress)
        elif kind == "done":
            self.result, self.progress, self.state = value, 1.0, JobState.DONE
        elif kind == "error":
            self._fail(str(value))

    def _fail(self, message: str) -> None:
        self.error, self.state = message, JobState.FAILED

    def wait(self, timeout: float | None = None) -> JobState:
        """Block until the job ends (or `timeout` passes); the state."""
        conn = self._conn
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.state is JobState.RUNNING and conn is not None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            with contextlib.suppress(OSError):
                conn.poll(0.2 if left is None else min(0.2, left))
            self.poll()
        return self.state

    def cancel(self) -> None:
        """End the worker now; no result is kept. Harmless once the job ended."""
        if self.state is JobState.RUNNING:
            self.state = JobState.CANCELLED
            self.result = None
        self._reap(terminate=True)

    def _reap(self, terminate: bool = False) -> None:
        proc, self._proc = self._proc, None
        conn, self._conn = self._conn, None
        if proc is not None:
            if terminate and proc.is_alive():
                proc.terminate()
            proc.join(5.0)
            if proc.is_alive():
                proc.kill()
                proc.join(5.0)
            with contextlib.suppress(ValueError):
                proc.close()
        if conn is not None:
            conn.close()
