"""Start and stop a named JACK server with the dummy driver, for tests and benchmarks.

A named server (`jackd -n NAME`, selected by clients through $JACK_DEFAULT_SERVER)
never disturbs, or depends on, a JACK server the musician or another test runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any


class JackServerError(RuntimeError):
    """The server did not start; the message ends with its log."""


def jack_running(name: str) -> bool:
    env = dict(os.environ, JACK_DEFAULT_SERVER=name)
    out = subprocess.run(["jack_wait", "-c"], env=env, capture_output=True, text=True)
    return out.stdout.strip().startswith("running")


ENGINE_INPUTS = "StrumSpace-audio:in_"


def feed_engine_inputs(client: Any, port: Any) -> int:
    """Connect a JACK client's output `port` to every audio input of the StrumSpace
    engine, and those inputs to nothing else (as a guitar on the sound card's input
    would be); returns how many inputs it found."""
    ins = [p.name for p in client.get_ports(ENGINE_INPUTS, is_input=True)]
    for name in ins:
        for src in client.get_all_connections(name):
            client.disconnect(src, name)
        client.connect(port, name)
    return len(ins)


class JackServer:
    """`jackd -n NAME [-R -P 70] -d dummy -r RATE -p PERIOD` in its own session."""

    def __init__(self, name: str, sample_rate: int = 48000, period: int = 256,
                 realtime: bool = True, log: Path | None = None) -> None:
        self.name = name
        self.sample_rate = sample_rate
        self.period = period
        self.realtime = realtime
        self.log = log or Path(tempfile.gettempdir()) / f"{name}-jackd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, JACK_DEFAULT_SERVER=self.name)

    def start(self, timeout: float = 10.0) -> JackServer:
        rt = ["-R", "-P", "70"] if self.realtime else []
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                ["jackd", "-n", self.name, *rt, "-d", "dummy", "-r", str(self.sample_rate),
                 "-p", str(self.period)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        waited = subprocess.run(["jack_wait", "-w", "-t", str(int(timeout))], env=self.env,
                                capture_output=True, text=True)
        if waited.returncode != 0:
            self.stop()
            raise JackServerError(f"JACK server {self.name} did not start: "
                                  f"{self.log.read_text()[-2000:]}")
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def __enter__(self) -> JackServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
