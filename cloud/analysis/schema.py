"""The chord-analysis document: what `strumspace analyze --format json` writes and the
cloud analysis API returns (docs/ANALYSIS.md describes every field).

Only pydantic and the chord vocabulary (standard library) are imported: the desktop,
the cloud and models.chords.runtime all use this module.

Versioning: ``SCHEMA_VERSION`` is an integer written into every document. Additions
(new optional fields) keep it; a change of meaning or a removed field bumps it, and
readers refuse a version they do not know (``AnalysisDoc`` accepts only its own).
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.chords.vocabulary import ChordLabelError, parse

SCHEMA_VERSION: Literal[1] = 1
# Boundaries may touch; this much overlap (s) is rounding, more is an error.
_EPS = 1e-6


class _Model(BaseModel):
    # Unknown fields are an error: a typo should not pass silently.
    model_config = ConfigDict(extra="forbid")


class ChordSegment(_Model):
    """One chord span. ``root`` and ``bass`` are pitch classes 0..11 (C = 0), -1 for
    no-chord; ``bass`` equals ``root`` in root position. ``label`` is the Harte label
    (MIREX), consistent with ``root``/``quality``/``bass``."""

    start: float = Field(ge=0, description="seconds")
    end: float = Field(ge=0, description="seconds")
    label: str = Field(max_length=32)
    root: int = Field(ge=-1, le=11)
    quality: str = Field(max_length=8, description="vocabulary quality, '' for N")
    bass: int = Field(ge=-1, le=11)
    confidence: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> ChordSegment:
        if self.end <= self.start:
            raise ValueError(f"segment end {self.end} is not after its start {self.start}")
        try:
            chord = parse(self.label)
        except ChordLabelError as exc:
            raise ValueError(str(exc)) from exc
        if (chord.root, chord.quality if chord.root >= 0 else "",
                chord.bass_pc) != (self.root, self.quality, self.bass):
            raise ValueError(f"label {self.label!r} disagrees with root {self.root}, "
                             f"quality {self.quality!r}, bass {self.bass}")
        return self


class Key(_Model):
    """Global key: tonic spelled as the key signature spells it, e.g. ``Bb`` major."""

    tonic: str = Field(pattern=r"^[A-G][b#]?$")
    mode: Literal["major", "minor"]
    confidence: float = Field(ge=-1, le=1, description="profile correlation")

    @property
    def label(self) -> str:
        """mir_eval.key notation, e.g. ``Bb major``."""
        return f"{self.tonic} {self.mode}"


class AnalysisDoc(_Model):
    """A whole file's analysis. Times in seconds from the start of the file; ``beats``
    and ``downbeats`` ascending; ``segments`` ascending, not overlapping, covering
    [0, duration] (gaps are not written: silence is an ``N`` segment)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    model_version: str = Field(max_length=100)
    duration: float = Field(ge=0, description="seconds")
    key: Key | None = None
    tempo: float | None = Field(default=None, ge=0, description="beats per minute")
    beats: list[float] = Field(default_factory=list)
    downbeats: list[float] = Field(default_factory=list)
    beats_per_bar: int = Field(default=4, ge=1, le=16)
    segments: list[ChordSegment] = Field(default_factory=list)
    decoder: Literal["hmm", "ctc", "frames"] = "hmm"
    beat_sync: bool = False
    source: str | None = Field(default=None, max_length=1000,
                               description="file name the audio came from")
    tuning_cents: float | None = Field(
        default=None, ge=-50, le=50,
        description="the recording's tuning in cents from A = 440 Hz; null when unknown")
    hum_hz: float | None = Field(
        default=None, ge=40, le=70,
        description="the mains hum (its frequency, about 50 or 60 Hz) found in the "
                    "recording and filtered out before the chords were read; null when none")

    @field_validator("beats", "downbeats")
    @classmethod
    def _ascending(cls, v: list[float]) -> list[float]:
        if any(t < 0 for t in v) or any(b < a for a, b in itertools.pairwise(v)):
            raise ValueError("times must be >= 0 and ascending")
        return v

    @model_validator(mode="after")
    def _tiled(self) -> AnalysisDoc:
        prev = 0.0
        for i, seg in enumerate(self.segments):
            if seg.start < prev - _EPS:
                raise ValueError(f"segment {i} starts at {seg.start} before the previous "
                                 f"one ends ({prev})")
            prev = seg.end
        if prev > self.duration + 1e-3:
            raise ValueError(f"segments end at {prev}, after the duration {self.duration}")
        return self
