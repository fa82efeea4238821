"""Which audio inputs an audio track records: input 1, input 2, or both as stereo.

The engine opens the device with up to two input channels and its input ring
holds them all; `ChannelPick` hands a take writer only the chosen ones, so a
mono take is a one-channel file. The choice belongs to the session, not the song
(the song document has no field for it), like record arming.

A device with a single input offers input 1 only: a track set to input 2 or to
1+2 then records input 1, and `resolve` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from strumspace_desktop.audio.input_ring import Chunk, InputReader

InputChoice = str  # one of INPUT_CHOICES
INPUT_CHOICES: dict[InputChoice, tuple[int, ...]] = {"1": (0,), "2": (1,), "1+2": (0, 1)}
INPUT_LABELS: dict[InputChoice, str] = {"1": "In 1", "2": "In 2", "1+2": "In 1+2"}
DEFAULT_INPUT: InputChoice = "1+2"  # what recording took before there was a choice


def resolve(choice: InputChoice, available: int) -> tuple[tuple[int, ...], str]:
    """The input channels to record for `choice` on a device with `available` inputs,
    and a note for the musician when the choice cannot be honoured ("" otherwise)."""
    wanted = INPUT_CHOICES.get(choice, INPUT_CHOICES[DEFAULT_INPUT])
    if available < 1:
        raise ValueError("the audio device has no input")
    if max(wanted) < available:
        return wanted, ""
    label = INPUT_LABELS.get(choice, choice)
    return (0,), (f"The audio device has {available} input only: the track set to "
                  f"{label} records input 1.")


@dataclass(frozen=True)
class _Shape:
    channels: int
    sample_rate: int


class ChannelPick:
    """An InputReader's stream with only some of its channels (what a take writer
    reads: `ring.channels`, `ring.sample_rate`, `clock`, `available()`, `read()`)."""

    def __init__(self, reader: InputReader, channels: tuple[int, ...]) -> None:
        if not channels or max(channels) >= reader.ring.channels or min(channels) < 0:
            raise ValueError(f"channels {channels} are not all among the ring's "
                             f"{reader.ring.channels}")
        self.reader = reader
        self._pick = list(channels)
        self.ring = _Shape(len(channels), reader.ring.sample_rate)

    @property
    def clock(self) -> int:
        return self.reader.clock

    def available(self) -> int:
        return self.reader.available()

    def read(self, max_frames: int = 1 << 16) -> Chunk:
        chunk = self.reader.read(max_frames)
        return Chunk(chunk.clock, np.ascontiguousarray(chunk.frames[:, self._pick]),
                     chunk.lost)
