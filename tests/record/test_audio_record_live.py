"""Audio recording on the real path: the engine's output connected to its own input
under JACK (dummy driver). The calibration measures the round trip from the clicks
it plays; a take recorded afterwards puts every click within 1 ms of its beat."""

from __future__ import annotations

import time
from pathlib import Path

import jack
import numpy as np
import pytest
import soundfile as sf

from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.audio.input_ring import InputRing
from strumspace_desktop.audio.protocol import Cmd, Evt, TransportState
from strumspace_desktop.core.document.model import AudioRegion, Document
from strumspace_desktop.record.audio_writer import AudioTakeWriter, blob_of
from strumspace_desktop.record.commit import commit_audio
from strumspace_desktop.record.latency import LatencyCalibration
from strumspace_desktop.record.session import RecordOptions, RecordSession

pytestmark = pytest.mark.jack


def loopback(connect: bool) -> None:
    c = jack.Client("StrumSpace-test-wiring", no_start_server=True)
    try:
        outs = [p.name for p in c.get_ports("StrumSpace-audio:out_0")]
        ins = [p.name for p in c.get_ports("StrumSpace-audio:in_", is_input=True)]
        for name in ins:  # only our own output reaches the input
            for src in c.get_all_connections(name):
                c.disconnect(src, name)
        if connect:
            c.connect(outs[0], ins[0])
    finally:
        c.close()


def test_calibrated_audio_take_puts_clicks_on_their_beats(engine: EngineClient,
                                                         tmp_path: Path) -> None:
    info = engine.request("info")["stream"]
    assert info["input_ring"], "the engine opened no input"
    ring = InputRing.attach(info["input_ring"])
    try:
        loopback(True)
        # 1. Calibrate.
        engine.set_tempo(120)
        engine.set_count_in(0)
        cal = LatencyCalibration(engine, ring, seconds=2.0)
        cal.start()
        deadline = time.monotonic() + 20
        while not cal.step(engine.poll_events()):
            assert time.monotonic() < deadline, "calibration did not finish"
            time.sleep(0.02)
        assert cal.error == "" and cal.result is not None
        lag = cal.result.frames
        period = info["blocksize"]
        assert 0 < lag <= 4 * period and cal.result.spread <= 2
        # 2. Record a take of the metronome through the same loopback.
        engine.set_metronome(True, 1.0)
        time.sleep(0.1)
        engine.poll_events()
        options = RecordOptions(latency_frames=lag)
        session = RecordSession(options, start_tick=0)
        writer = AudioTakeWriter(ring.reader(), tmp_path)
        engine.send(Cmd.PLAY)
        stop_clock = None
        deadline = time.monotonic() + 20
        while stop_clock is None:
            assert time.monotonic() < deadline
            for e in engine.poll_events():
                session.feed(e)
                if int(e[0]) == Evt.ANCHOR and int(e[2]) == TransportState.STOPPED:
                    stop_clock = int(e[1])
            if session.timeline.lines and engine.status().beat > 5.2:
                engine.stop_transport()
            time.sleep(0.02)
        writer.stop(stop_clock + lag)
        take = writer.finish()
        assert take.error == ""
        doc = Document.new()
        tid = doc.add_track("audio", "Mic")
        blob = blob_of(take, "take.wav")
        doc.add_blob(blob)
        (rid,) = commit_audio(doc, tid, blob, take.file_clock, session.finish(), options)
    finally:
        loopback(False)
        ring.close()
    region = doc.clip(rid)
    assert isinstance(region, AudioRegion) and region.start == 0
    audio, rate = sf.read(take.path, dtype="float32", always_2d=True)
    mono = audio[:, 0]
    samples_per_tick = rate * 60 / (120 * 960)
    checked = 0
    for beat in range(1, 5):
        expected = region.offset + (beat * 960 - region.start) * samples_per_tick
        lo = int(expected) - 2000
        window = np.abs(mono[lo:lo + 4000])
        onset = lo + int(np.nonzero(window > 0.1)[0][0])
        assert abs(onset - expected) <= rate / 1000, (beat, onset, expected)
        checked += 1
    assert checked == 4
