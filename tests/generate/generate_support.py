"""Helpers for the generation tests: small MIDI files, damaged model folders, events."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import mido

from models.generation import backends
from strumspace_desktop.generate.events import GenerationEvent

MODEL_DIR = backends.ARTIFACTS  # the committed model (a smoke export until the real one)

# A small tune in C: (beat, beats, pitch); a chord at the start to test the top line.
TUNE = [(0, 1, 60), (0, 1, 64), (0, 1, 67), (1, 1, 62), (2, 1, 64), (3, 1, 65),
        (4, 2, 67), (6, 1, 65), (7, 1, 64), (8, 1, 62), (9, 1, 60), (10, 2, 62),
        (12, 1, 64), (13, 1, 62), (14, 2, 60)]


def write_tune(path: Path, notes: Sequence[tuple[float, float, int]] = TUNE, *,
               bpm: float = 100.0, tpb: int = 480, numerator: int = 4) -> Path:
    """A type-1 MIDI file with the notes (beat, beats, pitch) on channel 0."""
    events: list[tuple[int, int, mido.Message]] = []
    for beat, beats, pitch in notes:
        events.append((round(beat * tpb), 1, mido.Message("note_on", note=pitch, velocity=90)))
        events.append((round((beat + beats) * tpb), 0,
                       mido.Message("note_off", note=pitch, velocity=0)))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
    track.append(mido.MetaMessage("time_signature", numerator=numerator, denominator=4))
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    mid.tracks.append(track)
    mid.save(str(path))
    return path


def damaged_model_dir(tmp: Path) -> Path:
    """A copy of the model folder whose ONNX file is cut in half."""
    out = tmp / "damaged-model"
    shutil.copytree(MODEL_DIR, out)
    onnx = out / backends.ONNX_NAME
    data = onnx.read_bytes()
    onnx.write_bytes(data[: len(data) // 2])
    return out


class EventLog:
    """Collects a service's events (they arrive on the service's reader thread)."""

    def __init__(self) -> None:
        self.events: list[GenerationEvent] = []
        self._lock = threading.Lock()
        self.hooks: list = []  # callables run on each event (e.g. cancel on first progress)

    def __call__(self, event: GenerationEvent) -> None:
        with self._lock:
            self.events.append(event)
        for hook in list(self.hooks):
            hook(event)

    def of(self, job: int, kind: type) -> list:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind) and e.job == job]
