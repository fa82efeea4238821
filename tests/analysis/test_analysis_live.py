"""The live chord worker on the real path: a separate JACK client plays a rendered
progression into the engine's input (JACK dummy server); the worker, a process of its
own, reads the engine's input ring and reports chords; it stops cleanly, skips ahead
when it falls behind without the engine noticing, follows a restarted engine's new
ring and reports (never raises) a vanished one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from analysis_support import (
    JackPlayer,
    process_gone,
    real_model,
    render_clip,
    wait_for,
    with_hum,
)

from models.chords.vocabulary import NO_CHORD, parse
from strumspace_desktop.analysis.live import LiveChordService
from strumspace_desktop.analysis.live_events import LiveChord, LiveState, LiveStats
from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.audio.input_ring import InputRing

pytestmark = [pytest.mark.jack, pytest.mark.slow]


class Collector:
    def __init__(self, service: LiveChordService) -> None:
        self.service = service
        self.chords: list[LiveChord] = []
        self.stats: list[LiveStats] = []
        self.states: list[LiveState] = []
        self.messages: list[str] = []

    def poll(self) -> int:
        """Take what the worker reported; how many chords came so far."""
        for e in self.service.poll():
            if isinstance(e, LiveChord):
                self.chords.append(e)
            elif isinstance(e, LiveStats):
                self.stats.append(e)
            else:
                self.states.append(e.state)
                self.messages.append(e.message)
        return len(self.chords)

    def saw(self, state: LiveState) -> bool:
        self.poll()
        return state in self.states

    def read(self) -> int:
        self.poll()
        return self.stats[-1].frames_read if self.stats else 0

    def skipped(self) -> int:
        self.poll()
        return self.stats[-1].frames_skipped if self.stats else 0


def _player(engine: EngineClient, hum_db: float | None = None, cents: float = 0.0
            ) -> tuple[JackPlayer, dict[str, Any]]:
    """A player of a rendered song into the engine's inputs: over 50 Hz hum peaking
    at ``hum_db``, or played ``cents`` sharp (and that much faster)."""
    info: dict[str, Any] = engine.request("info")["stream"]
    assert info["input_ring"], "the engine opened no input"
    rate = int(info["sample_rate"])
    audio, _ = render_clip(rate, repeats=2)
    if cents:
        import soxr

        audio = soxr.resample(audio, rate * 2 ** (cents / 1200), rate).astype(np.float32)
    if hum_db is not None:
        audio = with_hum(audio, rate, hum_db)
    player = JackPlayer(audio)
    assert player.connect_to_engine() >= 1
    return player, info


def _check_chord(c: LiveChord, rate: int) -> None:
    assert c.label == NO_CHORD or parse(c.label).root >= 0
    assert 0.0 <= c.confidence <= 1.0
    assert c.seconds == pytest.approx(c.clock / rate)
    assert c.bass == -1 or (c.label != NO_CHORD and c.bass != parse(c.label).root)
    assert all(label != c.label.split("/")[0] and 0 <= p <= 1 for label, p in c.runners_up)


def test_live_chords_from_the_engine_input_then_a_clean_stop(engine: EngineClient) -> None:
    player, info = _player(engine)
    service = LiveChordService()
    got = Collector(service)
    try:
        clock_at_start = engine.status().clock
        service.follow(info)
        pid = service.pid
        assert pid is not None and pid != os.getpid() and pid != engine.pid
        wait_for(lambda: got.poll() > 0, timeout=90, what="a live chord")
        wait_for(lambda: got.read() > int(info["sample_rate"]), what="a second of input read")
        # Another input channel choice: a fresh worker hears input 1 alone.
        service.set_channels((0,))
        assert process_gone(pid) and service.pid != pid
        heard = len(got.chords)
        wait_for(lambda: got.poll() > heard, timeout=90, what="a chord from input 1")
        last_pid = service.pid
    finally:
        service.stop()
        player.close()
    assert got.states[:2] == [LiveState.STARTING, LiveState.LISTENING], got.states
    assert service.status.state is LiveState.OFF and not service.running
    assert last_pid is not None and process_gone(last_pid)
    rate = int(info["sample_rate"])
    for c in got.chords:
        _check_chord(c, rate)
    # A chord is placed on the engine's clock, after the worker started reading.
    assert clock_at_start <= got.chords[0].clock <= engine.status().clock
    # The model runs in the worker only: neither the engine nor the service's side loads
    # it (checked in a fresh interpreter: this test process may have imported it for
    # other tests).
    assert not any(m.startswith("models.chords.live") or m == "onnxruntime"
                   for m in engine.request("info")["modules"])
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, strumspace_desktop.analysis.live; "
         "print(any(m in sys.modules for m in ('models.chords.live', 'onnxruntime')))"],
        capture_output=True, text=True, timeout=120, check=True)
    assert probe.stdout.strip() == "False"


def test_a_stalled_worker_skips_to_the_newest_audio_and_the_engine_never_waits(
        engine: EngineClient) -> None:
    player, info = _player(engine)
    service = LiveChordService()
    got = Collector(service)
    ring = InputRing.attach(str(info["input_ring"]))
    try:
        service.follow(info)
        wait_for(lambda: got.read() > 0, timeout=90, what="the worker reading")
        pid = service.pid
        assert pid is not None
        # The worker stops dead (a slow consumer at its worst) for 2 s: four times
        # the backlog it keeps.
        written_before = ring.written
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_for(lambda: ring.written - written_before > 2 * ring.sample_rate,
                     what="two seconds of input")
        finally:
            os.kill(pid, signal.SIGCONT)
        # The engine wrote every block meanwhile: the ring's frames match its clock.
        status = engine.status()
        assert abs(ring.clock_base + ring.written - status.clock) <= 2 * status.blocksize
        wait_for(lambda: got.skipped() > ring.sample_rate, what="the worker skipping ahead")
        skipped_at = got.read()
        wait_for(lambda: got.read() > skipped_at, what="the worker reading on")
        assert service.running and service.status.state is LiveState.LISTENING
        # It kept only the newest audio: it is now less than its backlog behind.
        assert ring.clock_base + ring.written - got.stats[-1].clock < ring.sample_rate
    finally:
        service.stop()
        player.close()
        ring.close()


def test_the_worker_follows_an_engine_restart_and_reports_a_vanished_engine(
        engine: EngineClient) -> None:
    player, info = _player(engine)
    service = LiveChordService()
    got = Collector(service)
    try:
        service.follow(info)
        wait_for(lambda: got.read() > 0, timeout=90, what="the worker reading")
        first_pid = service.pid
        engine_pid = engine.pid
        assert engine_pid is not None
        os.kill(engine_pid, signal.SIGKILL)  # the engine vanishes with its ring
        wait_for(lambda: not engine.alive, what="the engine gone")
        wait_for(lambda: got.saw(LiveState.NO_INPUT),
                 what="the worker noticing the input stopped")
        assert service.running  # it waits, unharmed
        recovered: list[dict[str, Any]] = []

        def restarted() -> bool:
            for kind, payload in engine.poll_notifications():
                if kind in ("stream_lost", "engine_died"):
                    service.engine_lost(str(payload.get("message", "")))
                elif kind == "stream_recovered":
                    recovered.append(payload)
            return bool(recovered)

        wait_for(restarted, timeout=60, what="the restarted engine")
        new_info = recovered[0]
        assert new_info["input_ring"] and new_info["input_ring"] != info["input_ring"]
        assert player.connect_to_engine() >= 1  # the new engine's ports are new
        got.poll()  # the old worker's last words
        got.stats.clear()
        service.follow(new_info)
        assert service.pid != first_pid and service.ring_name == new_info["input_ring"]
        wait_for(lambda: got.read() > 0, timeout=90, what="the worker reading the new ring")
        assert service.status.state is LiveState.LISTENING
        service.engine_lost("gone")
        assert service.status.state is LiveState.NO_INPUT and not service.running
        assert service.status.message == "gone"
    finally:
        service.stop()
        player.close()


def _first_told(engine: EngineClient, phrase: str, what: str,
                **played: Any) -> tuple[LiveState, str]:
    """Play a rendered song (``_player``'s options) into the engine until the live
    worker's status message holds ``phrase``; that status's state and message."""
    player, info = _player(engine, **played)
    service = LiveChordService()
    got = Collector(service)

    def told() -> bool:
        got.poll()
        return any(phrase in m for m in got.messages)

    try:
        service.follow(info)
        wait_for(told, timeout=90, what=what)
    finally:
        service.stop()
        player.close()
    i = next(i for i, m in enumerate(got.messages) if phrase in m)
    return got.states[i], got.messages[i]


def test_mains_hum_in_the_input_is_filtered_out_and_the_musician_told(
        engine: EngineClient) -> None:
    # the detector needs two spectra of 1.86 s, half overlapping: about 3 s
    state, message = _first_told(engine, "50 Hz mains hum", "the hum reported",
                                 hum_db=-30.0)
    assert state is LiveState.LISTENING
    assert message == ("Listening to the audio input; its 50 Hz mains hum (a pickup, "
                       "a cable or a ground loop) is filtered out.")


def test_a_player_out_of_tune_is_told_and_read_in_tune(engine: EngineClient) -> None:
    _, message = _first_told(engine, "it is tuned +", "the tuning reported", cents=45.0)
    assert re.fullmatch(r"Listening to the audio input; it is tuned \+(4\d) cents "
                        r"\(A = 45\d\.\d Hz\): its chords are named as if in tune\.",
                        message), message


def test_a_ring_that_is_gone_is_reported_not_raised() -> None:
    service = LiveChordService()
    got = Collector(service)
    try:
        service.follow({"input_ring": "strumspace-no-such-ring"})
        wait_for(lambda: got.saw(LiveState.NO_INPUT), timeout=60, what="the status")
        assert "not available" in service.status.message
        wait_for(lambda: got.poll() >= 0 and not service.running, what="the worker ending")
        assert service.status.state is LiveState.NO_INPUT
        service.follow({"input_ring": None})
        assert "without an input" in service.status.message
    finally:
        service.stop()


@pytest.mark.skipif(not real_model(), reason="the committed chord model is the smoke export")
def test_the_trained_model_shows_the_played_chords_live(engine: EngineClient) -> None:
    player, info = _player(engine)  # C G Am F, looped
    service = LiveChordService()
    got = Collector(service)
    try:
        service.follow(info)

        def shown() -> list[str]:
            got.poll()
            return [c.label for c in got.chords if c.changed and c.label != NO_CHORD]

        def played_roots() -> set[int]:
            return {parse(label).root for label in shown()} & played

        played = {0, 7, 9, 5}  # C G A F
        wait_for(lambda: len(played_roots()) >= 3, timeout=120,
                 what="three of the four chords played")
    finally:
        service.stop()
        player.close()
    # A chord change can flash a passing label: the first C -> G change shows D:maj for
    # a moment at 3 of 8 loop offsets (this model and the one before; 4 of 269 changes
    # over the loops). The flaky part was counting it among the first three labels.
    labels = shown()
    stray = [label for label in labels if parse(label).root not in played]
    assert len(stray) <= len(labels) // 4, labels
