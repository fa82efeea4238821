"""One generation job against a loaded backend: the only place that calls the model
package (`models.generation.backends` and `.tasks`), shared by the worker process and
the command line's in-process path. No Qt, no multiprocessing."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .events import FailReason

if TYPE_CHECKING:
    from models.generation.piece import Piece

DEVICES = ("auto", "cpu", "cuda")
_PREFER = {"auto": "auto", "cpu": "onnx", "cuda": "cuda"}


class JobCancelled(Exception):
    """The job was cancelled (raised by our cancel check or the task's)."""


@dataclass
class Loaded:
    backend: Any
    device: str
    model_dir: str | None
    notices: list[str]
    warned: int = 0  # how many of the backend's `warnings` were passed on

    def new_warnings(self) -> list[str]:
        """The backend's warnings (e.g. a CUDA out-of-memory fallback) not yet told."""
        every = list(getattr(self.backend, "warnings", []))
        fresh, self.warned = every[self.warned:], len(every)
        return [str(w) for w in fresh]

    @property
    def name(self) -> str:
        return str(getattr(self.backend, "name", "unknown"))


def load(device: str = "auto", model_dir: str | Path | None = None, threads: int = 1) -> Loaded:
    """Load the backend (CUDA torch when asked/available, else ONNX int8 on the CPU).
    Warnings the backend raises while loading (a CUDA out-of-memory fallback) come back
    as notices for the musician."""
    from models.generation import backends

    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    kwargs: dict[str, Any] = {"prefer": _PREFER[device], "threads": threads}
    if model_dir is not None:
        kwargs["directory"] = Path(model_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backend = backends.load_backend(**kwargs)
    notices = [str(w.message) for w in caught
               if not issubclass(w.category, DeprecationWarning)]
    loaded = Loaded(backend, device, None if model_dir is None else str(model_dir), notices)
    loaded.notices += loaded.new_warnings()
    return loaded


def run(
    request: Any,
    backend: Any,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    messages: list[str] | None = None,
) -> tuple[list[Piece], list[tuple[str, float]]]:
    """(variations, next-chord suggestions) for one request (a
    `models.generation.tasks.GenerationRequest`). What the task layer changed or
    guessed (a clamped setting, an estimated key) is appended to `messages`."""
    from models.generation import tasks

    def on_progress(report: Any) -> None:
        # Reports that carry a message repeat what goes to `messages`: not progress.
        if progress is not None and not getattr(report, "message", ""):
            progress(min(max(float(report.fraction), 0.0), 1.0))

    if request.task == "next-chord":
        return [], _next_chords(request, backend, messages)
    pieces = tasks.generate(request, backend, progress=on_progress, cancel=cancel,
                            messages=messages)
    if cancel is not None and cancel():
        raise JobCancelled
    return list(pieces), []


def _next_chords(request: Any, backend: Any, messages: list[str] | None
                 ) -> list[tuple[str, float]]:
    """Suggestions after the request's chords (or its prompt's), `variations` of them."""
    from models.generation import tasks
    from models.generation.piece import chord_name

    history = request.chords
    meter = tuple(request.time_signature or (4, 4))
    prompt = request.prompt
    if history is None and prompt is not None and len(prompt.chords):
        history = [(int(t), chord_name(int(r), int(q))) for t, _, r, q in prompt.chords.tolist()]
        if len(prompt.bars) and request.time_signature is None:
            meter = (int(prompt.bars[0, 1]), int(prompt.bars[0, 2]))
    if not history and messages is not None:
        messages.append("no chords given: suggesting a first chord")
    lo, hi = tasks.LIMITS["variations"]
    n = int(min(max(int(request.variations), lo), hi))
    return list(tasks.next_chords(history or None, request.key, n=n, backend=backend,
                                  time_signature=meter))


def is_cuda_oom(exc: BaseException) -> bool:
    return type(exc).__name__ == "OutOfMemoryError" or "CUDA out of memory" in str(exc)


def classify(exc: BaseException) -> tuple[FailReason, str]:
    """A failure as (reason, message for musicians)."""
    from models.generation import backends, tasks

    if isinstance(exc, tasks.GenerationCancelled):
        return "stopped", "Generation was cancelled."
    if isinstance(exc, tasks.GenerationError):
        return "input", str(exc)
    if isinstance(exc, backends.ModelFileError):
        return "model", str(exc)
    if isinstance(exc, ValueError) and "device must be" in str(exc):
        return "input", str(exc)
    if isinstance(exc, MemoryError):
        return "internal", "There is not enough memory to generate this; try fewer bars or " \
                           "variations."
    return "internal", f"Generation failed ({type(exc).__name__}: {exc})."
