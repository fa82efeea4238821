"""The song on the real engine (JACK dummy server): heard, stopped without stuck
notes, and sample for sample what the offline renderer writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from song_support import PPQ
from test_engine_live import ENGINE_OUT, freewheel, wait_for

from benchmarks.jack_probe import JackProbe
from strumspace_desktop.audio.client import EngineClient
from strumspace_desktop.audio.offline_render import RenderOptions, render_mixdown
from strumspace_desktop.audio.protocol import TransportState
from strumspace_desktop.audio.song_sync import SongSync
from strumspace_desktop.core.document import Document, Note
from strumspace_desktop.core.document.model import Instrument

pytestmark = pytest.mark.jack


def _song() -> tuple[Document, str, str]:
    """Two bars at 120 bpm; the first note at beat 2 (1 s), so a capture started
    with the transport sees the silence before it."""
    doc = Document.new("live", bpm=120.0)
    piano = doc.add_track("midi", "Piano", instrument=Instrument(0, 0, 0))
    bass = doc.add_track("midi", "Bass", instrument=Instrument(33, 0, 1))
    clip = doc.add_midi_clip(piano, 0, PPQ * 8)
    doc.add_notes(clip, [Note(60 + i % 7, PPQ * 2 + i * 240, 200, 90 + i, 0)
                         for i in range(20)])
    clip = doc.add_midi_clip(bass, 0, PPQ * 8)
    doc.add_notes(clip, [Note(36 + i, PPQ * 2 + i * PPQ, 900, 110, 1) for i in range(5)])
    doc.set_mixer(bass, volume_db=-3.0, pan=-0.4)
    doc.set_mixer(piano, pan=0.3)
    doc.add_effect(piano, "reverb", {"room_size": 0.6, "wet_level": 0.3})
    doc.add_effect(bass, "compressor", {"threshold_db": -20.0, "ratio": 4.0})
    return doc, piano, bass


def _quiet_engine(engine: EngineClient) -> None:
    engine.set_synth_effects(False, False)
    engine.set_metronome(False, 0.0)
    engine.set_count_in(0)
    engine.set_master_gain(1.0)
    engine.set_tempo(120.0)


@pytest.mark.parametrize("effects", [False, True], ids=["dry", "synth-effects"])
def test_song_plays_live_and_equals_the_offline_render(engine: EngineClient, tmp_path: Path,
                                                       effects: bool) -> None:
    doc, piano, _ = _song()
    engine.load_soundfont(None)  # as the app does at start: a synth swapped in later
    _quiet_engine(engine)
    # The app's default: FluidSynth's reverb and chorus on. The synth has run for a
    # while before Play; Play brings its effects back to a new synth's state.
    engine.set_synth_effects(effects, effects)
    sync = SongSync(doc, engine)
    assert sync.flush()
    probe = JackProbe(seconds=7.0)
    try:
        probe.activate(ENGINE_OUT, None)
        probe.start_recording()
        engine.play()
        wait_for(lambda: engine.status().state == TransportState.PLAYING, what="playing")
        # Clients must be active before freewheeling starts: they are.
        with freewheel():
            wait_for(lambda: not probe.recording, timeout=60, what="the capture")
        live = probe.stop_recording().copy()
        strip = sync.strip_of(piano)
        assert strip == 0 and max(engine.track_peaks(strip)) > 0.0
    finally:
        engine.stop_transport()
        probe.close()
        sync.close()
    path = render_mixdown(doc, tmp_path / "mix.wav",
                          RenderOptions(subtype="FLOAT", synth_effects=effects,
                                        tail_seconds=1.0))
    offline = sf.read(str(path), dtype="float32")[0][:, 0]
    # Aligned on the first note's onset: the reverb's anti-denormal offset (about
    # 3e-8) makes both non-zero before it, from the first sample.
    onset = 1e-4
    first_live = int(np.argmax(np.abs(live) > onset))
    first_off = int(np.argmax(np.abs(offline) > onset))
    assert first_off >= 48000  # the first note is at beat 2
    start = first_live - first_off
    assert start >= 0, "the capture began after the song had started"
    assert np.abs(live[:start]).max(initial=0.0) <= 1e-7  # before Play: silence
    n = min(len(offline), len(live) - start)
    assert n > 48000 * 4
    same = live[start:start + n]
    assert np.abs(same).max() > 0.05
    # Real-time playback through PortAudio and JACK equals the offline render.
    assert np.array_equal(same, offline[:n]), float(np.abs(same - offline[:n]).max())


def test_stop_mid_song_leaves_no_stuck_notes(engine: EngineClient) -> None:
    doc, _, _ = _song()
    _quiet_engine(engine)
    sync = SongSync(doc, engine)
    try:
        sync.flush()
        engine.locate(2.0)
        engine.play()
        wait_for(lambda: engine.status().voices > 0, what="song notes sounding")
        engine.stop_transport()
        wait_for(lambda: engine.status().state == TransportState.STOPPED, what="stopped")
        wait_for(lambda: engine.status().voices == 0, timeout=15, what="every note released")
        # An edit while stopped, then play again from the start: heard again.
        clip = doc.clips(doc.tracks()[0].id)[0]
        doc.add_notes(clip.id, [Note(72, 0, PPQ, 100, 0)])
        assert sync.flush()
        engine.locate(0.0)
        engine.play()
        wait_for(lambda: engine.status().voices > 0, what="the new note")
    finally:
        engine.stop_transport()
        sync.close()
