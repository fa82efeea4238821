"""The input ring and the take writer: readers of their own, a reader that falls
behind, a file that ends cleanly when the disk (here a file-size limit) is full."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from strumspace_desktop.audio.input_ring import InputRing
from strumspace_desktop.record.audio_writer import AudioTakeWriter


def blocks(n: int, frames: int = 256, channels: int = 2) -> list[np.ndarray]:
    data = np.arange(n * frames * channels, dtype=np.float32).reshape(n * frames, channels)
    return [data[i * frames:(i + 1) * frames] / 1e6 for i in range(n)]


def test_readers_keep_their_own_position() -> None:
    ring = InputRing.create(2, 48000, capacity=1024)
    other = ring  # readers in another process attach by name; each has its own position
    try:
        a = ring.reader()
        data = blocks(3)
        ring.write(data[0], 256, 1000)
        b = other.reader()  # from now: sees only what comes next
        ring.write(data[1], 256, 1256)
        ring.write(data[2], 256, 1512)
        ca = a.read()
        cb = b.read()
        assert ca.clock == 1000 and np.array_equal(ca.frames, np.concatenate(data))
        assert cb.clock == 1256 and np.array_equal(cb.frames, np.concatenate(data[1:]))
        assert other.reader(at_clock=1512).read().clock == 1512
    finally:
        ring.close()


def test_a_reader_that_falls_behind_is_told_what_it_lost() -> None:
    ring = InputRing.create(1, 48000, capacity=1024)
    try:
        r = ring.reader()
        data = blocks(6, channels=1)  # 1536 frames into a ring of 1024
        for i, blk in enumerate(data):
            ring.write(blk, 256, i * 256)
        chunk = r.read()
        assert chunk.lost == 512 and chunk.clock == 512
        assert np.array_equal(chunk.frames, np.concatenate(data[2:]))
    finally:
        ring.close()


def test_take_is_written_between_its_clocks(tmp_path: Path) -> None:
    ring = InputRing.create(2, 48000, capacity=8192)
    try:
        reader = ring.reader()
        writer = AudioTakeWriter(reader, tmp_path, start_clock=300)
        data = blocks(20)
        for i, blk in enumerate(data):
            ring.write(blk, 256, i * 256)
        writer.stop(at_clock=4000)
        take = writer.finish()
        assert take.error == "" and take.file_clock == 300 and take.frames == 3700
        audio, rate = sf.read(take.path, dtype="float32", always_2d=True)
        assert rate == 48000 and np.array_equal(audio, np.concatenate(data)[300:4000])
        assert take.path.name.endswith(".wav") and len(take.path.stem) == 64
    finally:
        ring.close()


def test_a_stop_behind_what_was_written_cuts_the_take_there(tmp_path: Path) -> None:
    # The UI's stop comes after the engine's clock has passed the stop point: the
    # writer may already hold frames beyond it.
    ring = InputRing.create(2, 48000, capacity=8192)
    try:
        writer = AudioTakeWriter(ring.reader(), tmp_path, start_clock=100)
        data = blocks(16)
        for i, blk in enumerate(data):
            ring.write(blk, 256, i * 256)
        deadline = time.monotonic() + 10
        while writer.frames < 4096 - 100 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert writer.frames == 4096 - 100
        writer.stop(at_clock=3000)
        take = writer.finish()
        assert take.error == "" and take.frames == 2900
        audio, _rate = sf.read(take.path, dtype="float32", always_2d=True)
        assert np.array_equal(audio, np.concatenate(data)[100:3000])
    finally:
        ring.close()


CHILD = textwrap.dedent("""
    import json, resource, signal, sys, time
    from pathlib import Path
    import numpy as np
    from strumspace_desktop.audio.input_ring import InputRing
    from strumspace_desktop.record.audio_writer import AudioTakeWriter

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full file fails, it does not kill
    ring = InputRing.create(2, 48000, capacity=1 << 16)  # shared memory counts too
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    writer = AudioTakeWriter(ring.reader(), Path(sys.argv[1]))
    t = np.arange(48000 * 2) / 48000
    tone = np.stack([np.sin(2 * np.pi * 440 * t), np.cos(2 * np.pi * 440 * t)], 1)
    tone = tone.astype(np.float32)
    for i in range(0, len(tone), 256):
        ring.write(tone[i:i + 256], 256, i)
        if i % 4096 == 0:
            time.sleep(0.002)
        if not writer.running:
            break
    writer.stop(len(tone))
    take = writer.finish()
    print(json.dumps({"path": str(take.path), "frames": take.frames, "error": take.error}))
""")


def test_disk_full_keeps_what_was_recorded_and_stops_cleanly(tmp_path: Path) -> None:
    limit = 100_003  # bytes: about half a second of stereo float
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), str(limit)],
                         capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "disk is full" in result["error"]
    frames = result["frames"]
    assert frames == (limit - 44) // 8
    audio, _rate = sf.read(result["path"], dtype="float32", always_2d=True)
    assert audio.shape == (frames, 2)
    t = np.arange(frames) / 48000
    assert np.allclose(audio[:, 0], np.sin(2 * np.pi * 440 * t), atol=1e-6)
    assert list(tmp_path.glob(".rec-*")) == []
