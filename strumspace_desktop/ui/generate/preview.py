"""Auditioning a generated variation before keeping it.

The engine has no way to play a clip that is not in the song, so a variation is played
through its live note path (`EngineAdapter.note_on/note_off`, the one the on-screen
piano and the piano roll's audition use) on the target track's channel, with the note
times kept by a Qt timer in the UI thread. No temporary clip is written, so the song
and its undo history stay untouched; the price is a few milliseconds of timer jitter,
which is fine for listening to an idea. Chord results (harmonize, chords) are played as
block chords (root position around middle C). Without an engine nothing sounds.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal

from models.generation.piece import CHORD_QUALITIES, TPQ, Piece
from strumspace_desktop.ui.adapter import EngineAdapter

TICK_MS = 5  # how often due notes are sent
CHORD_BASE = 48  # C3: chord roots sit in the octave above
CHORD_VELOCITY = 70


def preview_events(piece: Piece, bpm: float, *, chords: bool = False
                   ) -> list[tuple[float, int, int, int]]:
    """(seconds, order, pitch, velocity) events: velocity 0 is a note off. Offs sort
    before ons at the same time so repeated pitches sound again."""
    sec_per_tick = 60.0 / (max(bpm, 1.0) * TPQ)
    events: list[tuple[float, int, int, int]] = []
    if chords:
        for onset, dur, root, quality in np.asarray(piece.chords).reshape(-1, 4).tolist():
            if root < 0 or dur <= 0:
                continue
            for interval in CHORD_QUALITIES[quality][1]:
                pitch = CHORD_BASE + (root % 12) + interval
                events.append((onset * sec_per_tick, 1, pitch, CHORD_VELOCITY))
                events.append(((onset + dur) * sec_per_tick, 0, pitch, 0))
    else:
        for onset, dur, pitch, vel in np.asarray(piece.notes).reshape(-1, 4).tolist():
            if not 0 <= pitch <= 127:
                continue
            events.append((onset * sec_per_tick, 1, pitch, int(min(max(vel, 1), 127))))
            events.append(((onset + max(dur, 1)) * sec_per_tick, 0, pitch, 0))
    events.sort()
    return events


class PiecePreview(QObject):
    """Plays one piece at a time; `stop()` silences what it started."""

    started = Signal()
    finished = Signal()

    def __init__(self, adapter: EngineAdapter | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.adapter = adapter
        self._events: list[tuple[float, int, int, int]] = []
        self._next = 0
        self._channel = 0
        self._sounding: set[int] = set()
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self.notes_sent = 0  # note-ons sent by the current (or last) preview

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def audible(self) -> bool:
        """An engine is there to play the preview."""
        return self.adapter is not None and self.adapter.engine_running

    def play(self, piece: Piece, channel: int, bpm: float, *, chords: bool = False) -> None:
        self.stop()
        self._events = preview_events(piece, bpm, chords=chords)
        self._next = 0
        self._channel = channel
        self.notes_sent = 0
        if not self._events:
            self.finished.emit()
            return
        self._clock.start()
        self._timer.start()
        self.started.emit()
        self._tick()

    def stop(self) -> None:
        was = self._timer.isActive()
        self._timer.stop()
        for pitch in sorted(self._sounding):
            self._send(pitch, 0)
        self._sounding.clear()
        self._events = []
        if was:
            self.finished.emit()

    def _tick(self) -> None:
        now = self._clock.elapsed() / 1000.0
        events = self._events
        while self._next < len(events) and events[self._next][0] <= now:
            _, _, pitch, velocity = events[self._next]
            self._next += 1
            if velocity:
                if pitch in self._sounding:
                    self._send(pitch, 0)
                self._sounding.add(pitch)
                self.notes_sent += 1
            else:
                if pitch not in self._sounding:
                    continue
                self._sounding.discard(pitch)
            self._send(pitch, velocity)
        if self._next >= len(events):
            self._timer.stop()
            self._sounding.clear()
            self.finished.emit()

    def _send(self, pitch: int, velocity: int) -> None:
        if self.adapter is None:
            return
        if velocity:
            self.adapter.note_on(self._channel, pitch, velocity)
        else:
            self.adapter.note_off(self._channel, pitch)

