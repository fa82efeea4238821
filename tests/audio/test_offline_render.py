"""Offline mixdown and stems: files, ranges, progress, cancel and clear errors."""

from __future__ import annotations

import multiprocessing
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import song_support
import soundfile as sf
from song_support import PPQ, SongGraph, two_track_song

from strumspace_desktop.audio.offline_render import (
    BLOCK,
    RenderCancelled,
    RenderError,
    RenderOptions,
    _Renderer,
    render_mixdown,
    render_stems,
)
from strumspace_desktop.audio.protocol import Cmd


def test_mixdown_file_range_and_progress(tmp_path: Path) -> None:
    doc, _, _ = two_track_song()
    seen: list[float] = []
    path = render_mixdown(doc, tmp_path / "mix.flac",
                          RenderOptions(44100, "flac", "PCM_16", tail_seconds=1.0),
                          progress=seen.append)
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (
        44100, 2, "PCM_16", "FLAC")
    # Eight beats at 120 bpm end at 4 s; the last note ends a little before, then 1 s.
    assert 4.0 < info.duration < 5.5
    assert seen == sorted(seen) and seen[-1] == 1.0
    part = render_mixdown(doc, tmp_path / "part.wav",
                          RenderOptions(start_tick=PPQ * 2, end_tick=PPQ * 4))
    assert sf.info(str(part)).frames == 48000  # two beats at 120 bpm
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_stems_are_one_file_per_strip_and_sum_to_the_mix(tmp_path: Path) -> None:
    doc, _, bass = two_track_song()
    doc.set_master(limiter=False)
    options = RenderOptions(subtype="FLOAT", tail_seconds=0.5)
    stems = render_stems(doc, tmp_path, options)
    # The synth's shared reverb and chorus return is a stem of its own.
    assert [p.name for p in stems] == ["01 Piano.wav", "02 Bass.wav",
                                       "03 Synth reverb and chorus.wav"]
    mix = render_mixdown(doc, tmp_path / "mix.wav", options)
    total = sum(sf.read(str(p), dtype="float32")[0] for p in stems)
    assert np.allclose(total, sf.read(str(mix), dtype="float32")[0], atol=1e-5)
    doc.set_mixer(bass, mute=True)  # a muted strip is still a (silent) stem
    stems = render_stems(doc, tmp_path, options)
    assert np.abs(sf.read(str(stems[1]))[0]).max() == 0.0


def test_cancel_and_errors_leave_nothing_behind(tmp_path: Path) -> None:
    doc, _, _ = two_track_song()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(RenderCancelled):
        render_mixdown(doc, tmp_path / "mix.wav", cancel=cancel)
    with pytest.raises(RenderCancelled):
        render_stems(doc, tmp_path, cancel=cancel)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RenderError, match="does not exist"):
        render_mixdown(doc, tmp_path / "no" / "mix.wav")
    with pytest.raises(RenderError, match="FLAC cannot store"):
        render_mixdown(doc, tmp_path / "mix.flac", RenderOptions(format="flac",
                                                                   subtype="FLOAT"))
    with pytest.raises(RenderError, match="is a folder"):
        render_mixdown(doc, tmp_path)


def test_a_failing_write_is_reported_and_cleans_up(tmp_path: Path) -> None:
    """Writes start failing mid-render (a file size limit set from the progress
    callback, as a disk that fills up would): a clear error, no file left behind."""
    import resource
    import signal

    doc, _, _ = two_track_song()
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def fill_up(_fraction: float) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, old[1]))

    try:
        with pytest.raises(RenderError, match=r"mix\.wav could not be written|disk is full"):
            render_mixdown(doc, tmp_path / "mix.wav", RenderOptions(subtype="FLOAT"),
                           progress=fill_up)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)
    assert list(tmp_path.iterdir()) == []


def test_song_playback_does_not_grow_memory(soundfont: Path) -> None:
    doc, _, _ = two_track_song()
    g = SongGraph(doc, soundfont)
    try:
        g.command(Cmd.LOOP, 1.0, 0.0, 8.0)
        g.command(Cmd.PLAY)
        out = np.zeros((256, 2), np.float32)
        for _ in range(2000):
            g.graph.process(out, 256)
        ours = str(Path(__file__).parents[2] / "strumspace_desktop")
        tracemalloc.start(5)
        try:
            filt = [tracemalloc.Filter(True, ours + "/*")]
            before = tracemalloc.take_snapshot().filter_traces(filt)
            for _ in range(5000):  # many loop passes, notes on and off
                g.graph.process(out, 256)
            after = tracemalloc.take_snapshot().filter_traces(filt)
        finally:
            tracemalloc.stop()
        growth = [s for s in after.compare_to(before, "lineno") if s.size_diff > 0]
        assert sum(s.size_diff for s in growth) < 2048, [str(s) for s in growth[:5]]
    finally:
        g.close()


def test_pipelined_render_equals_the_callback_order() -> None:
    """Worker threads run the effects of one block while the next is synthesized:
    the samples are exactly those of the graph run block after block."""
    doc, piano, bass = two_track_song()
    for track in (piano, bass):
        for kind in ("eq", "compressor", "chorus", "delay", "reverb"):
            doc.add_effect(track, kind, {})
    serial = _Renderer(doc, RenderOptions(tail_seconds=1.0), stems=False, workers=0)
    try:
        out = np.zeros((BLOCK, 2), np.float32)
        expected = []
        done = 0
        while done < serial.total:
            n = min(BLOCK, serial.total - done)
            serial.graph.process(out, n)
            expected.append(out[:n].copy())
            done += n
    finally:
        serial.close()
    piped = _Renderer(doc, RenderOptions(tail_seconds=1.0), stems=False, workers=3)
    try:
        assert piped.pipeline.workers == 3
        got = [chunk.copy() for chunk, _n in piped.blocks(None, None)]
    finally:
        piped.close()
    a, b = np.concatenate(expected), np.concatenate(got)
    assert np.abs(a).max() > 0.05
    assert np.array_equal(a, b)


def test_a_damaged_soundfont_is_a_clear_error(tmp_path: Path) -> None:
    doc, _, _ = two_track_song()
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00not a soundfont")
    with pytest.raises(RenderError, match=r"bad\.sf2"):
        render_mixdown(doc, tmp_path / "mix.wav", RenderOptions(soundfont=bad))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.sf2"]


def test_a_plugin_failing_mid_render_is_dropped_alike_with_workers() -> None:
    zamdelay = Path("/usr/lib/vst3/ZamDelay.vst3")
    if not zamdelay.exists():
        pytest.skip("zam-plugins is not installed")
    # In a child process: a VST3 loaded here would switch this process's FPU mode.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        serial, failed_serial = pool.apply(song_support.failing_plugin_render,
                                           (str(zamdelay), 0))
        piped, failed_piped = pool.apply(song_support.failing_plugin_render,
                                         (str(zamdelay), 2))
    assert failed_serial == failed_piped == 1  # dropped once, the render went on
    assert np.abs(serial).max() > 0.05
    assert np.array_equal(serial, piped)


def test_a_render_left_half_way_stops_its_workers() -> None:
    """The consumer stops between blocks (a write failed) and keeps the generator:
    closing the renderer still ends its worker threads."""
    doc, _, _ = two_track_song()
    r = _Renderer(doc, RenderOptions(), stems=False, workers=2)
    threads = list(r.pipeline._threads)
    blocks = r.blocks(None, None)
    next(blocks)
    r.close()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    del blocks
