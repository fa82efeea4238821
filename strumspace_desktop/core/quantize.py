"""Quantize: move note starts toward a grid, pure functions on ticks.

Used twice: as input quantize while a take is committed and as post-quantize on
notes already in a clip. The grid is anchored at song tick 0 (`origin` shifts it),
so a note keeps its musical place whatever clip it sits in.

Swing delays every second grid line (the off-beats of each pair) by `swing` times
the grid: 0 is straight, 1/3 turns straight eighths into a triplet shuffle. The
target of a note is the nearest (swung) grid line; `strength` moves the note that
fraction of the way there (1 = all the way, 0 = not at all).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from strumspace_desktop.core.document.model import Note
from strumspace_desktop.core.timing import PPQ

NOTE_VALUES = (1, 2, 4, 8, 16, 32, 64)
MAX_SWING = 0.5


@dataclass(frozen=True, slots=True)
class QuantizeSettings:
    note_value: int = 16  # 4 = quarter notes, 16 = sixteenths
    triplet: bool = False
    strength: float = 1.0  # 0..1
    swing: float = 0.0  # 0..0.5 of a grid step
    lengths: bool = False  # also snap note ends (post-quantize)

    def __post_init__(self) -> None:
        if self.note_value not in NOTE_VALUES:
            raise ValueError(f"note value must be one of {NOTE_VALUES}, got {self.note_value!r}")
        if not (math.isfinite(self.strength) and 0.0 <= self.strength <= 1.0):
            raise ValueError(f"strength must be between 0 and 1, got {self.strength!r}")
        if not (math.isfinite(self.swing) and 0.0 <= self.swing <= MAX_SWING):
            raise ValueError(f"swing must be between 0 and {MAX_SWING}, got {self.swing!r}")

    @property
    def grid(self) -> int:
        return grid_ticks(self.note_value, self.triplet)


def grid_ticks(note_value: int, triplet: bool = False) -> int:
    """Ticks between grid lines: a sixteenth is 240 ticks, a sixteenth triplet 160."""
    if note_value not in NOTE_VALUES:
        raise ValueError(f"note value must be one of {NOTE_VALUES}, got {note_value!r}")
    whole = PPQ * 4
    return whole * 2 // (note_value * 3) if triplet else whole // note_value


def grid_line(index: int, grid: int, swing: float = 0.0, origin: int = 0) -> float:
    """Position of grid line `index`; odd lines are swung later."""
    return origin + index * grid + (swing * grid if index % 2 else 0.0)


def nearest_line(tick: float, grid: int, swing: float = 0.0, origin: int = 0) -> float:
    """The grid line nearest to `tick` (ties go to the earlier line)."""
    if grid <= 0:
        raise ValueError(f"grid must be positive, got {grid!r}")
    base = math.floor((tick - origin) / grid)
    best = grid_line(base - 1, grid, swing, origin)
    for i in (base, base + 1, base + 2):
        cand = grid_line(i, grid, swing, origin)
        if abs(cand - tick) < abs(best - tick):
            best = cand
    return best


def quantize_tick(tick: float, grid: int, strength: float = 1.0, swing: float = 0.0,
                  origin: int = 0) -> int:
    """`tick` moved `strength` of the way to its nearest grid line, in whole ticks."""
    target = nearest_line(tick, grid, swing, origin)
    return math.floor(tick + strength * (target - tick) + 0.5)


def quantize_span(start: float, length: float, settings: QuantizeSettings,
                  origin: int = 0) -> tuple[int, int]:
    """A note's (start, length) in song ticks after quantizing; the length stays at
    least one tick, and with `lengths` its end snaps to the grid as well."""
    g = settings.grid
    new_start = quantize_tick(start, g, settings.strength, settings.swing, origin)
    if settings.lengths:
        end = quantize_tick(start + length, g, settings.strength, settings.swing, origin)
    else:
        end = math.floor(new_start + length + 0.5)
    return new_start, max(1, end - new_start)


def quantize_spans(spans: Iterable[tuple[float, float]], settings: QuantizeSettings,
                   origin: int = 0) -> list[tuple[int, int]]:
    return [quantize_span(s, n, settings, origin) for s, n in spans]


def quantize_notes(notes: dict[str, Note], clip_start: int,
                   settings: QuantizeSettings) -> dict[str, Note]:
    """Post-quantize: the notes of a clip starting at song tick `clip_start`, keyed by
    note id, moved on the song's grid. Only notes that change are returned; none moves
    before the clip's start."""
    out: dict[str, Note] = {}
    for nid, note in notes.items():
        start, length = quantize_span(clip_start + note.start, note.length, settings)
        start = max(0, start - clip_start)
        if (start, length) != (note.start, note.length):
            out[nid] = Note(note.pitch, start, length, note.velocity, note.channel)
    return out
