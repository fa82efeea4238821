"""Keeps the engine playing the document's song (no Qt: the window calls `poll`).

SongSync follows a project's document: after a change it waits `debounce_s` (a
fader drag or typing sends one update, not hundreds), recompiles incrementally
(`PlaybackCompiler.update`), and sends the engine only what changed: the tracks
whose notes, regions or instrument differ from what the engine has, and the mix
(`MixState`, small) when it differs from the last one sent. After `resend_all`
(a new engine) or a new sample rate it sends everything. A request that fails
(the engine is restarting) is retried in full at a later poll; EngineClient also
resends its merged copy to an engine it restarted after a device loss.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from strumspace_desktop.audio.client import EngineClient, EngineError
from strumspace_desktop.audio.song_data import (
    MixState,
    SongUpdate,
    mix_state,
    song_update,
    strips_of,
)
from strumspace_desktop.core.document import Change, Document
from strumspace_desktop.core.document.compile import CompiledSong, CompiledTrack, PlaybackCompiler

DEBOUNCE_S = 0.05
DEFAULT_RATE = 48000


def _same_content(a: CompiledTrack, b: CompiledTrack) -> bool:
    """Whether the engine would play the two the same (mixer fields aside)."""
    return (a.kind == b.kind and a.instrument == b.instrument and a.blobs == b.blobs
            and np.array_equal(a.events, b.events) and np.array_equal(a.regions, b.regions))


class SongSync:
    def __init__(self, project: Any, client: EngineClient | None, *,
                 debounce_s: float = DEBOUNCE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.debounce_s = debounce_s
        self._clock = clock
        self.client = client
        self.messages: list[str] = []  # for the UI: unreadable files, skipped plugins
        self._project: Any = None
        self._document: Document | None = None
        self._compiler: PlaybackCompiler | None = None
        self._unsubscribe: Callable[[], None] = lambda: None
        self._rate = DEFAULT_RATE
        self._sent: dict[str, CompiledTrack] = {}
        self._sent_mix: MixState | None = None
        self._song: CompiledSong | None = None
        self._due: float | None = None
        self._full = True
        self.set_project(project)

    # Wiring ------------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        """Follow another project (New, Open, Recover): everything is sent again."""
        self._unsubscribe()
        if self._compiler is not None:
            self._compiler.close()
        self._project = project
        self._document = getattr(project, "document", project)
        self._compiler = None
        self._unsubscribe = self._document.subscribe(self._changed)
        self.resend_all()

    def attach(self, client: EngineClient | None) -> None:
        """Use another engine client (the window restarted the engine)."""
        self.client = client
        self.resend_all()

    def close(self) -> None:
        self._unsubscribe()
        self._unsubscribe = lambda: None
        if self._compiler is not None:
            self._compiler.close()
            self._compiler = None

    def resend_all(self) -> None:
        """Send the whole song and mix at the next poll (a new engine knows nothing)."""
        self._full = True
        self._sent.clear()
        self._sent_mix = None
        self._due = self._clock()

    def strip_of(self, track_id: str) -> int | None:
        """The mixer strip a track plays through (its peaks: client.track_peaks)."""
        if self._song is None:
            return None
        return strips_of(self._song).get(track_id)

    # Changes -----------------------------------------------------------------------------
    def _changed(self, change: Change) -> None:
        if self._due is None:
            self._due = self._clock() + self.debounce_s

    def _audio_path(self, blob: str) -> Path | None:
        finder = getattr(self._project, "audio_path", None)
        result: Path | None = finder(blob) if finder is not None else None
        return result

    def _offline(self) -> set[str]:
        refresh = getattr(self._project, "refresh_offline", None)
        if refresh is None:
            return set()
        try:
            return set(refresh())
        except OSError:
            return set()

    def poll(self) -> bool:
        """Send what is due; True when something was sent."""
        client = self.client
        if client is None or not client.alive:
            return False
        rate = int(client.status().sample_rate) or DEFAULT_RATE
        if rate != self._rate:
            self._rate = rate
            self._compiler_reset()
        if self._due is None or self._clock() < self._due:
            return False
        self._due = None
        try:
            return self.flush()
        except EngineError:
            self.resend_all()  # try again, whole, at a later poll
            self._due = self._clock() + max(0.5, self.debounce_s)
            return False

    def _compiler_reset(self) -> None:
        if self._compiler is not None:
            self._compiler.close()
            self._compiler = None
        self.resend_all()

    def flush(self) -> bool:
        """Compile and send now (tests and the first play call this directly)."""
        client = self.client
        doc = self._document
        if client is None or doc is None:
            return False
        offline = self._offline()
        if self._compiler is None:
            self._compiler = PlaybackCompiler(doc, self._rate, offline)
            song = self._compiler.compile()
        else:
            if offline != self._compiler.offline_blobs:
                self._compiler.set_offline_blobs(offline)
            song = self._compiler.update()
        self._song = song
        sent = False
        update: SongUpdate | None
        if self._full:
            update = song_update(song, self._audio_path)
            changed = list(song.tracks)
        else:
            changed = [tid for tid, t in song.tracks.items()
                       if tid not in self._sent or not _same_content(t, self._sent[tid])]
            removed = set(self._sent) - set(song.tracks)
            update = song_update(song, self._audio_path, changed) if changed or removed \
                else None
        if update is not None:
            result = client.set_song(update)
            self.messages.extend(result.get("messages", []))
            if self._full:
                self._sent = dict(song.tracks)
            else:
                for tid in changed:
                    self._sent[tid] = song.tracks[tid]
                for tid in set(self._sent) - set(song.tracks):
                    del self._sent[tid]
            self._full = False
            sent = True
        mix = mix_state(doc, song)
        if mix != self._sent_mix:
            result = client.set_mix(mix)
            self.messages.extend(result.get("messages", []))
            self._sent_mix = mix
            sent = True
        return sent
