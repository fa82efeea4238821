"""What the live chord worker reports (plain, picklable values; no Qt)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class LiveChord:
    """A chord recognised in the input: shown at once, large.

    `changed` is True when the displayed chord changed (the recogniser's decision);
    between changes the worker repeats the current chord about four times a second
    with `changed` False, so that the runners-up (a "maybe next" hint) stay fresh and
    the display knows the input is being heard."""

    label: str  # Harte label ("N" for no chord)
    confidence: float  # 0..1
    clock: int  # engine clock (frames) where the recogniser places its start
    seconds: float  # the same on the stream's time line (clock / sample rate)
    bass: int = -1  # pitch class of an inversion's bass, -1 in root position or for N
    runners_up: tuple[tuple[str, float], ...] = ()  # the next most likely labels now
    changed: bool = True


class LiveState(enum.Enum):
    OFF = "off"  # not started, or stopped on purpose
    STARTING = "starting"  # the worker is loading the model
    LISTENING = "listening"  # reading the input
    NO_INPUT = "no-input"  # the input stopped coming (engine gone or restarting)
    FAILED = "failed"  # the worker could not run (see the message)


@dataclass(frozen=True)
class LiveStatus:
    state: LiveState
    message: str = ""  # for musicians; empty while all is well


@dataclass(frozen=True)
class LiveStats:
    """Sent about once a second: how much input the worker read and skipped."""

    frames_read: int
    frames_skipped: int  # dropped to catch up with the newest audio
    clock: int  # engine clock of the next frame the worker reads
