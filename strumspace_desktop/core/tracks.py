"""The song's tracks as the UI and the engine see them: a view over the document.

Every track kind is listed, in the document's order: MIDI tracks (an instrument on
a synth channel), audio tracks (recorded or imported audio) and chord tracks (the
song's chord symbols). Only MIDI tracks have an instrument and a channel.

The project document (core.document) is the one source of truth: every edit here
is a document edit (one undo step each), and observers are told about changes
from any origin — a local edit, an undo or redo, a partner's update — by
comparing the document's tracks with the last view after each document change.
Only the selection is local (which track live MIDI plays is not part of a song).

Live MIDI (the computer keyboard, the on-screen piano, a controller) plays `live`:
the selected track when it is a MIDI track; while an audio or chord track is
selected it keeps playing the MIDI track selected last (if that one is gone, the
first MIDI track). So selecting an audio track to arm it never silences the keys.
A new document starts with its first MIDI track selected (else its first track).

Each MIDI track owns a synth channel, stored in the document's instrument channel
(audio and chord tracks take none): melodic tracks get one of the fifteen channels
other than 9; drum tracks all share channel 9, where GM synths play kits.

Volume: the UI's fader 0..1 is a linear gain (what the engine's channel mix
takes); the document stores decibels. gain g -> 20*log10(g) dB, with g = 0 stored
as the schema's minimum, -200 dB; reading back, -200 dB is 0 and anything above
0 dB shows as 1 (the fader has no boost). Gains are rounded to 6 decimals so a
fader position survives the round trip exactly.

Mixing follows the usual DAW rules: a muted track is silent, even when soloed;
while any track is soloed, only soloed tracks sound (a soloed audio track silences
the MIDI tracks that are not soloed, as it does in the engine's mix).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from strumspace_desktop.core.document import Change as DocumentChange
from strumspace_desktop.core.document import Document, Mixer
from strumspace_desktop.core.document import Instrument as DocumentInstrument
from strumspace_desktop.core.document import Track as DocumentTrack
from strumspace_desktop.core.document.model import TrackKind
from strumspace_desktop.core.gm import DRUM_BANK, DRUM_CHANNEL, DRUM_KITS, Instrument

CHANNELS = 16
MELODIC_CHANNELS: tuple[int, ...] = tuple(c for c in range(CHANNELS) if c != DRUM_CHANNEL)
MAX_MELODIC_TRACKS = len(MELODIC_CHANNELS)
DEFAULT_VOLUME = 0.8
MIN_VOLUME_DB = -200.0  # the schema's minimum: silence


KIND_NAMES: dict[str, str] = {"midi": "MIDI", "audio": "Audio", "chord": "Chords"}


class TrackLimitError(ValueError):
    """No synth channel is free for another melodic track, or the song already has
    its chord track; the text is for musicians."""


@dataclass(frozen=True)
class Track:
    id: str  # the document's track id
    name: str
    instrument: Instrument | None  # MIDI tracks only
    channel: int | None  # the synth channel, MIDI tracks only
    mute: bool = False
    solo: bool = False
    volume: float = DEFAULT_VOLUME  # fader position, linear gain 0..1
    kind: TrackKind = "midi"

    @property
    def is_midi(self) -> bool:
        return self.kind == "midi"

    @property
    def drums(self) -> bool:
        return self.instrument is not None and self.instrument.drums


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


def volume_to_db(volume: float) -> float:
    """Fader gain 0..1 -> the document's volume_db (0 -> -200 dB, the schema's floor)."""
    v = _check_volume(volume)
    return MIN_VOLUME_DB if v <= 0.0 else max(MIN_VOLUME_DB, 20.0 * math.log10(v))


def db_to_volume(volume_db: float) -> float:
    """The document's volume_db -> fader gain 0..1 (boosts above 0 dB show as 1)."""
    if volume_db <= MIN_VOLUME_DB:
        return 0.0
    return round(min(1.0, 10.0 ** (volume_db / 20.0)), 6)


def _instrument_of(t: DocumentTrack) -> Instrument:
    """The GM instrument a document track plays. Drums are bank 128 or channel 9 (as in
    imported MIDI files); a kit this app does not offer shows as the standard kit."""
    inst = t.instrument
    if inst.bank == DRUM_BANK or inst.channel == DRUM_CHANNEL:
        known = {k.preset for k in DRUM_KITS}
        return Instrument.kit(inst.program if inst.program in known else 0)
    return Instrument.melodic(inst.program)


def _view(t: DocumentTrack) -> Track:
    volume = db_to_volume(t.mixer.volume_db)
    if t.kind != "midi":
        return Track(t.id, t.name, None, None, t.mixer.mute, t.mixer.solo, volume, t.kind)
    instrument = _instrument_of(t)
    # Drums always play on the drum channel, whatever an imported file said.
    channel = DRUM_CHANNEL if instrument.drums else t.instrument.channel
    return Track(t.id, t.name, instrument, channel, t.mixer.mute, t.mixer.solo, volume)


class TrackList:
    """The document's tracks (every kind) in display order, plus the local selection
    and the MIDI track live MIDI plays."""

    def __init__(self, document: Document | None = None) -> None:
        self._observers: list[Observer] = []
        self._tracks: list[Track] = []
        self._selected: str | None = None
        self._live: str | None = None  # the MIDI track selected last
        self._document = document if document is not None else Document.new()
        self._group_doc: list[Document] = []  # where open undo groups were begun
        self._unsubscribe_doc = self._document.subscribe(self._document_changed)
        self._refresh()

    # The document ----------------------------------------------------------------------
    @property
    def document(self) -> Document:
        return self._document

    def set_document(self, document: Document) -> None:
        """Show another document (New, Open, Recover); the first track is selected."""
        self._unsubscribe_doc()
        self._document = document
        self._unsubscribe_doc = document.subscribe(self._document_changed)
        self._refresh()

    def close(self) -> None:
        """Stop following the document (a list used only to build one)."""
        self._unsubscribe_doc()
        self._unsubscribe_doc = lambda: None

    def begin_undo_group(self) -> None:
        """Edits until end_undo_group() are one undo step (a fader drag)."""
        self._document.begin_undo_group()
        self._group_doc.append(self._document)

    def end_undo_group(self) -> None:
        if self._group_doc:
            self._group_doc.pop().end_undo_group()

    def _document_changed(self, change: DocumentChange) -> None:
        if change.tracks:
            self._refresh()

    def _refresh(self) -> None:
        """Bring the view in line with the document and tell observers what changed."""
        old = {t.id: t for t in self._tracks}
        old_ids = [t.id for t in self._tracks]
        new_list = [_view(t) for t in self._document.tracks()]
        new = {t.id: t for t in new_list}
        self._tracks = new_list
        neighbour: str | None = None
        lost_selection = self._selected is not None and self._selected not in new
        if lost_selection:
            # The neighbour that took its place, else the one above, else the first.
            i = old_ids.index(self._selected) if self._selected in old_ids else 0
            after = [x for x in old_ids[i + 1:] if x in new]
            before = [x for x in old_ids[:i] if x in new]
            neighbour = after[0] if after else (before[-1] if before else None)
            if neighbour is None and new_list:
                neighbour = new_list[0].id
            self._selected = None  # observers of the removal must not see a stale one
        for tid in old_ids:
            if tid not in new:
                self._notify(Change.REMOVED, old[tid])
        for t in new_list:
            if t.id not in old:
                self._notify(Change.ADDED, t)
            elif old[t.id] != t:
                self._notify(Change.CHANGED, t)
        # Selected last, so observers already know every track it may name.
        if self._selected is None and new_list:
            first_midi = next((t.id for t in new_list if t.is_midi), new_list[0].id)
            self.select(neighbour or first_midi)
        elif lost_selection:
            self._notify(Change.SELECTED, None)

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

    def get(self, track_id: str) -> Track:
        for t in self._tracks:
            if t.id == track_id:
                return t
        raise KeyError(f"no track with id {track_id}")

    def index_of(self, track_id: str) -> int:
        return self._tracks.index(self.get(track_id))

    @property
    def selected(self) -> Track | None:
        return self.get(self._selected) if self._selected is not None else None

    @property
    def live(self) -> Track | None:
        """The MIDI track live MIDI plays: the selected one when it is MIDI, else the
        MIDI track selected last, else the first MIDI track (None without any)."""
        for tid in (self._selected, self._live):
            if tid is not None:
                t = self._find(tid)
                if t is not None and t.is_midi:
                    return t
        return next((t for t in self._tracks if t.is_midi), None)

    @property
    def midi_tracks(self) -> tuple[Track, ...]:
        return tuple(t for t in self._tracks if t.is_midi)

    def chord_track(self) -> Track | None:
        return next((t for t in self._tracks if t.kind == "chord"), None)

    def _find(self, track_id: str) -> Track | None:
        return next((t for t in self._tracks if t.id == track_id), None)

    def melodic_count(self) -> int:
        return sum(1 for t in self._tracks if t.is_midi and not t.drums)

    # Channels ----------------------------------------------------------------------------
    def _free_melodic_channel(self, ignore: str | None = None) -> int:
        used = {t.channel for t in self._tracks
                if t.id != ignore and t.is_midi and not t.drums}
        for ch in MELODIC_CHANNELS:
            if ch not in used:
                return ch
        raise TrackLimitError(
            f"A session can have at most {MAX_MELODIC_TRACKS} instrument tracks (one per "
            "synth channel). Remove one, or use a drum track, which shares the drum channel.")

    def _channel_for(self, instrument: Instrument, ignore: str | None = None) -> int:
        return DRUM_CHANNEL if instrument.drums else self._free_melodic_channel(ignore)

    # Editing (each a document edit, so one undo step) ------------------------------------
    def add(self, name: str, instrument: Instrument, *, volume: float = DEFAULT_VOLUME,
            select: bool = True) -> Track:
        """Add a track at the end; raises TrackLimitError when no channel is free."""
        channel = self._channel_for(instrument)
        track_id = self._document.add_track(
            "midi", name.strip() or instrument.name,
            instrument=DocumentInstrument(instrument.program, instrument.bank, channel),
            mixer=Mixer(volume_db=volume_to_db(volume)))
        if select:
            self.select(track_id)
        return self.get(track_id)

    def add_audio(self, name: str = "", *, select: bool = True) -> Track:
        """Add an audio track at the end (its fader at unity, as imports make them)."""
        track_id = self._document.add_track("audio", name.strip() or "Audio")
        if select:
            self.select(track_id)
        return self.get(track_id)

    def add_chord(self, name: str = "", *, select: bool = True) -> Track:
        """Add the song's chord track; a song has one (raises TrackLimitError when it
        has one already: its lane holds every chord of the song)."""
        existing = self.chord_track()
        if existing is not None:
            raise TrackLimitError(
                f"This song already has a chord track ({existing.name}). Its lane holds "
                "all the song's chords.")
        track_id = self._document.add_track("chord", name.strip() or "Chords")
        if select:
            self.select(track_id)
        return self.get(track_id)

    def remove(self, track_id: str) -> None:
        self.get(track_id)
        self._document.remove_track(track_id)

    def rename(self, track_id: str, name: str) -> Track:
        old = self.get(track_id)
        name = name.strip() or old.name
        if name != old.name:
            self._document.update_track(track_id, name=name)
        return self.get(track_id)

    def set_instrument(self, track_id: str, instrument: Instrument) -> Track:
        old = self.get(track_id)
        if old.instrument is None or old.channel is None:
            raise ValueError(f"{old.name} is not a MIDI track: it has no instrument")
        channel = old.channel
        if instrument.drums != old.instrument.drums:
            channel = self._channel_for(instrument, ignore=track_id)
        if (instrument, channel) != (old.instrument, old.channel):
            # Only the fields that change, so a partner's edit of another one survives.
            cur = self._document.track(track_id).instrument
            self._document.set_instrument(
                track_id,
                program=instrument.program if instrument.program != cur.program else None,
                bank=instrument.bank if instrument.bank != cur.bank else None,
                channel=channel if channel != cur.channel else None)
        return self.get(track_id)

    def set_mute(self, track_id: str, mute: bool) -> Track:
        if self.get(track_id).mute != bool(mute):
            self._document.set_mixer(track_id, mute=bool(mute))
        return self.get(track_id)

    def set_solo(self, track_id: str, solo: bool) -> Track:
        if self.get(track_id).solo != bool(solo):
            self._document.set_mixer(track_id, solo=bool(solo))
        return self.get(track_id)

    def set_volume(self, track_id: str, volume: float) -> Track:
        volume = _check_volume(volume)
        if self.get(track_id).volume != db_to_volume(volume_to_db(volume)):
            self._document.set_mixer(track_id, volume_db=volume_to_db(volume))
        return self.get(track_id)

    def select(self, track_id: str | None) -> None:
        if track_id is not None:
            self.get(track_id)  # raises for an unknown id
        if track_id is not None and self.get(track_id).is_midi:
            self._live = track_id
        if track_id == self._selected:
            return
        self._selected = track_id
        self._notify(Change.SELECTED, self.selected)

    # Mixing ------------------------------------------------------------------------------
    def effective_gain(self, track: Track) -> float:
        if track.mute:
            return 0.0
        if any(t.solo for t in self._tracks if t.kind != "chord") and not track.solo:
            return 0.0
        return track.volume

    def channel_gains(self) -> list[float]:
        """Each synth channel's gain 0..1 with mute, solo and volume folded in.

        Channels no track uses are silent. Drum tracks share one channel, so it
        sounds at the loudest audible drum track's level.
        """
        gains = [0.0] * CHANNELS
        for t in self._tracks:
            if t.channel is not None:
                gains[t.channel] = max(gains[t.channel], self.effective_gain(t))
        return gains

    def channel_instruments(self) -> dict[int, Instrument]:
        """The instrument each used channel should play. Drum tracks share channel 9,
        which plays the live drum track's kit, else the first drum track's."""
        out: dict[int, Instrument] = {}
        for t in self._tracks:
            if t.channel is not None and t.instrument is not None:
                out.setdefault(t.channel, t.instrument)
        live = self.live
        if live is not None and live.instrument is not None and live.drums:
            out[DRUM_CHANNEL] = live.instrument
        return out
