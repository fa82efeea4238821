"""Helpers for the analysis tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Seg:
    """A chord segment as the runtime's Analysis carries it (seconds)."""

    start: float
    end: float
    label: str
    confidence: float = 0.9


@dataclass(frozen=True)
class Result:
    """The fields of an analysis the chord-track writer reads (data for its tests)."""

    segments: list[Seg]
    duration: float
    key: Any = None
    tempo: float | None = None
    beats: list[float] = field(default_factory=list)
