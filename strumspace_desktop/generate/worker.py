"""The generation worker process: loads the model once, keeps it warm, serves jobs.

It runs as its own interpreter (multiprocessing "spawn": never the audio engine's
process, never the UI's), at a lower priority and with one or two threads, so that
generating never takes CPU time from the audio engine. This module imports nothing
heavy at the top: the thread limits are set before numpy, torch or ONNX Runtime load.

Protocol over one duplex pipe (plain tuples, pickled):
  in:  ("job", job, request, device) | ("load", device) | ("stop",)
  out: ("started", job) (as soon as a job is read) | ("ready", backend)
       | ("progress", job, fraction) | ("notice", job, message)
       | ("result", job, pieces, suggestions, backend, seconds)
       | ("failed", job, reason, message) | ("cancelled", job)
Cancel is a shared integer: the job whose number it holds stops at its next step.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
PROGRESS_INTERVAL_S = 0.05


def _settle(threads: int, niceness: int) -> None:
    """Lower priority and thread count before anything heavy loads."""
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    if niceness > 0 and hasattr(os, "nice"):
        with contextlib.suppress(OSError):  # not allowed: still correct, only less polite
            os.nice(niceness)


def worker_main(conn: Connection, cancel_value: Any, options: dict[str, Any]) -> None:
    threads = int(options.get("threads", 1))
    _settle(threads, int(options.get("nice", 10)))
    from . import jobs

    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    model_dir = options.get("model_dir")
    loaded: jobs.Loaded | None = None

    def send(*msg: Any) -> None:
        conn.send(msg)

    def ensure(device: str, job: int | None) -> jobs.Loaded:
        nonlocal loaded
        if loaded is None or loaded.device != device:
            loaded = None  # a failed load leaves nothing half-made behind
            fresh = jobs.load(device, model_dir, threads)
            for message in fresh.notices:
                send("notice", job, message)
            loaded = fresh
            send("ready", fresh.name)
        return loaded

    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return  # the service is gone
        if msg[0] == "stop":
            return
        if msg[0] == "load":
            try:
                ensure(msg[1], None)
            except Exception as exc:
                _, message = jobs.classify(exc)
                send("notice", None, message)
            continue
        _, job, request, device = msg
        # Received: from here on the job has begun, and if this process dies the job
        # fails as a crash; the service resends a job that was never acknowledged.
        send("started", job)
        _serve(job, request, device, ensure, send, cancel_value, jobs)


def _serve(job: int, request: Any, device: str, ensure: Any, send: Any, cancel_value: Any,
           jobs: Any) -> None:
    started = time.perf_counter()
    last = [0.0]

    def cancelled() -> bool:
        return bool(cancel_value.value == job)

    def progress(fraction: float) -> None:
        now = time.perf_counter()
        if now - last[0] >= PROGRESS_INTERVAL_S or fraction >= 1.0:
            last[0] = now
            send("progress", job, fraction)

    messages: list[str] = []
    try:
        loaded = ensure(device, job)
        try:
            pieces, suggestions = jobs.run(request, loaded.backend, progress, cancelled, messages)
        except Exception as exc:
            if not jobs.is_cuda_oom(exc) or cancelled():
                raise
            # The GPU ran out of memory mid-job: the CPU takes over, the job goes on.
            send("notice", job, "The GPU ran out of memory; generating on the CPU instead.")
            loaded = ensure("cpu", job)
            messages.clear()
            pieces, suggestions = jobs.run(request, loaded.backend, progress, cancelled, messages)
        for message in [*messages, *loaded.new_warnings()]:
            send("notice", job, message)
    except Exception as exc:
        if cancelled() or isinstance(exc, jobs.JobCancelled) or "Cancel" in type(exc).__name__:
            send("cancelled", job)
            return
        reason, message = jobs.classify(exc)
        if reason == "internal":
            traceback.print_exc(file=sys.stderr)
        send("failed", job, reason, message)
        return
    if cancelled():
        send("cancelled", job)
        return
    send("result", job, pieces, suggestions, loaded.name, time.perf_counter() - started)
