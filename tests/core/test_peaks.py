"""Waveform peaks: equal to a direct numpy min/max, cached on disk by SHA-256,
computed off the calling thread, and honest about missing files."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from strumspace_desktop.core.peaks import LEVELS, PeakCache, compute_peaks

SHA = "ab" * 32


def _write(path: Path, frames: int, channels: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = (rng.random((frames, channels), dtype=np.float32) - 0.5) * 1.6
    sf.write(path, data, 48000, subtype="FLOAT")
    return data


def _direct(data: np.ndarray, start: int, per: float, columns: int) -> np.ndarray:
    out = []
    for i in range(columns):
        a, b = int(start + i * per), int(start + (i + 1) * per)
        seg = data[a:max(b, a + 1)]
        out.append(np.stack([seg.min(axis=0), seg.max(axis=0)], axis=-1))
    return np.array(out, np.float32)


def test_levels_equal_numpy_min_max(tmp_path: Path) -> None:
    # Not a multiple of any level, longer than one read block, three channels.
    frames = LEVELS[-1] * 64 + 5000
    data = _write(tmp_path / "a.wav", frames, 3)
    levels = compute_peaks(tmp_path / "a.wav")
    for level in LEVELS:
        n = -(-frames // level)
        assert levels[level].shape == (n, 3, 2)
        np.testing.assert_array_equal(levels[level], _direct(data, 0, level, n))


@given(per=st.sampled_from([256, 512, 4096, 8192, 12288]),
       start_peaks=st.integers(0, 20),
       columns=st.integers(1, 30))
def test_get_on_level_boundaries_is_exact(tmp_path_factory: pytest.TempPathFactory,
                                          per: int, start_peaks: int,
                                          columns: int) -> None:
    level = max(lv for lv in LEVELS if lv <= per)
    start = start_peaks * level
    folder = tmp_path_factory.mktemp("p")
    data = _write(folder / "a.wav", 100_000, 2, seed=3)
    cache = PeakCache(lambda _sha: folder / "a.wav", cache_dir=folder / "cache")
    try:
        assert cache.get(SHA, per) is None  # computing
        assert cache.wait(SHA, 60)
        got = cache.get(SHA, per, start_frame=start, columns=columns)
        assert got is not None
        n = min(columns, -(-(len(data) - start) // per))
        # Columns starting on a peak boundary with a whole number of peaks: exact.
        np.testing.assert_array_equal(got[:n], _direct(data, start, per, n))
    finally:
        cache.close()


def test_get_between_levels_covers_the_column(tmp_path: Path) -> None:
    data = _write(tmp_path / "a.wav", 50_000, 1)
    cache = PeakCache(lambda _sha: tmp_path / "a.wav", cache_dir=tmp_path / "cache")
    cache.get(SHA, 1000)
    assert cache.wait(SHA, 60)
    got = cache.get(SHA, 1000, start_frame=300)
    assert got is not None and got.shape == (50, 1, 2)
    exact = _direct(data, 300, 1000, 50)
    # A column is drawn from whole 256-frame peaks: never narrower than its samples.
    assert (got[..., 0] <= exact[..., 0]).all() and (got[..., 1] >= exact[..., 1]).all()
    # Below the finest level, a column shows the 256-frame peak holding it.
    fine = cache.get(SHA, 64, start_frame=512, columns=4)
    assert fine is not None
    np.testing.assert_array_equal(fine, np.repeat(_direct(data, 512, 256, 1), 4, axis=0))
    cache.close()


def test_cached_on_disk_and_reused_without_the_audio(tmp_path: Path) -> None:
    _write(tmp_path / "a.wav", 20_000, 2)
    ready: list[str] = []
    done = threading.Event()

    def on_ready(sha: str) -> None:
        ready.append(sha)
        done.set()

    cache = PeakCache(lambda _sha: tmp_path / "a.wav", cache_dir=tmp_path / "cache",
                      on_ready=on_ready)
    assert cache.get(SHA, 4096) is None
    assert done.wait(60)
    assert ready == [SHA]
    first = cache.get(SHA, 4096)
    cache.close()
    files = sorted(p.name for p in (tmp_path / "cache" / "peaks" / SHA[:2]).iterdir())
    assert files == [f"{SHA}.v1.{lv}.npy" for lv in sorted(LEVELS, key=str)]
    (tmp_path / "a.wav").unlink()
    again = PeakCache(lambda _sha: None, cache_dir=tmp_path / "cache")
    second = again.get(SHA, 4096)  # straight from the cache files: no computation
    assert second is not None
    np.testing.assert_array_equal(first, second)
    again.close()


def test_missing_and_unreadable_files_say_why(tmp_path: Path) -> None:
    (tmp_path / "junk.wav").write_bytes(b"not audio at all" * 100)
    cache = PeakCache(lambda sha: None if sha == SHA else tmp_path / "junk.wav",
                      cache_dir=tmp_path / "cache")
    assert cache.get(SHA, 256) is None
    assert "missing" in (cache.error(SHA) or "")
    other = "cd" * 32
    assert cache.get(other, 256) is None
    cache.wait(other, 60)
    assert "junk.wav could not be read" in (cache.error(other) or "")
    assert cache.get(other, 256) is None  # not retried in a loop
    cache.close()


def test_a_damaged_cache_file_is_recomputed(tmp_path: Path) -> None:
    data = _write(tmp_path / "a.wav", 9000, 1)
    cache = PeakCache(lambda _sha: tmp_path / "a.wav", cache_dir=tmp_path / "cache")
    cache.get(SHA, 256)
    cache.wait(SHA, 60)
    cache.close()
    (tmp_path / "cache" / "peaks" / SHA[:2] / f"{SHA}.v1.256.npy").write_bytes(b"\x93NUMPY")
    fresh = PeakCache(lambda _sha: tmp_path / "a.wav", cache_dir=tmp_path / "cache")
    assert fresh.get(SHA, 256) is None
    assert fresh.wait(SHA, 60)
    got = fresh.get(SHA, 256)
    assert got is not None
    np.testing.assert_array_equal(got, _direct(data, 0, 256, len(got)))
    fresh.close()
