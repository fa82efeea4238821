"""Chord analysis for the API: the desktop's runtime (``models.chords.runtime``) and
model file, run off the event loop in a bounded pool of threads.

Threads rather than processes: ONNX Runtime, the FFTs, soxr and libsndfile release the
GIL, the model is loaded once and shared, and a cancelled request (client gone,
request timeout) stops its analysis at the next chunk through the runtime's cancel
flag. The pool admits ``analysis_workers`` running and ``analysis_queue`` waiting
jobs; one more is refused at once (``Busy``, 503 with Retry-After) instead of
queueing without bound. A job keeps its place until its thread is really done, so
cancelled work cannot pile up behind the count.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from cloud.analysis.schema import AnalysisDoc
from cloud.config import Settings

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
# Seconds a refused client is told to wait.
RETRY_AFTER_S = 5
_COPY_BLOCK = 1 << 20
_READ_BLOCK = 1 << 16


class EmbeddingOut(BaseModel):
    """The clip's harmonic embedding (models/chords/embedding.py): unit length, so
    cosine similarity is the dot product. Compare only vectors with the same
    ``version`` and ``key_invariant``."""

    model_config = ConfigDict(extra="forbid")

    vector: list[float]
    dim: int = Field(ge=1)
    version: str = Field(description="recipe + chord model version")
    model_version: str
    recipe: str
    key_invariant: bool


class AnalysisResult(AnalysisDoc):
    """The analysis document of `strumspace analyze --format json` (docs/ANALYSIS.md),
    with ``embedding`` added when the request asked for it."""

    embedding: EmbeddingOut | None = None


class AudioRefused(Exception):
    """An upload this service does not analyze: ``status`` and ``code`` for the API."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Busy(Exception):
    """Every worker and waiting place is taken."""


@dataclass(frozen=True)
class Options:
    beat_sync: bool = False
    embedding: bool = False
    key_invariant: bool = True


def _suffix(filename: str | None) -> str:
    """The upload's extension when it is a plain one (libsndfile mostly reads the
    content; the extension only helps formats without a header)."""
    m = re.search(r"\.([A-Za-z0-9]{1,8})$", filename or "")
    return f".{m.group(1).lower()}" if m else ""


def analyze_upload(upload: IO[bytes], filename: str | None, options: Options,
                   settings: Settings, cancel: threading.Event) -> dict[str, Any]:
    """Analyze an uploaded file (any position; read from the start) and return the
    response document as JSON-ready data. Blocking: runs in a worker thread."""
    import soundfile as sf

    from models.audio_damage import describe_error
    from models.chords import runtime

    with tempfile.NamedTemporaryFile(suffix=_suffix(filename), prefix="strumspace-analysis-"
                                     ) as tmp:
        upload.seek(0)
        size = 0
        while block := upload.read(_COPY_BLOCK):
            size += len(block)
            if size > settings.analysis_max_bytes:
                raise AudioRefused(413, "too_large", "the audio file is larger than the limit "
                                   f"of {settings.analysis_max_bytes} bytes")
            tmp.write(block)
        tmp.flush()
        if size == 0:
            raise AudioRefused(422, "unsupported_audio", "the uploaded file is empty")
        path = Path(tmp.name)
        try:
            info = sf.info(str(path))
        except Exception as exc:  # libsndfile: not audio, or a format it cannot read
            raise AudioRefused(422, "unsupported_audio",
                               "the file is not audio this service can read (WAV, FLAC, "
                               f"OGG/Vorbis/Opus, MP3, AIFF, ...): "
                               f"{_first_line(describe_error(exc))}") from None
        if info.samplerate <= 0 or info.channels <= 0 or info.frames <= 0:
            raise AudioRefused(422, "unsupported_audio",
                               "the file holds no audio frames (or does not say how many)")
        if info.duration > settings.analysis_max_duration_s:
            raise AudioRefused(413, "too_long",
                               f"the audio lasts {info.duration:.1f} s; the limit is "
                               f"{settings.analysis_max_duration_s:g} s")
        # Loaded first: analyze_file would report a bad model file as bad audio.
        runtime.load_net(settings.analysis_model)
        try:
            analysis = runtime.analyze_file(path, beat_sync=options.beat_sync, cancel=cancel,
                                            model=settings.analysis_model)
        except runtime.AnalysisCancelled:
            raise
        except runtime.AnalysisError as exc:
            # The runtime names the file: the temporary path means nothing to the client.
            message = str(exc).replace(str(path), filename or "the file")
            raise AudioRefused(422, "unreadable_audio", message) from None
        doc = analysis.to_doc().model_dump(mode="json")
        doc["source"] = filename[:1000] if filename else None
        if options.embedding:
            if cancel.is_set():
                raise runtime.AnalysisCancelled("analysis cancelled")
            doc["embedding"] = _embedding(path, options, settings)
        return doc


def _embedding(path: Path, options: Options, settings: Settings) -> dict[str, Any]:
    from models.chords import features as feat
    from models.chords.embedding import clip_embedding

    audio = _mono_at(path, feat.SAMPLE_RATE)
    e = clip_embedding(audio, feat.SAMPLE_RATE, key_invariant=options.key_invariant,
                       model=settings.analysis_model)
    return e.to_dict()


def _mono_at(path: Path, rate: int) -> np.ndarray:
    """The file as mono float32 at ``rate``, read and resampled block by block (a long
    stereo file at 48 kHz never sits in memory whole)."""
    import numpy as np
    import soundfile as sf
    import soxr

    from models.chords.features import to_mono

    parts: list[np.ndarray] = []
    with sf.SoundFile(str(path)) as f:
        stream = None if f.samplerate == rate else \
            soxr.ResampleStream(f.samplerate, rate, 1, dtype="float32")
        while True:
            block = f.read(_READ_BLOCK, dtype="float32", always_2d=True)
            last = block.shape[0] == 0
            mono = to_mono(block) if not last else np.zeros(0, np.float32)
            if stream is not None:
                mono = np.asarray(stream.resample_chunk(mono, last=last), dtype=np.float32)
            parts.append(mono)
            if last:
                break
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _first_line(text: str) -> str:
    text = text.strip()
    return (text.splitlines()[0] if text else "")[:200]


class AnalysisPool:
    """The bounded worker pool (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.capacity = settings.analysis_workers + settings.analysis_queue
        self._executor = ThreadPoolExecutor(max_workers=settings.analysis_workers,
                                            thread_name_prefix="analysis")
        self._lock = threading.Lock()
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """Jobs running or waiting (including cancelled ones still winding down)."""
        return self._admitted

    def admit(self) -> None:
        """Take a place or raise Busy; give it back with ``release`` unless ``run``
        took it over."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise Busy
            self._admitted += 1

    def release(self) -> None:
        with self._lock:
            self._admitted -= 1

    async def run(self, fn: Callable[[threading.Event], T]) -> T:
        """Run ``fn(cancel)`` on a worker with an admitted place, which it releases
        when the thread is done. If the awaiting request is cancelled, ``cancel`` is
        set (the runtime stops at its next chunk) and a job still waiting never
        starts."""
        cancel = threading.Event()
        future = self._executor.submit(fn, cancel)
        future.add_done_callback(lambda _: self.release())
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            cancel.set()
            future.cancel()
            raise

    def close(self) -> None:
        """Stop taking work; cancel what waits (running jobs finish)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
