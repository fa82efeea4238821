"""The live chord worker: a process of its own that reads the engine's input ring.

It runs in a fresh interpreter (started by `LiveChordService` with the "spawn"
context), never in the audio engine and never in the UI's interpreter. It only
*reads* the shared ring: the engine's callback writes it without ever waiting for
readers, so however slow this worker is, the audio thread is unaffected. When it
falls more than `max_backlog_s` behind, it jumps to the newest audio (and restarts
the recogniser there): a live display wants now, not a backlog.

The channels it hears: the mean of the chosen input channels (all of them by
default), as one mono signal.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from strumspace_desktop.analysis.live_events import (
    LiveChord,
    LiveState,
    LiveStats,
    LiveStatus,
)

POLL_S = 0.02  # how often the worker looks for new input
STATS_S = 1.0
REFRESH_S = 0.25  # the current chord is repeated this often between changes
NO_INPUT_S = 1.5  # no new frames for this long: the input (or the engine) stopped


@dataclass(frozen=True)
class LiveOptions:
    channels: tuple[int, ...] | None = None  # None: every input channel, mixed
    max_backlog_s: float = 0.5  # behind by more: skip to the newest audio
    keep_s: float = 0.1  # how much of the newest audio to keep after a skip


def _recognizer(sample_rate: int) -> Any:
    from models.chords.live import LiveRecognizer

    return LiveRecognizer(sample_rate)


def _restart(rec: Any, sample_rate: int) -> Any:
    reset = getattr(rec, "reset", None)
    if callable(reset):
        reset()
        return rec
    return _recognizer(sample_rate)


def _mono(frames: np.ndarray, channels: Sequence[int]) -> np.ndarray:
    if frames.shape[1] == 1:
        return np.ascontiguousarray(frames[:, 0])
    return np.ascontiguousarray(frames[:, list(channels)].mean(axis=1, dtype=np.float32))


def _since_frames(chord: Any, sample_rate: int) -> int:
    """Frames from the recogniser's first sample to where it places the chord's start."""
    since = getattr(chord, "since", None)
    if since is None:
        return 0
    return round(float(since) * sample_rate)


def _bass(chord: Any) -> int:
    bass, root = int(getattr(chord, "bass", -1)), int(getattr(chord, "root", -1))
    return bass if bass >= 0 and bass != root else -1


def _runners_up(rec: Any, label: str) -> tuple[tuple[str, float], ...]:
    top = getattr(rec, "top", None)
    if not callable(top):
        return ()
    shown = label.split("/")[0]  # the hint names chords in root position
    return tuple((str(lab), float(p)) for lab, p in top(3) if lab != shown)[:2]


def _heard(rec: Any) -> tuple[int | None, int]:
    """What the recogniser found in the input that the musician should know: the mains
    hum it filters out (Hz, rounded; None when none) and the tuning it reads the input
    at (cents, rounded; 0 when read as it comes)."""
    hum = getattr(rec, "hum_hz", None)
    return (None if hum is None else round(hum),
            round(float(getattr(rec, "tuning_cents", 0.0))))


def _listening(heard: tuple[int | None, int]) -> LiveStatus:
    """Listening, with what was heard (``_heard``): a hum is a cable, a pickup or a
    ground loop to look at; a tuning tells a player why the names are still right."""
    hum, cents = heard
    if hum is None and cents == 0:
        return LiveStatus(LiveState.LISTENING)
    parts = ["Listening to the audio input"]
    if hum is not None:
        parts.append(f"its {hum} Hz mains hum (a pickup, a cable or a ground loop) is "
                     "filtered out")
    if cents:
        from models.chords.formats import tuning_text

        parts.append(f"it is tuned {tuning_text(cents)}: its chords are named as if in "
                     "tune")
    return LiveStatus(LiveState.LISTENING, "; ".join(parts) + ".")


def run_live_worker(ring_name: str, options: LiveOptions, conn: Connection,
                    stop: Any) -> None:
    """Process entry point: attach, recognise until `stop` is set, report on `conn`."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    ring = None

    def send(msg: object) -> None:
        conn.send(msg)

    try:
        from strumspace_desktop.audio.input_ring import InputRing

        try:
            ring = InputRing.attach(ring_name)
        except (FileNotFoundError, OSError, ValueError):
            send(LiveStatus(LiveState.NO_INPUT, "The audio input is not available."))
            return
        rate = ring.sample_rate
        channels = tuple(c for c in (options.channels or range(ring.channels))
                         if 0 <= c < ring.channels) or (0,)
        try:
            rec = _recognizer(rate)
        except Exception as exc:  # a missing or damaged model file, reported as such
            send(LiveStatus(LiveState.FAILED, f"Live chords are unavailable: {exc}"))
            return
        reader = ring.reader()
        rec_clock = reader.clock  # engine clock of the recogniser's first sample
        max_backlog = max(1, int(options.max_backlog_s * rate))
        keep = max(1, int(options.keep_s * rate))
        read = skipped = 0
        last_data = time.monotonic()
        last_stats = 0.0
        last_sent = time.monotonic()
        quiet = False
        told: tuple[int | None, int] = (None, 0)  # hum and tuning, as told
        send(_listening(told))
        while not stop.is_set():
            now = time.monotonic()
            if now - last_stats >= STATS_S:
                last_stats = now
                send(LiveStats(read, skipped, reader.clock))
            behind = reader.available()
            if behind > max_backlog:
                # Too far behind: drop all but the newest audio and start afresh there.
                jump = ring.written - keep - reader.pos
                reader.pos += jump
                skipped += jump
                rec = _restart(rec, rate)
                rec_clock = reader.clock
                behind = reader.available()
            if behind <= 0:
                if not quiet and now - last_data > NO_INPUT_S:
                    quiet = True
                    send(LiveStatus(LiveState.NO_INPUT, "No audio is coming from the input."))
                stop.wait(POLL_S)
                continue
            if quiet:
                quiet = False
                send(_listening(told))
            last_data = now
            chunk = reader.read(max_backlog)
            if chunk.lost:  # lapped while reading: the recogniser's time line broke
                skipped += chunk.lost
                rec = _restart(rec, rate)
                rec_clock = chunk.clock
            read += len(chunk.frames)
            chord = rec.push(_mono(chunk.frames, channels))
            if _heard(rec) != told:
                told = _heard(rec)
                send(_listening(told))
            changed = chord is not None
            if chord is None and now - last_sent >= REFRESH_S:
                chord = getattr(rec, "current", None)
            if chord is not None:
                last_sent = now
                clock = rec_clock + _since_frames(chord, rate)
                send(LiveChord(str(chord.label), float(chord.confidence), clock,
                               clock / rate, _bass(chord), _runners_up(rec, chord.label),
                               changed))
        send(LiveStats(read, skipped, reader.clock))
    except (BrokenPipeError, EOFError, OSError):
        pass  # the service went away: nobody to tell
    except Exception as exc:
        with contextlib.suppress(OSError):
            send(LiveStatus(LiveState.FAILED, f"Live chords stopped: {type(exc).__name__}: {exc}"))
    finally:
        if ring is not None:
            ring.close()
        with contextlib.suppress(OSError):
            conn.close()
