"""Keeps the engine playing the document's song (no Qt: the window calls `poll`).

SongSync follows a project's document: after a change it waits `debounce_s` (a
fader drag or typing sends one update, not hundreds), recompiles incrementally
(`PlaybackCompiler.update`), and sends the engine only what changed: the tracks
whose notes, regions or instrument differ from what the engine has, and the mix
(`MixState`, small) when it differs from the last one sent. After `resend_all`
(a new engine) or a new sample rate it sends everything. A request that fails
(the engine is restarting) is retried in full at a later poll; EngineClient also
resends its merged copy to an engine it restarted after a device loss.

`poll` never waits for the engine: it sends and returns, and a later poll picks up
the replies (the engine may take seconds to decode a long audio file the first
time). While a request is on its way nothing more is sent; the edits made in the
meantime go out together once it is answered. `flush` sends and waits (tests).
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
        self._in_flight: list[int] = []  # submitted requests not answered yet
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
        self._in_flight.clear()  # the old client's replies no longer matter
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

    @property
    def busy(self) -> bool:
        """Whether a request sent by `poll` is still waiting for the engine's reply."""
        return bool(self._in_flight)

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
        """Pick up the engine's replies and send what is due without waiting for
        the engine; True when something was sent."""
        client = self.client
        if client is None:
            return False
        if self._in_flight:
            self._collect(client)
        if not client.alive:
            return False
        rate = int(client.status().sample_rate) or DEFAULT_RATE
        if rate != self._rate:
            self._rate = rate
            self._compiler_reset()
        if self._in_flight or self._due is None or self._clock() < self._due:
            return False
        self._due = None
        try:
            return self._send(wait=False)
        except EngineError:
            self._retry()
            return False

    def _retry(self) -> None:
        self.resend_all()  # try again, whole, at a later poll
        self._due = self._clock() + max(0.5, self.debounce_s)

    def _collect(self, client: EngineClient) -> None:
        """Replies that came in: their messages for the UI; a failed request makes
        everything go again."""
        waiting = []
        failed = False
        for req_id in self._in_flight:
            got = client.reply(req_id)
            if got is None:
                if not client.lost(req_id):
                    waiting.append(req_id)
                # A request whose engine ended is answered by the restart: the client
                # resends the song and mix it remembers to the new engine.
                continue
            ok, result = got
            if ok:
                self.messages.extend(result.get("messages", []))
            else:
                failed = True
        self._in_flight = waiting
        if failed:
            self._retry()

    def _compiler_reset(self) -> None:
        if self._compiler is not None:
            self._compiler.close()
            self._compiler = None
        self.resend_all()

    def flush(self) -> bool:
        """Compile, send now and wait for the engine to take it (tests)."""
        return self._send(wait=True)

    def _send(self, wait: bool) -> bool:
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
            if wait:
                result = client.set_song(update)
                self.messages.extend(result.get("messages", []))
            else:
                self._in_flight.append(client.submit_song(update))
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
            if wait:
                result = client.set_mix(mix)
                self.messages.extend(result.get("messages", []))
            else:
                self._in_flight.append(client.submit_mix(mix))
            self._sent_mix = mix
            sent = True
        return sent
