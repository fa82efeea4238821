"""Test set-up: real components, started here.

A JACK server with the dummy driver runs under its own name for the whole test
session, so the tests never disturb (or depend on) a JACK server a developer runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from benchmarks.jack_server import JackServer, JackServerError

# Property tests: no per-example deadline on this slow, shared machine; under CI the
# examples are derived from each test's name, so a red run can be replayed exactly
# (local runs keep exploring new examples).
settings.register_profile("strumspace", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "strumspace")

# Unique per test session: two sessions on one machine never share (or kill) a server.
JACK_SERVER_NAME = f"strumspace-test-{os.getpid()}"
JACK_RATE = 48000
JACK_PERIOD = 256

# Qt tests run offscreen; settings never touch the developer's own config.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["STRUMSPACE_CONFIG_DIR"] = tempfile.mkdtemp(prefix="strumspace-test-config-")
os.environ["JACK_NO_START_SERVER"] = "1"


@pytest.fixture(scope="session")
def jack_server() -> Iterator[JackServer]:
    """A real JACK server (dummy driver, 48 kHz, 256 frames), started once."""
    if shutil.which("jackd") is None:
        pytest.fail("jackd is not installed: run `make test` (it installs jackd2).")
    os.environ["JACK_DEFAULT_SERVER"] = JACK_SERVER_NAME
    server = JackServer(JACK_SERVER_NAME, JACK_RATE, JACK_PERIOD)
    try:
        server.start()
    except JackServerError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


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
