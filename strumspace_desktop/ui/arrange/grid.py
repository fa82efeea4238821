"""Snap grids of the arrangement: bar, beat, note values, triplets, or off.

Pure functions over the song's TimeSignatureMap (no Qt), so gestures and tests
agree on where a position snaps. Grid lines are counted from each bar's start,
so a 7/8 bar snaps to its own eighths after a 4/4 bar.
"""

from __future__ import annotations

from dataclasses import dataclass

from strumspace_desktop.core.timing import PPQ, TimeSignatureMap


@dataclass(frozen=True, slots=True)
class Grid:
    key: str
    label: str
    ticks: int  # fixed step; 0 for bar/beat (from the meter) and for off


GRIDS: tuple[Grid, ...] = (
    Grid("bar", "Bar", 0),
    Grid("beat", "Beat", 0),
    Grid("1/8", "1/8", PPQ // 2),
    Grid("1/16", "1/16", PPQ // 4),
    Grid("1/8t", "1/8 triplet", PPQ // 3),
    Grid("1/16t", "1/16 triplet", PPQ // 6),
    Grid("off", "Off", 0),
)
GRID_BY_KEY = {g.key: g for g in GRIDS}


def step_at(grid: str, tick: int, meters: TimeSignatureMap) -> int:
    """The grid's step (ticks) around `tick`; 0 when snapping is off."""
    g = GRID_BY_KEY[grid]
    if g.key == "off":
        return 0
    meter = meters.meter_at_tick(max(tick, 0))
    if g.key == "bar":
        return meter.ticks_per_bar
    if g.key == "beat":
        return meter.ticks_per_beat
    return g.ticks


def snap(tick: float, grid: str, meters: TimeSignatureMap, *, floor: bool = False) -> int:
    """`tick` moved to the nearest grid line (or the one at or before it when `floor`)."""
    t = max(0, round(tick)) if not floor else max(0, int(tick // 1))
    step = step_at(grid, t, meters)
    if step <= 0:
        return t
    bar = meters.bbt_at_tick(t).bar - 1
    bar_start = meters.bar_start_tick(bar)
    bar_end = meters.bar_start_tick(bar + 1)
    n = (t - bar_start) // step
    lo = bar_start + n * step
    if floor:
        return lo
    hi = min(lo + step, bar_end)  # a bar line is always a grid line
    return hi if (t - lo) * 2 >= (hi - lo) and hi != lo else lo
