"""Snap-to-grid settings and arithmetic of the piano roll (pure Python, no Qt)."""

from __future__ import annotations

import math

from strumspace_desktop.core.timing import PPQ

# Label -> grid in ticks (None: snapping off). Triplets fit three in the time of two.
SNAP_CHOICES: dict[str, int | None] = {
    "1/4": PPQ,
    "1/8": PPQ // 2,
    "1/16": PPQ // 4,
    "1/32": PPQ // 8,
    "1/4 T": PPQ * 2 // 3,
    "1/8 T": PPQ // 3,
    "1/16 T": PPQ // 6,
    "1/32 T": PPQ // 12,
    "Off": None,
}
DEFAULT_SNAP = "1/16"
# With snapping off, drawn notes still get a musical default length.
FREE_NOTE_LENGTH = PPQ // 4


def snap_round(tick: float, grid: int | None) -> int:
    """The nearest grid line (or the nearest tick when snapping is off)."""
    if grid is None:
        return round(tick)
    return round(tick / grid) * grid


def snap_floor(tick: float, grid: int | None) -> int:
    """The grid line at or before `tick`: where a click inside a cell puts a note."""
    if grid is None:
        return math.floor(tick)
    return math.floor(tick / grid) * grid


def min_length(grid: int | None) -> int:
    """The shortest a note can be resized to."""
    return grid if grid is not None else 1
