"""Song playback, mixer strips and effects in the engine graph, rendered offline."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import song_support
import soundfile as sf
from song_support import PPQ, RATE, SongGraph, two_track_song

from strumspace_desktop.audio.graph import FX_RETURN
from strumspace_desktop.audio.mixer import EffectError, PluginFactory, probe_vst3
from strumspace_desktop.audio.protocol import Cmd
from strumspace_desktop.audio.song_data import mix_state
from strumspace_desktop.core.document import Document, Note
from strumspace_desktop.core.document.compile import compile_document
from strumspace_desktop.core.document.model import BlobInfo, Instrument
from strumspace_desktop.core.document.project_files import new_project

SECOND = RATE


@pytest.fixture
def song(soundfont: Path) -> Iterator[SongGraph]:
    doc, _, _ = two_track_song()
    g = SongGraph(doc, soundfont)
    yield g
    g.close()


def play(g: SongGraph, seconds: float, block: int = 256) -> np.ndarray:
    g.command(Cmd.PLAY)
    return g.render(int(seconds * SECOND), block)


def test_song_is_heard_and_independent_of_the_block_size(soundfont: Path) -> None:
    renders = []
    for block in (64, 100, 256, 1000, 4096):
        doc, _, _ = two_track_song()
        g = SongGraph(doc, soundfont)
        try:
            renders.append(play(g, 4.5, block))
        finally:
            g.close()
    assert np.abs(renders[0]).max() > 0.05
    for other in renders[1:]:
        # Every note reaches the synth at its own frame, whatever the block size.
        assert np.array_equal(renders[0], other)


def test_synth_reverb_bus_is_independent_of_the_block_size(soundfont: Path) -> None:
    renders = []
    for block in (64, 1000):
        doc, _, _ = two_track_song()
        g = SongGraph(doc, soundfont, synth_effects=True)
        try:
            renders.append(play(g, 3.0, block))
        finally:
            g.close()
    assert np.array_equal(renders[0], renders[1])


@pytest.mark.parametrize("block", [64, 256, 1000])
def test_play_starts_the_synth_reverb_as_a_new_synth(soundfont: Path, block: int) -> None:
    """A synth that ran stopped for a while (as the engine's does before Play) plays
    the song exactly like a new one (as the offline renderer's): Play brings FluidSynth's
    reverb and chorus, whose modulators and delay lines run from the synth's creation,
    back to their initial state."""
    renders = []
    for idle in (0, 3 * SECOND + 512):
        doc, _, _ = two_track_song()
        g = SongGraph(doc, soundfont, synth_effects=True)
        try:
            if idle:
                g.render(idle, 256)
            renders.append(play(g, 3.0, block))
        finally:
            g.close()
    fresh = renders[0]
    # Without the reset they differ by up to about 0.0075 in the return.
    assert np.abs(fresh).max() > 0.05
    assert np.array_equal(fresh, renders[1])


def test_effects_reset_waits_for_silence(soundfont: Path) -> None:
    doc, _, _ = two_track_song()
    g = SongGraph(doc, soundfont, synth_effects=True)
    try:
        inst = g.graph.instrument
        assert inst is not None
        g.render(1024)
        assert inst.reset_effects()
        g.graph.handle_midi([0x90, 60, 100])
        g.render(1024)
        assert inst.active_voices() > 0
        assert not inst.reset_effects()  # a sounding note is never cut
        assert inst.active_voices() > 0
    finally:
        g.close()


def _with_return(doc: Document, soundfont: Path, seconds: float,
                 block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(the mix, the synth's reverb and chorus return) with the synth's effects on."""
    g = SongGraph(doc, soundfont, synth_effects=True)
    try:
        g.graph.stem_out = np.zeros_like(g.graph.strip_buf)
        g.command(Cmd.PLAY)
        mix, ret = [], []
        out = np.zeros((block, 2), np.float32)
        for _ in range(int(seconds * SECOND) // block):
            g.graph.process(out, block)
            mix.append(out.copy())
            ret.append(g.graph.stem_out[FX_RETURN, :, :block].T.copy())
        return np.concatenate(mix), np.concatenate(ret)
    finally:
        g.close()


def test_synth_reverb_send_is_post_fader(soundfont: Path) -> None:
    doc, piano, bass = two_track_song()
    doc.set_mixer(bass, mute=True)
    doc.set_master(limiter=False)
    loud, loud_ret = _with_return(doc, soundfont, 2.0)
    assert np.abs(loud_ret).max() > 1e-3  # the piano's notes reach the shared reverb
    doc.set_mixer(piano, volume_db=-12.0)
    quiet, quiet_ret = _with_return(doc, soundfont, 2.0)
    g = 10 ** (-12 / 20)
    # The send follows the fader: dry and reverb come down together.
    assert np.allclose(quiet_ret, loud_ret * g, atol=2e-6)
    assert np.allclose(quiet, loud * g, atol=2e-6)


def test_muting_a_track_silences_its_synth_reverb(soundfont: Path) -> None:
    doc = Document.new("pad")
    pad = doc.add_track("midi", "Pad", instrument=Instrument(0, 0, 0))
    clip = doc.add_midi_clip(pad, 0, PPQ * 16)
    doc.add_notes(clip, [Note(60, 0, PPQ * 16, 110, 0), Note(64, 0, PPQ * 16, 110, 0)])
    g = SongGraph(doc, soundfont, synth_effects=True)
    try:
        g.command(Cmd.PLAY)
        assert np.abs(g.render(SECOND // 2)).max() > 0.01
        doc.set_mixer(pad, mute=True)  # while the notes still hold: only the mix changes
        g.loader.set_mix(g.graph, mix_state(doc, compile_document(doc, RATE)))
        tail = g.render(3 * SECOND)
        assert g.graph.n_sounding > 0  # the notes go on, unheard
        # Nothing reaches the reverb any more: its tail has died away (FluidSynth's
        # reverb keeps a tiny offset against denormals, about 3e-8).
        assert np.abs(tail[-SECOND // 2:]).max() < 1e-6
    finally:
        g.close()


def test_player_reverb_controller_sets_the_send(soundfont: Path) -> None:
    levels = []
    for cc91 in (0, 127):
        doc, _, _ = two_track_song()  # not playing: the player's notes on the piano's strip
        g = SongGraph(doc, soundfont, synth_effects=True)
        try:
            g.graph.stem_out = np.zeros_like(g.graph.strip_buf)
            g.graph.handle_midi([0xB0, 91, cc91])
            g.graph.handle_midi([0x90, 60, 100])
            g.render(SECOND // 2)
            levels.append(float(np.abs(g.graph.stem_out[FX_RETURN]).max()))
        finally:
            g.close()
    assert 0.0 < levels[0] < levels[1]


def test_notes_start_in_the_synth_block_of_their_sample(song: SongGraph) -> None:
    audio = play(song, 0.6)
    onsets = []
    for start in (0, 12000, 24000):  # the piano's first notes, a half beat apart
        window = np.abs(audio[start:start + 6000, 0]) > 1e-4
        onsets.append(start + int(np.argmax(window)))
    assert onsets[0] < 64
    # FluidSynth starts a voice at its next 64-frame block: never before the note.
    assert all(0 <= o - s < 64 + 64 for o, s in zip(onsets[1:], (12000, 24000), strict=True))


def test_stop_and_locate_leave_no_stuck_notes(song: SongGraph) -> None:
    play(song, 1.1)  # mid-note on both tracks
    assert song.graph.n_sounding > 0
    song.command(Cmd.STOP)
    tail = song.render(3 * SECOND)
    assert song.graph.n_sounding == 0
    assert np.abs(tail[-SECOND:]).max() < 1e-4
    assert song.graph.instrument is not None and song.graph.instrument.active_voices() == 0
    song.command(Cmd.PLAY)
    song.render(SECOND // 2 + 300)
    song.command(Cmd.LOCATE, 6.0)  # a jump while notes sound
    song.render(256)
    assert all(v <= 1 for v in song.graph.sounding)


def test_loop_wraps_without_stuck_notes(soundfont: Path) -> None:
    doc = Document.new("loop")
    t = doc.add_track("midi", "Pad", instrument=Instrument(0, 0, 0))
    clip = doc.add_midi_clip(t, 0, PPQ * 8)
    # A note that crosses the loop end (beat 2) and one that starts inside the loop.
    doc.add_notes(clip, [Note(60, PPQ, PPQ * 4, 100, 0), Note(67, 0, PPQ // 2, 100, 0)])
    g = SongGraph(doc, soundfont)
    try:
        g.command(Cmd.LOOP, 1.0, 0.0, 2.0)
        audio = play(g, 4.0)  # four passes through the two-beat loop
        # Each pass: note 60 sounds from beat 1, is released at the wrap, and never
        # piles up; 67 restarts at each loop start.
        assert max(g.graph.sounding) <= 1
        spb = SECOND // 2
        for k in range(4):
            start = k * 2 * spb
            assert np.abs(audio[start:start + 2000]).max() > 0.01
        g.command(Cmd.STOP)
        tail = g.render(3 * SECOND)
        assert g.graph.n_sounding == 0 and np.abs(tail[-SECOND:]).max() < 1e-4
    finally:
        g.close()


def _render_doc(doc: Document, soundfont: Path, seconds: float = 2.0) -> np.ndarray:
    g = SongGraph(doc, soundfont)
    try:
        return play(g, seconds)
    finally:
        g.close()


def test_volume_pan_mute_and_solo(soundfont: Path) -> None:
    doc, piano, bass = two_track_song()
    ref = _render_doc(doc, soundfont)
    doc.set_mixer(bass, mute=True)
    piano_only = _render_doc(doc, soundfont)
    doc.set_mixer(bass, mute=False)
    doc.set_mixer(bass, solo=True)
    bass_only = _render_doc(doc, soundfont)
    # The two strips add up to the mix: nothing else is in it. (Not to the bit: a
    # FluidSynth channel renders a hair differently, about -66 dB, when another
    # channel's voices share the synth's voice pool.)
    assert np.abs(piano_only + bass_only - ref).max() < 1e-3
    assert np.abs(piano_only).max() > 0.01 and np.abs(bass_only).max() > 0.01
    doc.set_mixer(piano, mute=True)
    doc.set_mixer(bass, solo=False)
    doc.set_mixer(bass, mute=True)
    assert np.abs(_render_doc(doc, soundfont)).max() == 0.0
    doc.set_mixer(piano, mute=False, solo=True, volume_db=-6.0, pan=1.0)
    doc.set_mixer(bass, mute=False)
    quiet_right = _render_doc(doc, soundfont)
    assert np.abs(quiet_right[:, 0]).max() == 0.0  # panned hard right
    expected = piano_only[:, 1] * 10 ** (-6 / 20)
    assert np.allclose(quiet_right[:, 1], expected, atol=1e-6)


def test_effect_chain_and_live_parameter_change(soundfont: Path) -> None:
    doc, piano, bass = two_track_song()
    doc.set_mixer(bass, mute=True)
    dry = _render_doc(doc, soundfont)
    fx = doc.add_effect(piano, "gain", {"gain_db": -12.0})
    quieter = _render_doc(doc, soundfont)
    assert np.allclose(quieter, dry * 10 ** (-12 / 20), atol=1e-5)
    doc.add_effect(piano, "delay", {"delay_seconds": 0.25, "feedback": 0.0, "mix": 0.5})
    echoed = _render_doc(doc, soundfont, 5.0)
    assert not np.allclose(echoed[:len(quieter)], quieter, atol=1e-3)
    # A parameter change reaches the running plugin without rebuilding the chain.
    g = SongGraph(doc, soundfont)
    try:
        chain = g.graph.mix.chains[0]
        doc.update_effect(fx, params={"gain_db": -24.0})
        g.load()
        assert g.graph.mix.chains[0][0] is chain[0]
        assert abs(chain[0].gain_db + 24.0) < 1e-4
    finally:
        g.close()


def test_audio_region_plays_resampled_with_gain_and_fades(soundfont: Path,
                                                          tmp_path: Path) -> None:
    project = new_project(tmp_path / "audio")
    project.audio_dir.mkdir(parents=True)
    t = np.arange(44100 * 2) / 44100
    tone = (0.5 * np.sin(2 * np.pi * 441 * t)).astype(np.float32)
    sha = "a" * 64
    sf.write(project.audio_dir / f"{sha}.wav", tone, 44100, subtype="FLOAT")
    doc = project.document
    doc.add_blob(BlobInfo(sha, "wav", len(tone), 44100, 1, "tone.wav"))
    track = doc.add_track("audio", "Vox")
    doc.add_audio_region(track, sha, PPQ, PPQ * 2, gain_db=-6.0, fade_in=4410,
                         fade_out=4410)  # from beat 1 (0.5 s) for one second
    g = SongGraph(doc, soundfont, project=project)
    try:
        audio = play(g, 2.0)
    finally:
        g.close()
    left = audio[:, 0]
    assert np.abs(left[:SECOND // 2]).max() == 0.0
    assert np.abs(left[SECOND * 3 // 2 + 1:]).max() == 0.0
    middle = left[SECOND - 4800:SECOND + 4800]
    assert abs(np.abs(middle).max() - 0.5 * 10 ** (-6 / 20)) < 0.01
    # Faded in over 0.1 s: quiet at the start, full after it.
    assert np.abs(left[SECOND // 2:SECOND // 2 + 480]).max() < 0.05
    # A missing file is silent, and says so to no one's harm.
    os.remove(project.audio_dir / f"{sha}.wav")
    g = SongGraph(doc, soundfont, project=project)
    try:
        assert np.abs(play(g, 2.0)).max() == 0.0
    finally:
        g.close()


def test_tempo_map_drives_the_transport(soundfont: Path) -> None:
    doc, _, _ = two_track_song(bpm=120.0)
    doc.set_tempo(PPQ * 2, 60.0)  # half speed from beat 2
    g = SongGraph(doc, soundfont)
    try:
        play(g, 1.5)
        assert g.graph.transport.bpm == 60.0
        assert abs(g.graph.transport.beat_at(g.graph.clock) - 2.5) < 0.01
    finally:
        g.close()


def test_broken_vst3_is_skipped_with_a_message(soundfont: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "Broken.vst3"
    bogus.write_bytes(b"\x7fELF not really a plugin")
    with pytest.raises(EffectError, match=r"Broken\.vst3"):
        probe_vst3(bogus, timeout=30)
    doc, piano, _ = two_track_song()
    doc.add_effect(piano, "vst3", {}, plugin=str(bogus))
    g = SongGraph(doc, soundfont, factory=PluginFactory(probe_timeout=30))
    try:
        assert any("Broken.vst3" in m and "skipped" in m for m in g.messages)
        assert np.abs(play(g, 1.0)).max() > 0.01  # the song plays on without it
    finally:
        g.close()


def test_hanging_vst3_load_times_out(tmp_path: Path) -> None:
    """A plugin whose loading never ends: the probe gives up after its time limit."""
    zamverb = Path("/usr/lib/vst3/ZamVerb.vst3")
    if not zamverb.exists():
        pytest.skip("zam-plugins is not installed")
    with pytest.raises(EffectError, match=r"ZamVerb\.vst3 did not finish loading"):
        probe_vst3(zamverb, timeout=5)


def test_working_vst3_plays_in_a_chain() -> None:
    zamcomp = Path("/usr/lib/vst3/ZamCompX2.vst3")
    if not zamcomp.exists():
        pytest.skip("zam-plugins is not installed")
    # In a child process: loading a VST3 here switches this process's FPU to
    # flush-to-zero, which breaks Hypothesis tests that run later in the session.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        result = pool.apply(song_support.vst3_chain_check, (str(zamcomp),))
    messages, failures, differs = result
    assert len(messages) == 1 and "ZamDelay.vst3 cannot process stereo" in messages[0]
    assert failures == 0 and differs
