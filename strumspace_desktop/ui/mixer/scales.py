"""Qt-free mappings between a control's position (0..1) and the value it edits, and
how values read: the volume fader's taper, linear and logarithmic parameter ranges.

The fader taper is piecewise linear in dB between marks, so the musically busy
region (-20..+6 dB) gets most of the travel and the scale's labels are evenly
readable; position 0 is silence (the document's floor, -200 dB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from strumspace_desktop.core.effects import ParamSpec

SILENCE_DB = -200.0  # the document's floor for volumes
FADER_MAX_DB = 12.0
# (position, dB) marks of the volume fader; below the first mark the fader fades out.
FADER_MARKS: tuple[tuple[float, float], ...] = (
    (0.02, -60.0), (0.14, -40.0), (0.28, -30.0), (0.42, -20.0), (0.56, -12.0),
    (0.68, -6.0), (0.80, 0.0), (0.90, 6.0), (1.0, FADER_MAX_DB),
)
FADER_BOTTOM_DB = -90.0  # just above position 0 (which is silence)
# The labels drawn beside the fader.
SCALE_LABELS: tuple[float, ...] = (12.0, 6.0, 0.0, -6.0, -12.0, -20.0, -30.0, -40.0, -60.0)


class Mapping(Protocol):
    def to_value(self, pos: float) -> float: ...

    def to_pos(self, value: float) -> float: ...


def _clamp01(x: float) -> float:
    return 0.0 if not math.isfinite(x) else min(1.0, max(0.0, x))


@dataclass(frozen=True)
class FaderTaper:
    """Volume fader: position 0..1 <-> dB (0 is silence, the top is +12 dB)."""

    def to_value(self, pos: float) -> float:
        pos = _clamp01(pos)
        if pos <= 0.0:
            return SILENCE_DB
        prev_p, prev_db = 0.0, FADER_BOTTOM_DB
        for p, db in FADER_MARKS:
            if pos <= p:
                return prev_db + (db - prev_db) * (pos - prev_p) / (p - prev_p)
            prev_p, prev_db = p, db
        return FADER_MAX_DB

    def to_pos(self, value: float) -> float:
        if not math.isfinite(value) or value <= FADER_BOTTOM_DB:
            return 0.0
        prev_p, prev_db = 0.0, FADER_BOTTOM_DB
        for p, db in FADER_MARKS:
            if value <= db:
                return prev_p + (p - prev_p) * (value - prev_db) / (db - prev_db)
            prev_p, prev_db = p, db
        return 1.0


@dataclass(frozen=True)
class LinearMap:
    minimum: float
    maximum: float

    def to_value(self, pos: float) -> float:
        return self.minimum + (self.maximum - self.minimum) * _clamp01(pos)

    def to_pos(self, value: float) -> float:
        span = self.maximum - self.minimum
        return 0.0 if span == 0 else _clamp01((value - self.minimum) / span)


@dataclass(frozen=True)
class LogMap:
    """Equal travel per ratio (frequencies, times); needs 0 < minimum < maximum."""

    minimum: float
    maximum: float

    def to_value(self, pos: float) -> float:
        return float(self.minimum * (self.maximum / self.minimum) ** _clamp01(pos))

    def to_pos(self, value: float) -> float:
        if not math.isfinite(value) or value <= self.minimum:
            return 0.0
        return _clamp01(math.log(value / self.minimum) / math.log(self.maximum / self.minimum))


def param_mapping(spec: ParamSpec) -> LinearMap | LogMap:
    if spec.log and 0 < spec.minimum < spec.maximum:
        return LogMap(spec.minimum, spec.maximum)
    return LinearMap(spec.minimum, spec.maximum)


def format_db(db: float) -> str:
    if not math.isfinite(db) or db <= FADER_BOTTOM_DB:
        return "-∞ dB"
    return f"{db:+.1f} dB" if abs(db) >= 0.05 else "0.0 dB"


def format_pan(pan: float) -> str:
    percent = round(pan * 100)
    if percent == 0:
        return "C"
    return f"L{-percent}" if percent < 0 else f"R{percent}"


def _digits(value: float, significant: int = 3) -> str:
    if value == 0:
        return "0"
    decimals = max(0, significant - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{min(decimals, 3)}f}"


def format_value(value: float, unit: str) -> str:
    """A parameter value as a musician reads it: 1.2 kHz, 375 ms, -18.0 dB, 4.0:1, 50 %."""
    if unit == "Hz" and abs(value) >= 1000:
        return f"{_digits(value / 1000)} kHz"
    if unit == "s" and abs(value) < 1:
        return f"{_digits(value * 1000)} ms"
    if unit == "dB":
        return f"{value:.1f} dB"
    if unit == ":1":
        return f"{value:.1f}:1"
    if unit == "":
        return _digits(value)
    return f"{_digits(value)} {unit}"
