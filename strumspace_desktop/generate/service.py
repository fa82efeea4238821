"""`GenerationService`: the UI's (and the command line's) handle on the generation
worker process. No Qt: `ui/adapter.py` turns its events into Qt signals.

    service = GenerationService(on_event=callback)   # callback runs on a service thread
    job = service.submit(request)                     # returns at once
    service.cancel(job)                               # the job stops within a step
    end = service.wait(job, timeout=30)               # Result | Failed | Cancelled
    service.shutdown()

`on_event` runs on the service's reader thread, never the caller's: a Qt UI hands
each event to its own thread (a queued signal). Without `on_event`, events wait in a
queue for `next_event()`. Jobs run one at a time, in order. The worker starts with
the first request (or `start()`), loads the model once and keeps it; if it dies
(killed, out of memory) the job it was running fails with reason "crash" and the next
request starts a new one. A job sent to a worker that died before it acknowledged the
job (a request made just as the worker died) never began: it goes to a fresh worker.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import queue
import sys
import threading
import time
import types
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from .events import (
    Cancelled,
    Failed,
    GenerationEvent,
    JobEnd,
    Notice,
    Progress,
    Ready,
    Result,
)
from .jobs import DEVICES
from .worker import worker_main

_KEEP_ENDS = 64  # finished jobs remembered for wait()


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Spawn runs the parent's main script again in the child (unless it is a package's
    __main__). The worker needs nothing from it and must never import what a UI script
    imports (Qt), nor start an unguarded script twice: it sees a bare __main__."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _alive(proc: Any) -> bool:
    """Whether the worker process still runs, from its sentinel (ready once it exits).
    Not ``is_alive()``: once the reader thread has reaped a dead worker, another
    thread's ``is_alive()`` can still answer True, and a job went to the dead one."""
    return proc is not None and not wait([proc.sentinel], 0)


class GenerationService:
    def __init__(
        self,
        on_event: Callable[[GenerationEvent], None] | None = None,
        *,
        device: str = "auto",
        model_dir: str | Path | None = None,
        threads: int = 1,
        niceness: int = 10,
    ) -> None:
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
        self._on_event = on_event
        self._events: queue.Queue[GenerationEvent] = queue.Queue()
        self._device = device
        self._options = {"model_dir": None if model_dir is None else str(model_dir),
                         "threads": max(1, min(int(threads), 2)), "nice": int(niceness)}
        self._ctx = mp.get_context("spawn")
        self._cancel = self._ctx.Value("q", 0, lock=False)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._pending: deque[tuple[int, Any, str]] = deque()
        self._running: int | None = None
        self._sent: tuple[int, Any, str] | None = None  # the running job, to resend it
        self._acked = False  # the worker has received the running job
        self._resent: set[int] = set()  # jobs resent once: never again
        self._proc: Any = None
        self._conn: Connection | None = None
        self._reader: threading.Thread | None = None
        self._ends: OrderedDict[int, JobEnd] = OrderedDict()
        self._ended = threading.Condition(self._lock)
        self._closed = False
        self.backend = ""  # the loaded backend's name, once the worker reports it

    # Lifetime --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker now and load the model, so the first request is quick."""
        with self._lock:
            self._ensure_worker()
            self._send(("load", self._device))

    @property
    def worker_pid(self) -> int | None:
        proc = self._proc
        return proc.pid if _alive(proc) else None

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel everything, stop the worker (killed if it does not stop in time)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for job, _, _ in list(self._pending):
                self._finish(Cancelled(job))
            self._pending.clear()
            if self._running is not None:
                self._cancel.value = self._running
            proc, conn, reader = self._proc, self._conn, self._reader
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.send(("stop",))
        if proc is not None:
            proc.join(timeout)
            if proc.is_alive():
                proc.kill()
                proc.join(2.0)
        if reader is not None:
            reader.join(timeout)
        with self._lock:
            if self._running is not None:
                self._finish(Failed(self._running, "The generator was shut down.", "stopped"))
                self._running = None
            if conn is not None:
                conn.close()
            self._proc = self._conn = self._reader = None

    def __enter__(self) -> GenerationService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # Jobs -------------------------------------------------------------------------------
    def submit(self, request: Any, *, device: str | None = None) -> int:
        """Queue a generation request (a `models.generation.tasks.GenerationRequest`);
        returns its job number at once."""
        device = device or self._device
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
        with self._lock:
            if self._closed:
                raise RuntimeError("the generation service has been shut down")
            job = next(self._ids)
            self._pending.append((job, request, device))
            self._pump()
        return job

    def cancel(self, job: int) -> None:
        """Stop a job: a queued one never runs, the running one stops within a step.
        Its end event is `Cancelled` (or its `Result`/`Failed` if it had just ended)."""
        with self._lock:
            for entry in self._pending:
                if entry[0] == job:
                    self._pending.remove(entry)
                    self._finish(Cancelled(job))
                    return
            if self._running == job:
                self._cancel.value = job

    def wait(self, job: int, timeout: float | None = None) -> JobEnd | None:
        """Block until `job` ends; its end event (None on timeout). For scripts and
        tests: the UI listens to events instead."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ended:
            while job not in self._ends:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._ended.wait(left)
            return self._ends[job]

    def next_event(self, timeout: float | None = None) -> GenerationEvent | None:
        """The next event, when no `on_event` callback was given (None on timeout)."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._running is not None or bool(self._pending)

    # Internals (called with the lock held) -----------------------------------------------
    def _ensure_worker(self) -> None:
        if _alive(self._proc) and self._conn is not None:
            return
        self._drop_worker()
        here, there = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=worker_main, args=(there, self._cancel, self._options),
                                 name="strumspace-generate", daemon=True)
        with _main_module_hidden():
            proc.start()
        there.close()
        self._proc, self._conn = proc, here
        self._reader = threading.Thread(target=self._read, args=(proc, here),
                                        name="generate-reader", daemon=True)
        self._reader.start()

    def _drop_worker(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = self._reader = None

    def _send(self, msg: tuple[Any, ...]) -> bool:
        try:
            assert self._conn is not None
            self._conn.send(msg)
            return True
        except (OSError, ValueError, AssertionError):
            return False

    def _pump(self) -> None:
        """Send the next queued job when the worker is free."""
        while self._running is None and self._pending and not self._closed:
            job, request, device = self._pending.popleft()
            self._ensure_worker()
            self._cancel.value = 0
            try:
                sent = self._send(("job", job, request, device))
            except Exception as exc:  # the request cannot be pickled: a caller's bug
                self._finish(Failed(job, f"The request cannot be sent: {exc}", "input"))
                continue
            if not sent:
                self._finish(Failed(job, "The generator is not running.", "crash"))
                self._drop_worker()
                continue
            self._running, self._sent, self._acked = job, (job, request, device), False

    def _emit(self, event: GenerationEvent) -> None:
        if self._on_event is None:
            self._events.put(event)
            return
        try:
            self._on_event(event)
        except Exception:  # a listener's bug must not stop the service
            import traceback

            traceback.print_exc()

    def _finish(self, end: JobEnd) -> None:
        self._resent.discard(end.job)
        self._ends[end.job] = end
        while len(self._ends) > _KEEP_ENDS:
            self._ends.popitem(last=False)
        self._ended.notify_all()
        self._emit(end)

    # The reader thread ---------------------------------------------------------------------
    def _read(self, proc: Any, conn: Connection) -> None:
        while True:
            try:
                ready = wait([conn, proc.sentinel])
                if conn in ready or conn.poll():  # a dead worker may have said something
                    msg = conn.recv()
                else:
                    raise EOFError
            except (EOFError, OSError):
                self._worker_died(proc)
                return
            self._handle(msg)

    def _handle(self, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        with self._lock:
            if kind == "started":
                self._acked = self._acked or self._running == msg[1]
            elif kind == "ready":
                self.backend = msg[1]
                self._emit(Ready(msg[1]))
            elif kind == "progress":
                self._emit(Progress(msg[1], float(msg[2])))
            elif kind == "notice":
                self._emit(Notice(msg[1], msg[2]))
            elif kind in ("result", "failed", "cancelled"):
                job = msg[1]
                end: JobEnd
                if kind == "result":
                    end = Result(job, msg[2], msg[3], msg[4], msg[5])
                elif kind == "failed":
                    end = Failed(job, msg[3], msg[2])
                else:
                    end = Cancelled(job)
                if self._running == job:
                    self._running = None
                self._finish(end)
                self._pump()

    def _worker_died(self, proc: Any) -> None:
        proc.join(1.0)
        with self._lock:
            if proc is not self._proc:
                return  # an old worker we replaced or shut down
            self._drop_worker()
            if self._running is not None:
                job, self._running = self._running, None
                if self._closed:
                    self._finish(Failed(job, "The generator was shut down.", "stopped"))
                elif self._cancel.value == job:
                    self._finish(Cancelled(job))
                elif not self._acked and job not in self._resent and self._sent is not None:
                    # It died before it had the job (``_sent`` is set with ``_running``):
                    # the job is not what killed it.
                    # Once only, so a worker that dies as it starts cannot loop.
                    self._resent.add(job)
                    self._pending.appendleft(self._sent)
                else:
                    self._finish(Failed(
                        job, f"The generator stopped unexpectedly (exit code {proc.exitcode}); "
                             "it starts again with the next request.", "crash"))
            if not self._closed:
                self._pump()  # queued jobs go to a fresh worker
