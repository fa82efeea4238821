"""Waveform peaks of the project's audio files, for drawing regions at any zoom (no Qt).

For each audio blob two resolutions are kept: the minimum and maximum of every
256 frames and of every 4096 frames (`LEVELS`), per channel. They are computed in
one pass over the file, block by block (never the whole file in memory), on a
worker thread, and stored as numpy files in a cache folder keyed by the blob's
SHA-256:

    <cache dir>/peaks/<sha[:2]>/<sha256>.v1.<frames per peak>.npy
        float32, shape (peaks, channels, 2): [..., 0] = min, [..., 1] = max

The cache folder is the user's cache directory (platformdirs, or
$STRUMSPACE_CACHE_DIR), not the project folder: peaks can always be recomputed,
are shared by every project using the same bytes, and so never make a project
bigger, slower to save, or different from what its owner saved. Deleting the
folder is always safe.

Use (the arrangement view):

    cache = PeakCache(locate=lambda sha: controller.project.audio_path(sha),
                      on_ready=lambda sha: view_signal.emit(sha))  # worker thread!
    peaks = cache.get(region.blob, frames_per_pixel, start_frame=region.offset,
                      columns=width_px)
    if peaks is None: draw a placeholder; repaint when on_ready names this blob
    else: peaks[i, ch, 0] / [i, ch, 1] are the min / max of pixel column i

`get` never blocks on decoding: it answers from memory or the cache file, or
starts the computation and returns None. Column i covers frames
[start_frame + i * frames_per_pixel, ... + frames_per_pixel). Columns are reduced
from the finest level at or below `frames_per_pixel`; below 256 frames per pixel a
column shows the 256-frame peak that contains it. Columns past the last peak are
left out. `on_ready(sha256)` is called on the worker thread once peaks are
available (marshal it to the UI thread: a queued Qt signal does); a blob whose file
is missing or unreadable is not retried until `forget(sha256)`; `error(sha256)`
says why.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from strumspace_desktop.core.audio_import import decode_blocks

LEVELS = (256, 4096)  # frames per peak, finest first; each divides the next
CACHE_ENV = "STRUMSPACE_CACHE_DIR"
_VERSION = "v1"
_BLOCK = LEVELS[-1] * 64  # frames read at once: a multiple of every level
_MEMORY_ITEMS = 64  # blobs whose peak arrays stay in memory

Locate = Callable[[str], Path | None]
Listener = Callable[[str], object]


def default_cache_dir() -> Path:
    """$STRUMSPACE_CACHE_DIR, else the platform's user cache folder for StrumSpace."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("StrumSpace", appauthor=False))


def _reduce(minmax: np.ndarray, factor: int) -> np.ndarray:
    """Peaks of groups of `factor` peaks (the last group may be short)."""
    n = len(minmax)
    full = n // factor * factor
    parts = []
    if full:
        g = minmax[:full].reshape(full // factor, factor, *minmax.shape[1:])
        parts.append(np.stack([g[..., 0].min(axis=1), g[..., 1].max(axis=1)], axis=-1))
    if full < n:
        rest = minmax[full:]
        parts.append(np.stack([rest[..., 0].min(axis=0), rest[..., 1].max(axis=0)],
                              axis=-1)[None])
    if not parts:
        return np.zeros((0, *minmax.shape[1:]), np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)


def _frame_peaks(frames: np.ndarray, per: int) -> np.ndarray:
    """(frames, channels) samples -> (ceil(frames / per), channels, 2) min and max."""
    pairs = np.stack([frames, frames], axis=-1)  # min and max of one frame are itself
    return _reduce(pairs, per)


def compute_peaks(path: Path, cancel: threading.Event | None = None) -> dict[int, np.ndarray]:
    """Min/max per channel at every level of `LEVELS`, read block by block."""
    finest: list[np.ndarray] = []
    with sf.SoundFile(str(path)) as f:
        for block in decode_blocks(f, _BLOCK, "float32"):
            if cancel is not None and cancel.is_set():
                raise InterruptedError("peak computation cancelled")
            finest.append(_frame_peaks(block, LEVELS[0]))
        channels = f.channels
    level0 = (np.concatenate(finest) if finest
              else np.zeros((0, channels, 2), np.float32))
    out = {LEVELS[0]: level0}
    # Blocks are whole multiples of every level, so coarser levels reduce the finest.
    for level in LEVELS[1:]:
        out[level] = _reduce(level0, level // LEVELS[0])
    return out


class PeakCache:
    """Peaks of audio blobs by SHA-256, computed off the calling thread and kept on disk."""

    def __init__(self, locate: Locate, *, cache_dir: Path | None = None,
                 on_ready: Listener | None = None) -> None:
        self._locate = locate
        self.cache_dir = (cache_dir if cache_dir is not None else default_cache_dir()) / "peaks"
        self._listeners: list[Listener] = [on_ready] if on_ready is not None else []
        self._lock = threading.Lock()
        self._memory: OrderedDict[str, dict[int, np.ndarray]] = OrderedDict()
        self._pending: dict[str, Future[None]] = {}
        self._errors: dict[str, str] = {}
        self._cancel = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="peaks")

    # The API ---------------------------------------------------------------------------
    def set_locate(self, locate: Locate) -> None:
        """Where blobs are now (another project was opened)."""
        self._locate = locate

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """`listener(sha256)` after peaks become available (on the worker thread)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners \
            else None

    def get(self, sha256: str, frames_per_pixel: float, *, start_frame: int = 0,
            columns: int | None = None) -> np.ndarray | None:
        """(columns, channels, 2) float32 min/max per pixel column, or None while the
        peaks are being computed (or cannot be: see `error`)."""
        if frames_per_pixel <= 0:
            raise ValueError(f"frames_per_pixel must be positive, got {frames_per_pixel!r}")
        levels = self.levels(sha256)
        if levels is None:
            return None
        level = max((lv for lv in LEVELS if lv <= frames_per_pixel), default=LEVELS[0])
        peaks = levels[level]
        total = len(peaks)
        if total == 0:
            return np.zeros((0, peaks.shape[1] if peaks.ndim == 3 else 1, 2), np.float32)
        start = max(0, int(start_frame))
        last_frame = total * level  # upper bound of the file's frames at this level
        n = columns if columns is not None else int(np.ceil((last_frame - start)
                                                            / frames_per_pixel))
        n = max(0, min(n, int(np.ceil((last_frame - start) / frames_per_pixel))))
        if n == 0:
            return np.zeros((0, peaks.shape[1], 2), np.float32)
        edges = start + np.arange(n + 1, dtype=np.float64) * frames_per_pixel
        lo = np.minimum((edges[:-1] // level).astype(np.int64), total - 1)
        hi = np.clip(np.ceil(edges[1:] / level).astype(np.int64), lo + 1, total)
        # Only the visible span is read (the arrays may be memory-mapped), plus one
        # spare row so that every `hi` is a valid reduceat index.
        first, end = int(lo[0]), int(hi[-1])
        window = np.concatenate([peaks[first:end], peaks[end - 1:end]])
        # Interleaved (lo, hi) pairs: the even results reduce [lo, hi) of each column.
        idx = np.empty(2 * n, np.int64)
        idx[0::2] = lo - first
        idx[1::2] = hi - first
        mins = np.minimum.reduceat(window[..., 0], idx, axis=0)[0::2]
        maxs = np.maximum.reduceat(window[..., 1], idx, axis=0)[0::2]
        return np.stack([mins, maxs], axis=-1).astype(np.float32, copy=False)

    def levels(self, sha256: str) -> dict[int, np.ndarray] | None:
        """Every level's full peak array for a blob, or None (and computing it starts)."""
        with self._lock:
            found = self._memory.get(sha256)
            if found is not None:
                self._memory.move_to_end(sha256)
                return found
            if sha256 in self._errors or sha256 in self._pending:
                return None
        loaded = self._load(sha256)
        if loaded is not None:
            self._remember(sha256, loaded)
            return loaded
        self._start(sha256)
        return None

    def ready(self, sha256: str) -> bool:
        with self._lock:
            return sha256 in self._memory

    def error(self, sha256: str) -> str | None:
        with self._lock:
            return self._errors.get(sha256)

    def forget(self, sha256: str) -> None:
        """Drop what is known about a blob (its file came back, say): the next get retries."""
        with self._lock:
            self._errors.pop(sha256, None)
            self._memory.pop(sha256, None)

    def wait(self, sha256: str, timeout: float | None = None) -> bool:
        """Block until a pending computation ends (tests and command-line tools)."""
        with self._lock:
            future = self._pending.get(sha256)
        if future is not None:
            with contextlib.suppress(Exception):
                future.result(timeout)
        return self.ready(sha256)

    def close(self) -> None:
        """Stop the worker; pending computations are abandoned (nothing half-written stays)."""
        self._cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # Inside ----------------------------------------------------------------------------
    def _file(self, sha256: str, level: int) -> Path:
        return self.cache_dir / sha256[:2] / f"{sha256}.{_VERSION}.{level}.npy"

    def _load(self, sha256: str) -> dict[int, np.ndarray] | None:
        out: dict[int, np.ndarray] = {}
        for level in LEVELS:
            try:
                arr = np.load(self._file(sha256, level), mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, EOFError):
                return None  # missing or damaged: computed again
            if arr.ndim != 3 or arr.shape[2] != 2 or arr.dtype != np.float32:
                return None
            out[level] = arr
        return out

    def _remember(self, sha256: str, levels: dict[int, np.ndarray]) -> None:
        with self._lock:
            self._memory[sha256] = levels
            self._memory.move_to_end(sha256)
            while len(self._memory) > _MEMORY_ITEMS:
                self._memory.popitem(last=False)

    def _start(self, sha256: str) -> None:
        path = self._locate(sha256)
        with self._lock:
            if sha256 in self._pending or sha256 in self._memory:
                return
            if path is None:
                self._errors[sha256] = "the audio file is missing (offline)"
                return
            if self._cancel.is_set():
                return
            self._pending[sha256] = self._pool.submit(self._compute, sha256, Path(path))

    def _compute(self, sha256: str, path: Path) -> None:
        try:
            levels = compute_peaks(path, self._cancel)
            self._store(sha256, levels)
        except InterruptedError:
            with self._lock:
                self._pending.pop(sha256, None)
            return
        except Exception as exc:  # unreadable file: say why, do not retry in a loop
            with self._lock:
                self._errors[sha256] = f"{path.name} could not be read: {exc}"
                self._pending.pop(sha256, None)
            return
        self._remember(sha256, levels)
        with self._lock:
            self._pending.pop(sha256, None)
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a listener's bug must not kill the worker
                listener(sha256)

    def _store(self, sha256: str, levels: dict[int, np.ndarray]) -> None:
        """Best effort: a cache that cannot be written only means computing again."""
        for level, arr in levels.items():
            target = self._file(sha256, level)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(tmp, "wb") as f:
                    np.save(f, np.ascontiguousarray(arr, dtype=np.float32))
                os.replace(tmp, target)
            except OSError:
                with contextlib.suppress(OSError):
                    tmp.unlink()
