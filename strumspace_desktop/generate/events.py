"""What the generation service reports, one frozen value per event (no Qt).

Every job ends with exactly one of `Result`, `Failed` or `Cancelled`; before that it
may report `Progress` and `Notice` (e.g. "the GPU ran out of memory, the CPU takes
over"). `Ready` says the worker has loaded a model (not tied to a job).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from models.generation.piece import Piece

# Why a job failed: bad input (the musician can fix the request), the model file
# (missing or damaged), the worker process died, or anything else.
FailReason: TypeAlias = Literal["input", "model", "crash", "internal", "stopped"]


@dataclass(frozen=True)
class Ready:
    backend: str  # "onnx-int8-cpu", "torch-cuda", ...
    job: None = None


@dataclass(frozen=True)
class Progress:
    job: int
    fraction: float  # 0..1


@dataclass(frozen=True)
class Notice:
    """Something the musician should know that does not stop the job."""

    job: int | None
    message: str


@dataclass(frozen=True)
class Result:
    job: int
    pieces: list[Piece]  # the variations (empty for next-chord)
    suggestions: list[tuple[str, float]] = field(default_factory=list)  # next-chord
    backend: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Failed:
    job: int
    message: str  # for musicians: says what went wrong and what to do
    reason: FailReason = "internal"


@dataclass(frozen=True)
class Cancelled:
    job: int


GenerationEvent: TypeAlias = Ready | Progress | Notice | Result | Failed | Cancelled
JobEnd: TypeAlias = Result | Failed | Cancelled
