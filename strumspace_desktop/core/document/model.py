"""The song document: a typed API over a pycrdt (Yjs) document.

The UI and the engines use only this API and its frozen value types; the
shared types, keys and encodings are described in schema.py and
docs/document-schema.md. Positions are ticks (timing.PPQ per quarter note).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple, TypeAlias

from pycrdt import Doc, Map, get_update

from ..timing import (
    MAX_BPM,
    MIN_BPM,
    TempoChange,
    TempoMap,
    TimeSignatureChange,
    TimeSignatureMap,
)
from . import schema as S
from .errors import DocumentError, ReadOnlyError
from .mixing import MixingMixin
from .undo import UndoHistory

TrackKind: TypeAlias = Literal["midi", "audio", "chord"]
ChordSource: TypeAlias = Literal["played", "recognized", "generated"]

# Origin of updates received from other peers (never undone by the local user).
REMOTE_ORIGIN = "remote"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _check_int(name: str, value: int, lo: int, hi: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DocumentError(f"{name} must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        upper = "" if hi is None else f" and {hi}"
        raise DocumentError(f"{name} must be between {lo}{upper}, got {value}")


def _check_float(name: str, value: float, lo: float, hi: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or not lo <= value <= hi:
        raise DocumentError(f"{name} must be a number between {lo:g} and {hi:g}, got {value!r}")


@dataclass(frozen=True, slots=True)
class Note:
    pitch: int
    start: int  # ticks from the start of its clip
    length: int  # ticks
    velocity: int = 100
    channel: int = 0

    def __post_init__(self) -> None:
        _check_int("pitch", self.pitch, 0, 127)
        _check_int("note start", self.start, 0)
        _check_int("note length", self.length, 0)
        _check_int("velocity", self.velocity, 1, 127)
        _check_int("channel", self.channel, 0, 15)

    @property
    def end(self) -> int:
        return self.start + self.length

    def encode(self) -> list[int]:
        return [self.pitch, self.start, self.length, self.velocity, self.channel]

    @classmethod
    def decode(cls, value: Any) -> Note:
        p, s, n, v, c = value
        return cls(int(p), int(s), int(n), int(v), int(c))


@dataclass(frozen=True, slots=True)
class Instrument:
    program: int = 0
    bank: int = 0
    channel: int = 0
    soundfont: str = ""  # "" means the application's default SoundFont

    def __post_init__(self) -> None:
        _check_int("program", self.program, 0, 127)
        _check_int("bank", self.bank, 0, 16383)
        _check_int("channel", self.channel, 0, 15)


@dataclass(frozen=True, slots=True)
class Mixer:
    volume_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False

    def __post_init__(self) -> None:
        _check_float("volume_db", self.volume_db, -200.0, 24.0)
        _check_float("pan", self.pan, -1.0, 1.0)


@dataclass(frozen=True, slots=True)
class Track:
    id: str
    kind: TrackKind
    name: str
    order: float
    color: str
    instrument: Instrument
    mixer: Mixer


@dataclass(frozen=True, slots=True)
class MidiClip:
    id: str
    track_id: str
    start: int
    length: int
    name: str = ""
    muted: bool = False  # silent, e.g. an inactive take
    take_group: str = ""  # takes of one recording share a group id
    take: int = 0

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True, slots=True)
class AudioRegion:
    id: str
    track_id: str
    start: int  # ticks
    length: int  # ticks
    blob: str  # SHA-256 hex of the audio file
    offset: int = 0  # frames into the file
    gain_db: float = 0.0
    fade_in: int = 0  # frames
    fade_out: int = 0  # frames
    name: str = ""
    muted: bool = False
    take_group: str = ""
    take: int = 0

    @property
    def end(self) -> int:
        return self.start + self.length


Clip: TypeAlias = MidiClip | AudioRegion


@dataclass(frozen=True, slots=True)
class ChordItem:
    start: int
    end: int
    label: str  # Harte syntax
    bass: int = -1  # pitch class of the bass, -1 when unknown or none
    confidence: float = 1.0
    source: ChordSource = "played"

    def __post_init__(self) -> None:
        _check_int("chord start", self.start, 0)
        _check_int("chord end", self.end, self.start)
        _check_int("bass", self.bass, -1, 11)
        _check_float("confidence", self.confidence, 0.0, 1.0)
        if self.source not in S.CHORD_SOURCES:
            raise DocumentError(
                f"chord source must be one of {S.CHORD_SOURCES}, got {self.source!r}"
            )
        if not isinstance(self.label, str) or not self.label:
            raise DocumentError("a chord needs a Harte label such as 'C:maj' or 'N'")

    def encode(self) -> dict[str, Any]:
        return {
            S.CHORD_START: self.start,
            S.CHORD_END: self.end,
            S.CHORD_LABEL: self.label,
            S.CHORD_BASS: self.bass,
            S.CHORD_CONFIDENCE: float(self.confidence),
            S.CHORD_SOURCE: self.source,
        }

    @classmethod
    def decode(cls, value: Any) -> ChordItem:
        return cls(
            int(value[S.CHORD_START]),
            int(value[S.CHORD_END]),
            str(value[S.CHORD_LABEL]),
            int(value.get(S.CHORD_BASS, -1)),
            float(value.get(S.CHORD_CONFIDENCE, 1.0)),
            value.get(S.CHORD_SOURCE, "played"),
        )


@dataclass(frozen=True, slots=True)
class TimeSignature:
    tick: int
    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        _check_int("time signature tick", self.tick, 0)
        _check_int("numerator", self.numerator, 1, 64)
        d = self.denominator
        if not (isinstance(d, int) and d > 0 and d & (d - 1) == 0 and d <= 64):
            raise DocumentError(f"denominator must be a power of two up to 64, got {d!r}")


@dataclass(frozen=True, slots=True)
class Marker:
    tick: int
    name: str

    def __post_init__(self) -> None:
        _check_int("marker tick", self.tick, 0)


class SongKey(NamedTuple):
    """A song's key: tonic pitch class (0 = C) and mode ("major" or "minor")."""

    tonic: int
    mode: str


@dataclass(frozen=True, slots=True)
class LoopRange:
    start: int
    end: int
    enabled: bool


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """An audio file of the project, stored as audio/<sha256>.<ext>."""

    sha256: str
    ext: str
    frames: int
    sample_rate: int
    channels: int
    name: str = ""  # the file name it was imported from

    def encode(self) -> dict[str, Any]:
        return {
            "ext": self.ext,
            "frames": self.frames,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "name": self.name,
        }

    @classmethod
    def decode(cls, sha256: str, value: Any) -> BlobInfo:
        return cls(
            sha256,
            str(value["ext"]),
            int(value["frames"]),
            int(value["sample_rate"]),
            int(value["channels"]),
            str(value.get("name", "")),
        )


@dataclass(slots=True)
class Change:
    """What one batch of shared-type events touched, for the compiler and the UI."""

    local: bool
    clips: set[str] = field(default_factory=set)  # clips added, removed or edited (notes too)
    tracks: set[str] = field(default_factory=set)  # tracks added, removed or edited (chords too)
    tempo: bool = False
    time_signatures: bool = False
    markers: bool = False
    meta: bool = False  # title, key, loop range, schema version
    blobs: bool = False
    effects: set[str] = field(default_factory=set)  # track ids (or "master") whose effects changed


def _to_int(value: Any, default: int = 0) -> int:
    return default if value is None else int(value)


def _take_fields(muted: bool, take_group: str, take: int) -> dict[str, Any]:
    """Take keys for a new clip; left out at their defaults to keep clips small."""
    out: dict[str, Any] = {}
    if muted:
        out[S.CLIP_MUTED] = True
    if take_group:
        out[S.CLIP_TAKE_GROUP] = str(take_group)
        out[S.CLIP_TAKE] = int(take)
    return out


def _effect_tracks(event: Any) -> set[str]:
    """The tracks an event of the `effects` root touched (old and new owner of each item)."""
    out: set[str] = set()
    for change in dict(getattr(event, "keys", {}) or {}).values():
        for key in ("oldValue", "newValue"):
            value = change.get(key) if isinstance(change, dict) else None
            if isinstance(value, dict) and isinstance(value.get(S.EFFECT_TRACK), str):
                out.add(value[S.EFFECT_TRACK])
    return out


class Document(MixingMixin):
    """A song. Every edit is a local transaction recorded for undo."""

    def __init__(self, ydoc: Doc | None = None, *, read_only_reason: str = "") -> None:
        # A fresh Doc gets a fresh random Yjs client id: one per session, never reused.
        self._ydoc = ydoc if ydoc is not None else Doc()
        self._read_only_reason = read_only_reason
        cid = self._ydoc.client_id
        prefix = ""
        while cid:
            cid, r = divmod(cid, 36)
            prefix = _BASE36[r] + prefix
        self._id_prefix = (prefix or "0") + "."
        self._id_counter = 0
        self._origin = f"local:{self._ydoc.client_id}"
        roots = {name: self._ydoc.get(name, type=Map) for name in S.ROOTS}
        self._meta = roots[S.ROOT_META]
        self._tracks = roots[S.ROOT_TRACKS]
        self._clips = roots[S.ROOT_CLIPS]
        self._tempo = roots[S.ROOT_TEMPO]
        self._timesig = roots[S.ROOT_TIMESIG]
        self._markers = roots[S.ROOT_MARKERS]
        self._blobs = roots[S.ROOT_BLOBS]
        self._effects = roots[S.ROOT_EFFECTS]
        self._history = UndoHistory(list(roots.values()), self._origin)
        self._listeners: list[Callable[[Change], None]] = []
        self._revision = 0
        self._held: list[bytes] = []  # remote updates that arrived before their dependencies
        self._subscriptions: list[Any] = []
        for name, root in roots.items():
            self._subscriptions.append(root.observe_deep(self._deep_handler(name)))

    # ----- creation, state, sync -------------------------------------------------

    @classmethod
    def new(cls, title: str = "", *, bpm: float = S.DEFAULT_BPM) -> Document:
        doc = cls()
        S.migrate(doc._ydoc, origin="init")  # writes the defaults of the current version
        with doc._ydoc.transaction(origin="init"):
            doc._meta[S.META_TITLE] = title
            doc._tempo["0"] = float(bpm)
        return doc

    @classmethod
    def from_state(cls, state: bytes) -> Document:
        """Load a Yjs state or update. Older schemas are migrated; newer ones open read-only."""
        ydoc: Doc = Doc()
        try:
            ydoc.apply_update(bytes(state))
        except Exception as exc:  # pycrdt raises ValueError; be safe with the Rust side
            raise S.SchemaError(f"not a readable document (corrupt or truncated): {exc}") from exc
        for name in S.ROOTS:
            try:
                ydoc.get(name, type=Map)
            except Exception as exc:
                raise S.SchemaError(f"root '{name}' is not a map: {exc}") from exc
        version = S.schema_version(ydoc)
        reason = ""
        if version > S.SCHEMA_VERSION:
            reason = (
                f"This project was saved by a newer StrumSpace (document schema {version}; "
                f"this version understands up to {S.SCHEMA_VERSION}). It is open read-only."
            )
        else:
            S.migrate(ydoc, origin="migration")
        return cls(ydoc, read_only_reason=reason)

    @property
    def ydoc(self) -> Doc:
        """The pycrdt document, for the sync client only."""
        return self._ydoc

    @property
    def client_id(self) -> int:
        return int(self._ydoc.client_id)

    @property
    def schema_version(self) -> int:
        return S.schema_version(self._ydoc)

    @property
    def read_only(self) -> bool:
        return bool(self._read_only_reason)

    @property
    def read_only_reason(self) -> str:
        return self._read_only_reason

    @property
    def revision(self) -> int:
        """Grows with every change, local or remote (use it to tell whether there is news)."""
        return self._revision

    def state(self) -> bytes:
        """The whole document as one Yjs update (what a project file stores)."""
        return bytes(self._ydoc.get_update())

    def state_vector(self) -> bytes:
        return bytes(self._ydoc.get_state())

    def update_since(self, state_vector: bytes) -> bytes:
        return bytes(self._ydoc.get_update(state_vector))

    def apply_update(self, update: bytes, origin: str = REMOTE_ORIGIN) -> None:
        """Merge a peer's update. It is not recorded for the local user's undo."""
        if origin == self._origin:
            raise DocumentError("remote updates must not use the local origin")
        update = bytes(update)
        with self._ydoc.transaction(origin=origin):
            self._ydoc.apply_update(update)
        # yrs can drop a map key when it integrates several updates that arrived before
        # what they depend on (seen with pycrdt 0.14). Keep such updates until all their
        # dependencies are in, then apply them again: re-applying is idempotent and repairs it.
        # It can also leave an update pending after its dependencies have arrived.
        if not self._held and self._integrated(update):
            return
        self._held.append(update)
        with self._ydoc.transaction(origin=origin):
            for u in self._held:
                self._ydoc.apply_update(u)
        if all(self._integrated(u) for u in self._held):
            held, self._held = self._held, []
            with self._ydoc.transaction(origin=origin):
                for u in held:
                    self._ydoc.apply_update(u)

    def _integrated(self, update: bytes) -> bool:
        # The part of `update` that this document lacks has no structs (only deletions).
        return get_update(update, self._ydoc.get_state())[:1] == b"\x00"

    # ----- transactions and undo ------------------------------------------------

    @contextmanager
    def _edit(self) -> Iterator[None]:
        if self._read_only_reason:
            raise ReadOnlyError(self._read_only_reason)
        self._history.before_edit()
        with self._ydoc.transaction(origin=self._origin):
            yield

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several API calls as one Yjs transaction and one undo step."""
        with self.undo_group(), self._edit():
            yield

    @contextmanager
    def undo_group(self) -> Iterator[None]:
        """Edits inside (even across many events, e.g. one drag) form one undo step."""
        self._history.begin_group()
        try:
            yield
        finally:
            self._history.end_group()

    def begin_undo_group(self) -> None:
        self._history.begin_group()

    def end_undo_group(self) -> None:
        self._history.end_group()

    def undo(self) -> bool:
        if self._read_only_reason:
            raise ReadOnlyError(self._read_only_reason)
        return self._history.undo()

    def redo(self) -> bool:
        if self._read_only_reason:
            raise ReadOnlyError(self._read_only_reason)
        return self._history.redo()

    def can_undo(self) -> bool:
        return self._history.can_undo()

    def can_redo(self) -> bool:
        return self._history.can_redo()

    @property
    def undo_depth(self) -> int:
        return self._history.undo_depth

    def clear_undo_history(self) -> None:
        self._history.clear()

    # ----- change notification -------------------------------------------------

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call `callback` after each batch of changes; returns a function that unsubscribes."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def _deep_handler(self, root: str) -> Callable[[list[Any], Any], None]:
        def handler(events: list[Any], txn: Any) -> None:
            # Counted here, not from the state vector: deletions do not change that.
            self._revision += 1
            if not self._listeners:
                return
            origin = txn.origin
            change = Change(local=origin == self._origin or origin == self._history.origin)
            for event in events:
                path = list(event.path)
                if root == S.ROOT_CLIPS:
                    if path:
                        change.clips.add(str(path[0]))
                    else:
                        change.clips.update(str(k) for k in event.keys)
                elif root == S.ROOT_TRACKS:
                    if path:
                        change.tracks.add(str(path[0]))
                    else:
                        change.tracks.update(str(k) for k in event.keys)
                elif root == S.ROOT_TEMPO:
                    change.tempo = True
                elif root == S.ROOT_TIMESIG:
                    change.time_signatures = True
                elif root == S.ROOT_MARKERS:
                    change.markers = True
                elif root == S.ROOT_META:
                    change.meta = True
                elif root == S.ROOT_BLOBS:
                    change.blobs = True
                elif root == S.ROOT_EFFECTS:
                    change.effects.update(_effect_tracks(event))
            for listener in list(self._listeners):
                listener(change)

        return handler

    # ----- ids -----------------------------------------------------------------

    def _new_id(self) -> str:
        self._id_counter += 1
        n, digits = self._id_counter, ""
        while n:
            n, r = divmod(n, 36)
            digits = _BASE36[r] + digits
        return self._id_prefix + digits

    # ----- meta: title and loop ------------------------------------------------

    @property
    def title(self) -> str:
        return str(self._meta.get(S.META_TITLE, ""))

    def set_title(self, title: str) -> None:
        with self._edit():
            self._meta[S.META_TITLE] = str(title)

    def song_key(self) -> SongKey | None:
        """The song's key (set by hand or from an analysis); None when none is set or
        the stored value is not one (a foreign client's: read as no key, never raised)."""
        value = self._meta.get(S.META_KEY)
        if not isinstance(value, dict):
            return None
        tonic, mode = value.get("tonic"), value.get("mode")
        if (not isinstance(tonic, int | float) or tonic != int(tonic)
                or not 0 <= tonic <= 11 or mode not in S.KEY_MODES):
            return None
        return SongKey(int(tonic), str(mode))

    def set_song_key(self, key: SongKey | tuple[int, str] | None) -> None:
        """Set the song's key (one undo step); None clears it."""
        if key is None:
            if S.META_KEY in self._meta:
                with self._edit():
                    del self._meta[S.META_KEY]
            return
        tonic, mode = key
        if isinstance(tonic, bool) or not isinstance(tonic, int) or not 0 <= tonic <= 11:
            raise DocumentError(f"a key's tonic is a pitch class 0-11, got {tonic!r}")
        if mode not in S.KEY_MODES:
            raise DocumentError(f"a key's mode must be one of {S.KEY_MODES}, got {mode!r}")
        with self._edit():
            self._meta[S.META_KEY] = {"tonic": int(tonic), "mode": str(mode)}

    def loop(self) -> LoopRange:
        return LoopRange(
            _to_int(self._meta.get(S.META_LOOP_START)),
            _to_int(self._meta.get(S.META_LOOP_END)),
            bool(self._meta.get(S.META_LOOP_ENABLED, False)),
        )

    def set_loop(
        self, start: int | None = None, end: int | None = None, enabled: bool | None = None
    ) -> None:
        cur = self.loop()
        new_start = cur.start if start is None else start
        new_end = cur.end if end is None else end
        _check_int("loop start", new_start, 0)
        _check_int("loop end", new_end, new_start)
        with self._edit():
            if start is not None:
                self._meta[S.META_LOOP_START] = start
            if end is not None:
                self._meta[S.META_LOOP_END] = end
            if enabled is not None:
                self._meta[S.META_LOOP_ENABLED] = bool(enabled)

    # ----- tracks --------------------------------------------------------------

    def _track_map(self, track_id: str) -> Map:
        tmap = self._tracks.get(track_id)
        if not isinstance(tmap, Map):
            raise DocumentError(f"no track {track_id!r}")
        return tmap

    @staticmethod
    def _track_from(track_id: str, t: Map | dict[str, Any]) -> Track:
        d = (t.to_py() or {}) if isinstance(t, Map) else t
        g = S.TRACK_DEFAULTS
        kind = d.get(S.TRACK_KIND, "midi")
        return Track(
            id=track_id,
            kind=kind if kind in S.TRACK_KINDS else "midi",
            name=str(d.get(S.TRACK_NAME, g[S.TRACK_NAME])),
            order=float(d.get(S.TRACK_ORDER, 0.0)),
            color=str(d.get(S.TRACK_COLOR, "")),
            instrument=Instrument(
                int(d.get(S.TRACK_PROGRAM, 0)),
                int(d.get(S.TRACK_BANK, 0)),
                int(d.get(S.TRACK_CHANNEL, 0)),
                str(d.get(S.TRACK_SOUNDFONT, "")),
            ),
            mixer=Mixer(
                float(d.get(S.TRACK_VOLUME_DB, 0.0)),
                float(d.get(S.TRACK_PAN, 0.0)),
                bool(d.get(S.TRACK_MUTE, False)),
                bool(d.get(S.TRACK_SOLO, False)),
            ),
        )

    def tracks(self) -> list[Track]:
        """All tracks in display order."""
        # One JSON export of all tracks: reading them key by key costs milliseconds.
        plain = json.loads(str(self._tracks))
        out = [self._track_from(tid, t) for tid, t in plain.items() if isinstance(t, dict)]
        out.sort(key=lambda t: (t.order, t.id))
        return out

    def track_ids(self) -> list[str]:
        return [t.id for t in self.tracks()]

    def track(self, track_id: str) -> Track:
        return self._track_from(track_id, self._track_map(track_id))

    def add_track(
        self,
        kind: TrackKind = "midi",
        name: str = "",
        *,
        instrument: Instrument | None = None,
        mixer: Mixer | None = None,
        color: str = "",
        order: float | None = None,
    ) -> str:
        if kind not in S.TRACK_KINDS:
            raise DocumentError(f"track kind must be one of {S.TRACK_KINDS}, got {kind!r}")
        inst = instrument or Instrument()
        mix = mixer or Mixer()
        if order is None:
            orders = [float(t.get(S.TRACK_ORDER, 0.0)) for t in self._tracks.values()]
            order = max(orders, default=-1.0) + 1.0
        _check_float("order", order, -1e15, 1e15)
        track_id = self._new_id()
        fields: dict[str, Any] = {
            S.TRACK_KIND: kind,
            S.TRACK_NAME: str(name),
            S.TRACK_ORDER: float(order),
            S.TRACK_COLOR: str(color),
            S.TRACK_PROGRAM: inst.program,
            S.TRACK_BANK: inst.bank,
            S.TRACK_CHANNEL: inst.channel,
            S.TRACK_SOUNDFONT: inst.soundfont,
            S.TRACK_VOLUME_DB: float(mix.volume_db),
            S.TRACK_PAN: float(mix.pan),
            S.TRACK_MUTE: mix.mute,
            S.TRACK_SOLO: mix.solo,
        }
        if kind == "chord":
            # Created with its track by one peer, so two peers never race to create it.
            fields[S.TRACK_CHORDS] = Map()
        with self._edit():
            self._tracks[track_id] = Map(fields)
        return track_id

    def update_track(
        self,
        track_id: str,
        *,
        name: str | None = None,
        color: str | None = None,
        order: float | None = None,
    ) -> None:
        """Write only the fields given, so a partner's edit of another field survives."""
        tmap = self._track_map(track_id)
        if order is not None:
            _check_float("order", order, -1e15, 1e15)
        with self._edit():
            if name is not None:
                tmap[S.TRACK_NAME] = str(name)
            if color is not None:
                tmap[S.TRACK_COLOR] = str(color)
            if order is not None:
                tmap[S.TRACK_ORDER] = float(order)

    def move_track(self, track_id: str, index: int) -> None:
        """Place a track at `index` in display order (one field write on the moved track)."""
        others = [t for t in self.tracks() if t.id != track_id]
        self._track_map(track_id)
        index = max(0, min(index, len(others)))
        if not others:
            return
        if index == 0:
            order = others[0].order - 1.0
        elif index == len(others):
            order = others[-1].order + 1.0
        else:
            order = (others[index - 1].order + others[index].order) / 2.0
        self.update_track(track_id, order=order)

    def set_instrument(
        self,
        track_id: str,
        *,
        program: int | None = None,
        bank: int | None = None,
        channel: int | None = None,
        soundfont: str | None = None,
    ) -> None:
        tmap = self._track_map(track_id)
        cur = self.track(track_id).instrument
        new = Instrument(
            cur.program if program is None else program,
            cur.bank if bank is None else bank,
            cur.channel if channel is None else channel,
            cur.soundfont if soundfont is None else soundfont,
        )
        with self._edit():
            for key, given, value in (
                (S.TRACK_PROGRAM, program, new.program),
                (S.TRACK_BANK, bank, new.bank),
                (S.TRACK_CHANNEL, channel, new.channel),
                (S.TRACK_SOUNDFONT, soundfont, new.soundfont),
            ):
                if given is not None:
                    tmap[key] = value

    def set_mixer(
        self,
        track_id: str,
        *,
        volume_db: float | None = None,
        pan: float | None = None,
        mute: bool | None = None,
        solo: bool | None = None,
    ) -> None:
        tmap = self._track_map(track_id)
        cur = self.track(track_id).mixer
        new = Mixer(
            cur.volume_db if volume_db is None else float(volume_db),
            cur.pan if pan is None else float(pan),
            cur.mute if mute is None else bool(mute),
            cur.solo if solo is None else bool(solo),
        )
        with self._edit():
            for key, given, value in (
                (S.TRACK_VOLUME_DB, volume_db, new.volume_db),
                (S.TRACK_PAN, pan, new.pan),
                (S.TRACK_MUTE, mute, new.mute),
                (S.TRACK_SOLO, solo, new.solo),
            ):
                if given is not None:
                    tmap[key] = value

    def remove_track(self, track_id: str) -> None:
        """Remove a track and its clips (one undo step)."""
        self._track_map(track_id)
        doomed = [cid for cid, c in self._clips.items() if c.get(S.CLIP_TRACK) == track_id]
        effects = [e.id for e in self.effects(track_id)]
        with self._edit():
            for cid in doomed:
                del self._clips[cid]
            for eid in effects:
                del self._effects[eid]
            del self._tracks[track_id]

    def sysex(self, track_id: str) -> list[tuple[int, bytes]]:
        """System-exclusive messages kept from an imported MIDI file: (tick, data without F0/F7)."""
        raw = self._track_map(track_id).get(S.TRACK_SYSEX)
        if not raw:
            return []
        return [(int(t), bytes.fromhex(str(h))) for t, h in raw]

    def set_sysex(self, track_id: str, messages: Iterable[tuple[int, bytes]]) -> None:
        tmap = self._track_map(track_id)
        value = []
        for tick, data in sorted(messages, key=lambda m: m[0]):
            _check_int("sysex tick", tick, 0)
            if any(b > 127 for b in data):
                raise DocumentError("sysex data bytes must be 0-127 (without F0 and F7)")
            value.append([tick, bytes(data).hex()])
        with self._edit():
            if value:
                tmap[S.TRACK_SYSEX] = value
            elif S.TRACK_SYSEX in tmap:
                del tmap[S.TRACK_SYSEX]

    # ----- clips ---------------------------------------------------------------

    def _clip_map(self, clip_id: str) -> Map:
        cmap = self._clips.get(clip_id)
        if not isinstance(cmap, Map):
            raise DocumentError(f"no clip {clip_id!r}")
        return cmap

    @staticmethod
    def _clip_from(clip_id: str, c: Map | dict[str, Any]) -> Clip:
        # Read field by field: to_py() would convert every note of a MIDI clip.
        track = str(c.get(S.CLIP_TRACK, ""))
        start = _to_int(c.get(S.CLIP_START))
        length = _to_int(c.get(S.CLIP_LENGTH))
        name = str(c.get(S.CLIP_NAME, ""))
        muted = bool(c.get(S.CLIP_MUTED, False))
        group = str(c.get(S.CLIP_TAKE_GROUP, ""))
        take = _to_int(c.get(S.CLIP_TAKE))
        if c.get(S.CLIP_KIND) == "audio":
            return AudioRegion(
                clip_id,
                track,
                start,
                length,
                str(c.get(S.CLIP_BLOB, "")),
                _to_int(c.get(S.CLIP_OFFSET)),
                float(c.get(S.CLIP_GAIN_DB, 0.0)),
                _to_int(c.get(S.CLIP_FADE_IN)),
                _to_int(c.get(S.CLIP_FADE_OUT)),
                name,
                muted,
                group,
                take,
            )
        return MidiClip(clip_id, track, start, length, name, muted, group, take)

    def clip(self, clip_id: str) -> Clip:
        return self._clip_from(clip_id, self._clip_map(clip_id))

    def clips(self, track_id: str | None = None) -> list[Clip]:
        """Clips of one track (or all), by start. Clips of deleted tracks are left out:
        a partner may add a clip to a track that I delete concurrently."""
        live = set(self._tracks.keys())
        out = []
        for cid, c in self._clips.items():
            tid = c.get(S.CLIP_TRACK)
            if tid not in live or (track_id is not None and tid != track_id):
                continue
            out.append(self._clip_from(cid, c))
        out.sort(key=lambda c: (c.start, c.id))
        return out

    def _check_clip_span(self, start: int, length: int) -> None:
        _check_int("clip start", start, 0)
        _check_int("clip length", length, 0)

    def add_midi_clip(
        self,
        track_id: str,
        start: int,
        length: int,
        name: str = "",
        *,
        muted: bool = False,
        take_group: str = "",
        take: int = 0,
    ) -> str:
        tmap = self._track_map(track_id)
        if tmap.get(S.TRACK_KIND) != "midi":
            raise DocumentError("MIDI clips go on MIDI tracks")
        self._check_clip_span(start, length)
        _check_int("take", take, 0)
        clip_id = self._new_id()
        with self._edit():
            self._clips[clip_id] = Map(
                {
                    S.CLIP_TRACK: track_id,
                    S.CLIP_KIND: "midi",
                    S.CLIP_START: start,
                    S.CLIP_LENGTH: length,
                    S.CLIP_NAME: str(name),
                    S.CLIP_NOTES: Map(),
                    **_take_fields(muted, take_group, take),
                }
            )
        return clip_id

    def add_audio_region(
        self,
        track_id: str,
        blob: str,
        start: int,
        length: int,
        *,
        offset: int = 0,
        gain_db: float = 0.0,
        fade_in: int = 0,
        fade_out: int = 0,
        name: str = "",
        muted: bool = False,
        take_group: str = "",
        take: int = 0,
    ) -> str:
        tmap = self._track_map(track_id)
        if tmap.get(S.TRACK_KIND) != "audio":
            raise DocumentError("audio regions go on audio tracks")
        self._check_clip_span(start, length)
        self._check_region(offset, gain_db, fade_in, fade_out)
        if not isinstance(blob, str) or len(blob) != 64:
            raise DocumentError(f"blob must be a SHA-256 hex digest, got {blob!r}")
        clip_id = self._new_id()
        with self._edit():
            self._clips[clip_id] = Map(
                {
                    S.CLIP_TRACK: track_id,
                    S.CLIP_KIND: "audio",
                    S.CLIP_START: start,
                    S.CLIP_LENGTH: length,
                    S.CLIP_NAME: str(name),
                    S.CLIP_BLOB: blob,
                    S.CLIP_OFFSET: offset,
                    S.CLIP_GAIN_DB: float(gain_db),
                    S.CLIP_FADE_IN: fade_in,
                    S.CLIP_FADE_OUT: fade_out,
                    **_take_fields(muted, take_group, take),
                }
            )
        return clip_id

    @staticmethod
    def _check_region(offset: int, gain_db: float, fade_in: int, fade_out: int) -> None:
        _check_int("offset", offset, 0)
        _check_float("gain_db", gain_db, -200.0, 48.0)
        _check_int("fade_in", fade_in, 0)
        _check_int("fade_out", fade_out, 0)

    def update_clip(
        self,
        clip_id: str,
        *,
        start: int | None = None,
        length: int | None = None,
        name: str | None = None,
        track_id: str | None = None,
        offset: int | None = None,
        gain_db: float | None = None,
        fade_in: int | None = None,
        fade_out: int | None = None,
        muted: bool | None = None,
        take_group: str | None = None,
        take: int | None = None,
    ) -> None:
        cmap = self._clip_map(clip_id)
        if take is not None:
            _check_int("take", take, 0)
        cur = self._clip_from(clip_id, cmap)
        self._check_clip_span(
            cur.start if start is None else start, cur.length if length is None else length
        )
        region_fields = (offset, gain_db, fade_in, fade_out)
        if isinstance(cur, AudioRegion):
            self._check_region(
                cur.offset if offset is None else offset,
                cur.gain_db if gain_db is None else gain_db,
                cur.fade_in if fade_in is None else fade_in,
                cur.fade_out if fade_out is None else fade_out,
            )
        elif any(v is not None for v in region_fields):
            raise DocumentError("offset, gain and fades belong to audio regions")
        if track_id is not None:
            target = self._track_map(track_id)
            want = "audio" if isinstance(cur, AudioRegion) else "midi"
            if target.get(S.TRACK_KIND) != want:
                raise DocumentError(f"a {want} clip can only move to a {want} track")
        with self._edit():
            for key, value in (
                (S.CLIP_START, start),
                (S.CLIP_LENGTH, length),
                (S.CLIP_NAME, name),
                (S.CLIP_TRACK, track_id),
                (S.CLIP_OFFSET, offset),
                (S.CLIP_FADE_IN, fade_in),
                (S.CLIP_FADE_OUT, fade_out),
                (S.CLIP_TAKE_GROUP, take_group),
                (S.CLIP_TAKE, take),
            ):
                if value is not None:
                    cmap[key] = value
            if muted is not None:
                cmap[S.CLIP_MUTED] = bool(muted)
            if gain_db is not None:
                cmap[S.CLIP_GAIN_DB] = float(gain_db)

    def remove_clip(self, clip_id: str) -> None:
        self._clip_map(clip_id)
        with self._edit():
            del self._clips[clip_id]

    # ----- notes ---------------------------------------------------------------

    def _notes_map(self, clip_id: str) -> Map:
        notes = self._clip_map(clip_id).get(S.CLIP_NOTES)
        if not isinstance(notes, Map):
            raise DocumentError(f"clip {clip_id!r} has no notes (it is not a MIDI clip)")
        return notes

    def notes(self, clip_id: str) -> dict[str, Note]:
        # One JSON export from the Rust side: reading key by key costs about 2x more.
        plain = json.loads(str(self._notes_map(clip_id)))
        return {k: Note.decode(v) for k, v in plain.items()}

    def raw_notes(self, clip_id: str) -> list[list[int]]:
        """Encoded notes [pitch, start, length, velocity, channel] (fast path for the compiler).

        One JSON export from the Rust side: about twice as fast as reading key by key.
        """
        return list(json.loads(str(self._notes_map(clip_id))).values())

    def raw_clips(self) -> dict[str, tuple[Clip, list[list[int]]]]:
        """Every clip of a live track with its encoded notes, read in one go (full compiles)."""
        live = set(self._tracks.keys())
        out: dict[str, tuple[Clip, list[list[int]]]] = {}
        for cid, plain in json.loads(str(self._clips)).items():
            if not isinstance(plain, dict) or plain.get(S.CLIP_TRACK) not in live:
                continue
            notes = plain.get(S.CLIP_NOTES)
            out[cid] = (
                self._clip_from(cid, plain),
                list(notes.values()) if isinstance(notes, dict) else [],
            )
        return out

    def note(self, clip_id: str, note_id: str) -> Note:
        value = self._notes_map(clip_id).get(note_id)
        if value is None:
            raise DocumentError(f"no note {note_id!r} in clip {clip_id!r}")
        return Note.decode(value)

    def note_count(self, clip_id: str | None = None) -> int:
        if clip_id is not None:
            return len(self._notes_map(clip_id))
        return sum(
            len(c[S.CLIP_NOTES]) for c in self._clips.values() if c.get(S.CLIP_KIND) == "midi"
        )

    def add_note(self, clip_id: str, note: Note) -> str:
        return self.add_notes(clip_id, [note])[0]

    def add_notes(self, clip_id: str, notes: Iterable[Note]) -> list[str]:
        nmap = self._notes_map(clip_id)
        encoded = [(self._new_id(), n.encode()) for n in notes]
        with self._edit():
            for nid, value in encoded:
                nmap[nid] = value
        return [nid for nid, _ in encoded]

    def set_note(self, clip_id: str, note_id: str, note: Note) -> None:
        nmap = self._notes_map(clip_id)
        if note_id not in nmap:
            raise DocumentError(f"no note {note_id!r} in clip {clip_id!r}")
        with self._edit():
            nmap[note_id] = note.encode()

    def update_note(self, clip_id: str, note_id: str, **changes: int) -> Note:
        """Change some fields of a note (pitch, start, length, velocity, channel).

        A note is one plain value: a partner's concurrent edit of the same note is
        resolved as a whole (the same on every peer), edits of other notes all survive.
        """
        try:
            new = replace(self.note(clip_id, note_id), **changes)
        except TypeError as exc:
            raise DocumentError(str(exc)) from exc
        self.set_note(clip_id, note_id, new)
        return new

    def remove_note(self, clip_id: str, note_id: str) -> None:
        self.remove_notes(clip_id, [note_id])

    def remove_notes(self, clip_id: str, note_ids: Iterable[str]) -> None:
        nmap = self._notes_map(clip_id)
        ids = list(note_ids)
        missing = [n for n in ids if n not in nmap]
        if missing:
            raise DocumentError(f"no notes {missing!r} in clip {clip_id!r}")
        with self._edit():
            for nid in ids:
                del nmap[nid]

    # ----- tempo and time signatures -------------------------------------------

    def tempo_changes(self) -> list[TempoChange]:
        out = [TempoChange(int(k), float(v)) for k, v in self._tempo.items()]
        out.sort(key=lambda c: c.tick)
        if not out or out[0].tick != 0:
            out.insert(0, TempoChange(0, S.DEFAULT_BPM))
        return out

    def tempo_map(self) -> TempoMap:
        return TempoMap(self.tempo_changes())

    def set_tempo(self, tick: int, bpm: float) -> None:
        """Tempo from `tick` on. Keyed by tick: two peers setting the same tick resolve alike."""
        _check_int("tempo tick", tick, 0)
        _check_float("bpm", bpm, MIN_BPM, MAX_BPM)
        with self._edit():
            self._tempo[str(tick)] = float(bpm)

    def remove_tempo(self, tick: int) -> None:
        if tick == 0:
            raise DocumentError("the tempo at tick 0 can be changed but not removed")
        if str(tick) not in self._tempo:
            raise DocumentError(f"no tempo change at tick {tick}")
        with self._edit():
            del self._tempo[str(tick)]

    def time_signatures(self) -> list[TimeSignature]:
        out = [TimeSignature(int(k), int(v[0]), int(v[1])) for k, v in self._timesig.items()]
        out.sort(key=lambda t: t.tick)
        if not out or out[0].tick != 0:
            out.insert(0, TimeSignature(0, *S.DEFAULT_TIME_SIGNATURE))
        return out

    def time_signature_map(self) -> TimeSignatureMap:
        """The meters as core.timing counts them, by bar. A change that a MIDI file put
        in the middle of a bar takes effect at the next bar line."""
        changes: list[TimeSignatureChange] = []
        for ts in self.time_signatures():
            bar = 0
            if changes:
                bbt = TimeSignatureMap(changes).bbt_at_tick(ts.tick)
                bar = bbt.bar - 1 + (0 if (bbt.beat, bbt.tick) == (1, 0) else 1)
                if bar == changes[-1].bar:
                    changes.pop()
            changes.append(TimeSignatureChange(bar, ts.numerator, ts.denominator))
        return TimeSignatureMap(changes)

    def set_time_signature(self, tick: int, numerator: int, denominator: int) -> None:
        ts = TimeSignature(tick, numerator, denominator)
        with self._edit():
            self._timesig[str(ts.tick)] = [ts.numerator, ts.denominator]

    def remove_time_signature(self, tick: int) -> None:
        if tick == 0:
            raise DocumentError("the time signature at tick 0 can be changed but not removed")
        if str(tick) not in self._timesig:
            raise DocumentError(f"no time signature change at tick {tick}")
        with self._edit():
            del self._timesig[str(tick)]

    # ----- markers -------------------------------------------------------------

    def markers(self) -> dict[str, Marker]:
        out = {k: Marker(int(v["tick"]), str(v["name"])) for k, v in self._markers.items()}
        return dict(sorted(out.items(), key=lambda kv: (kv[1].tick, kv[0])))

    def add_marker(self, tick: int, name: str) -> str:
        m = Marker(tick, str(name))
        marker_id = self._new_id()
        with self._edit():
            self._markers[marker_id] = {"tick": m.tick, "name": m.name}
        return marker_id

    def update_marker(
        self, marker_id: str, *, tick: int | None = None, name: str | None = None
    ) -> None:
        value = self._markers.get(marker_id)
        if value is None:
            raise DocumentError(f"no marker {marker_id!r}")
        m = Marker(
            int(value["tick"]) if tick is None else tick,
            str(value["name"]) if name is None else name,
        )
        with self._edit():
            self._markers[marker_id] = {"tick": m.tick, "name": m.name}

    def remove_marker(self, marker_id: str) -> None:
        if marker_id not in self._markers:
            raise DocumentError(f"no marker {marker_id!r}")
        with self._edit():
            del self._markers[marker_id]

    # ----- chord track ---------------------------------------------------------

    def _chords_map(self, track_id: str) -> Map:
        cmap = self._track_map(track_id).get(S.TRACK_CHORDS)
        if not isinstance(cmap, Map):
            raise DocumentError(f"track {track_id!r} is not a chord track")
        return cmap

    def chords(self, track_id: str) -> dict[str, ChordItem]:
        items = {k: ChordItem.decode(v) for k, v in self._chords_map(track_id).items()}
        return dict(sorted(items.items(), key=lambda kv: (kv[1].start, kv[0])))

    def add_chord(self, track_id: str, item: ChordItem) -> str:
        return self.add_chords(track_id, [item])[0]

    def add_chords(self, track_id: str, items: Iterable[ChordItem]) -> list[str]:
        cmap = self._chords_map(track_id)
        encoded = [(self._new_id(), i.encode()) for i in items]
        with self._edit():
            for cid, value in encoded:
                cmap[cid] = value
        return [cid for cid, _ in encoded]

    def set_chord(self, track_id: str, chord_id: str, item: ChordItem) -> None:
        cmap = self._chords_map(track_id)
        if chord_id not in cmap:
            raise DocumentError(f"no chord {chord_id!r}")
        with self._edit():
            cmap[chord_id] = item.encode()

    def remove_chord(self, track_id: str, chord_id: str) -> None:
        cmap = self._chords_map(track_id)
        if chord_id not in cmap:
            raise DocumentError(f"no chord {chord_id!r}")
        with self._edit():
            del cmap[chord_id]

    # ----- audio blobs ---------------------------------------------------------

    def blobs(self) -> dict[str, BlobInfo]:
        return {k: BlobInfo.decode(k, v) for k, v in self._blobs.items()}

    def add_blob(self, info: BlobInfo) -> None:
        """Register an audio file; content-addressed, so adding it twice is harmless."""
        if len(info.sha256) != 64:
            raise DocumentError(f"blob id must be a SHA-256 hex digest, got {info.sha256!r}")
        if info.sha256 in self._blobs:
            return
        with self._edit():
            self._blobs[info.sha256] = info.encode()

    # ----- whole-document views ------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A plain, id-keyed picture of the whole song (for comparisons and debugging)."""
        tracks: dict[str, Any] = {}
        for t in self.tracks():
            entry: dict[str, Any] = {"track": t}
            if t.kind == "chord":
                entry["chords"] = self.chords(t.id)
            sysex = self.sysex(t.id)
            if sysex:
                entry["sysex"] = sysex
            tracks[t.id] = entry
        clips: dict[str, Any] = {}
        for c in self.clips():
            clips[c.id] = {
                "clip": c,
                "notes": self.notes(c.id) if isinstance(c, MidiClip) else None,
            }
        return {
            "title": self.title,
            "key": self.song_key(),
            "loop": self.loop(),
            "tempo": self.tempo_changes(),
            "time_signatures": self.time_signatures(),
            "markers": self.markers(),
            "blobs": self.blobs(),
            "master": self.master(),
            "punch": self.punch(),
            "effects": {e.id: e for e in self.all_effects()},
            "tracks": tracks,
            "clips": clips,
        }
