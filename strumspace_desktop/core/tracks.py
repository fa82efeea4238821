"""The session's MIDI tracks: instrument, synth channel, mute/solo/volume, selection.

Qt-free so that it can be tested alone and later backed by the project document.
Each track owns a synth channel: melodic tracks get one of the fifteen channels
other than 9; drum tracks all share channel 9, where GM synths play kits. Changes
are reported to observers, which turn them into engine commands or widget updates.

Mixing follows the usual DAW rules: a muted track is silent, even when soloed;
while any track is soloed, only soloed tracks sound.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from strumspace_desktop.core.gm import DRUM_CHANNEL, Instrument

CHANNELS = 16
MELODIC_CHANNELS: tuple[int, ...] = tuple(c for c in range(CHANNELS) if c != DRUM_CHANNEL)
MAX_MELODIC_TRACKS = len(MELODIC_CHANNELS)
DEFAULT_VOLUME = 0.8


class TrackLimitError(ValueError):
    """No synth channel is free for another melodic track; the text is for musicians."""


@dataclass(frozen=True)
class Track:
    id: int
    name: str
    instrument: Instrument
    channel: int
    mute: bool = False
    solo: bool = False
    volume: float = DEFAULT_VOLUME


class Change(Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"  # name, instrument, channel, mute, solo or volume
    SELECTED = "selected"  # the track is the new selection, or None


Observer = Callable[[Change, Track | None], None]


def _check_volume(volume: float) -> float:
    if not math.isfinite(volume):
        raise ValueError(f"volume must be a number between 0 and 1, got {volume!r}")
    return min(1.0, max(0.0, float(volume)))


class TrackList:
    def __init__(self) -> None:
        self._tracks: list[Track] = []
        self._selected: int | None = None
        self._ids = itertools.count(1)
        self._observers: list[Observer] = []

    # Observers -----------------------------------------------------------------------
    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call `observer(change, track)` after every change; returns an unsubscriber."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def _notify(self, change: Change, track: Track | None) -> None:
        for observer in list(self._observers):
            observer(change, track)

    # Reading ---------------------------------------------------------------------------
    @property
    def tracks(self) -> tuple[Track, ...]:
        return tuple(self._tracks)

    def __len__(self) -> int:
        return len(self._tracks)

    def get(self, track_id: int) -> Track:
        for t in self._tracks:
            if t.id == track_id:
                return t
        raise KeyError(f"no track with id {track_id}")

    def index_of(self, track_id: int) -> int:
        return self._tracks.index(self.get(track_id))

    @property
    def selected(self) -> Track | None:
        return self.get(self._selected) if self._selected is not None else None

    def melodic_count(self) -> int:
        return sum(1 for t in self._tracks if not t.instrument.drums)

    # Channels ----------------------------------------------------------------------------
    def _free_melodic_channel(self, ignore: int | None = None) -> int:
        used = {t.channel for t in self._tracks if t.id != ignore and not t.instrument.drums}
        for ch in MELODIC_CHANNELS:
            if ch not in used:
                return ch
        raise TrackLimitError(
            f"A session can have at most {MAX_MELODIC_TRACKS} instrument tracks (one per "
            "synth channel). Remove one, or use a drum track, which shares the drum channel.")

    def _channel_for(self, instrument: Instrument, ignore: int | None = None) -> int:
        return DRUM_CHANNEL if instrument.drums else self._free_melodic_channel(ignore)

    # Editing -----------------------------------------------------------------------------
    def add(self, name: str, instrument: Instrument, *, volume: float = DEFAULT_VOLUME,
            select: bool = True) -> Track:
        """Add a track at the end; raises TrackLimitError when no channel is free."""
        channel = self._channel_for(instrument)
        track = Track(next(self._ids), name.strip() or instrument.name, instrument, channel,
                      volume=_check_volume(volume))
        self._tracks.append(track)
        self._notify(Change.ADDED, track)
        if select or self._selected is None:
            self.select(track.id)
        return track

    def remove(self, track_id: int) -> None:
        i = self.index_of(track_id)
        track = self._tracks.pop(i)
        self._notify(Change.REMOVED, track)
        if self._selected == track_id:
            # The neighbour that took its place, else the one above, else nothing.
            neighbour = self._tracks[min(i, len(self._tracks) - 1)] if self._tracks else None
            self.select(neighbour.id if neighbour else None)

    def _update(self, track_id: int, **changes: object) -> Track:
        i = self.index_of(track_id)
        old = self._tracks[i]
        new = replace(old, **changes)  # type: ignore[arg-type]
        if new != old:
            self._tracks[i] = new
            self._notify(Change.CHANGED, new)
        return new

    def rename(self, track_id: int, name: str) -> Track:
        old = self.get(track_id)
        return self._update(track_id, name=name.strip() or old.name)

    def set_instrument(self, track_id: int, instrument: Instrument) -> Track:
        old = self.get(track_id)
        channel = old.channel
        if instrument.drums != old.instrument.drums:
            channel = self._channel_for(instrument, ignore=track_id)
        return self._update(track_id, instrument=instrument, channel=channel)

    def set_mute(self, track_id: int, mute: bool) -> Track:
        return self._update(track_id, mute=bool(mute))

    def set_solo(self, track_id: int, solo: bool) -> Track:
        return self._update(track_id, solo=bool(solo))

    def set_volume(self, track_id: int, volume: float) -> Track:
        return self._update(track_id, volume=_check_volume(volume))

    def select(self, track_id: int | None) -> None:
        if track_id is not None:
            self.get(track_id)  # raises for an unknown id
        if track_id == self._selected:
            return
        self._selected = track_id
        self._notify(Change.SELECTED, self.selected)

    # Mixing ------------------------------------------------------------------------------
    def effective_gain(self, track: Track) -> float:
        if track.mute:
            return 0.0
        if any(t.solo for t in self._tracks) and not track.solo:
            return 0.0
        return track.volume

    def channel_gains(self) -> list[float]:
        """Each synth channel's gain 0..1 with mute, solo and volume folded in.

        Channels no track uses are silent. Drum tracks share one channel, so it
        sounds at the loudest audible drum track's level.
        """
        gains = [0.0] * CHANNELS
        for t in self._tracks:
            gains[t.channel] = max(gains[t.channel], self.effective_gain(t))
        return gains

    def channel_instruments(self) -> dict[int, Instrument]:
        """The instrument each used channel should play. Drum tracks share channel 9,
        which plays the selected drum track's kit, else the first drum track's."""
        out: dict[int, Instrument] = {}
        for t in self._tracks:
            out.setdefault(t.channel, t.instrument)
        sel = self.selected
        if sel is not None and sel.instrument.drums:
            out[DRUM_CHANNEL] = sel.instrument
        return out
