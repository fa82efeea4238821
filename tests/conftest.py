"""Test set-up: real components, started here.

A JACK server with the dummy driver runs under its own name for the whole test
session, so the tests never disturb (or depend on) a JACK server a developer runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Unique per test session: two sessions on one machine never share (or kill) a server.
JACK_SERVER_NAME = f"strumspace-test-{os.getpid()}"
JACK_RATE = 48000
JACK_PERIOD = 256

# Qt tests run offscreen; settings never touch the developer's own config.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["STRUMSPACE_CONFIG_DIR"] = tempfile.mkdtemp(prefix="strumspace-test-config-")
os.environ["JACK_NO_START_SERVER"] = "1"


@dataclass(frozen=True)
class JackServer:
    name: str
    sample_rate: int
    period: int


def _jack_running(env: dict[str, str]) -> bool:
    return subprocess.run(["jack_wait", "-c"], env=env, capture_output=True,
                          text=True).stdout.strip().startswith("running")


@pytest.fixture(scope="session")
def jack_server() -> Iterator[JackServer]:
    """A real JACK server (dummy driver, 48 kHz, 256 frames), started once."""
    if shutil.which("jackd") is None:
        pytest.fail("jackd is not installed: run `make test` (it installs jackd2).")
    os.environ["JACK_DEFAULT_SERVER"] = JACK_SERVER_NAME
    env = dict(os.environ)
    proc = None
    if not _jack_running(env):
        log = Path(tempfile.gettempdir()) / "strumspace-test-jackd.log"
        proc = subprocess.Popen(
            ["jackd", "-n", JACK_SERVER_NAME, "-R", "-P", "70", "-d", "dummy",
             "-r", str(JACK_RATE), "-p", str(JACK_PERIOD)],
            stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
        waited = subprocess.run(["jack_wait", "-w", "-t", "10"], env=env,
                                capture_output=True, text=True)
        if waited.returncode != 0:
            proc.kill()
            pytest.fail(f"JACK did not start: {log.read_text()[-2000:]}")
    yield JackServer(JACK_SERVER_NAME, JACK_RATE, JACK_PERIOD)
    if proc is not None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        time.sleep(0.2)


@pytest.fixture(scope="session")
def soundfont() -> Path:
    """Debian's General MIDI SoundFont (fluid-soundfont-gm)."""
    from strumspace_desktop.audio.synth import find_default_soundfont

    sf = find_default_soundfont()
    if sf is None:
        pytest.fail("No General MIDI SoundFont: run `make test` (installs fluid-soundfont-gm).")
    return sf


@pytest.fixture
def engine(jack_server: JackServer) -> Iterator[object]:
    """A running engine process with its stream open on the test JACK server."""
    from strumspace_desktop.audio.client import EngineClient

    client = EngineClient()
    client.start()
    try:
        client.open_stream(host_api="JACK Audio Connection Kit", blocksize=jack_server.period,
                           set_jack_blocksize=False)
        yield client
    finally:
        client.stop()
