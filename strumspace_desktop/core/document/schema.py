"""Names, versions and migrations of the shared (Yjs) song document.

This module and docs/document-schema.md are the contract with the cloud and
other clients: change them together, and bump SCHEMA_VERSION with a migration.

Every migration is a forward edit that only fills in what is missing, so it is
safe to run twice and safe for two peers to run concurrently (they write the
same plain values).
"""

from __future__ import annotations

from collections.abc import Callable

from pycrdt import Doc, Map

from ..timing import PPQ

SCHEMA_VERSION = 2

# Root shared types (all Y.Map).
ROOT_META = "meta"
ROOT_TRACKS = "tracks"
ROOT_CLIPS = "clips"
ROOT_TEMPO = "tempo"
ROOT_TIMESIG = "timesig"
ROOT_MARKERS = "markers"
ROOT_BLOBS = "blobs"
ROOT_EFFECTS = "effects"  # effect id -> plain value (version 2)
ROOTS = (
    ROOT_META, ROOT_TRACKS, ROOT_CLIPS, ROOT_TEMPO, ROOT_TIMESIG, ROOT_MARKERS, ROOT_BLOBS,
    ROOT_EFFECTS,
)

# meta keys
META_SCHEMA_VERSION = "schema_version"
META_PPQ = "ppq"
META_TITLE = "title"
META_LOOP_START = "loop_start"
META_LOOP_END = "loop_end"
META_LOOP_ENABLED = "loop_enabled"
META_PUNCH_START = "punch_start"  # ticks (version 2)
META_PUNCH_END = "punch_end"
META_PUNCH_ENABLED = "punch_enabled"
META_MASTER_VOLUME_DB = "master_volume_db"  # float, -200 to 24 (version 2)
META_MASTER_LIMITER = "master_limiter"  # bool
META_MASTER_LIMITER_DB = "master_limiter_threshold_db"  # float, -30 to 0
# {"tonic": pitch class 0-11, "mode": "major" | "minor"}; absent: no key set. Optional
# and additive (version-2 readers ignore it), so it needs no version of its own.
META_KEY = "key"
KEY_MODES = ("major", "minor")

# Track keys (each track is a Y.Map so that concurrent edits of different fields merge).
TRACK_KIND = "kind"  # "midi" | "audio" | "chord"
TRACK_NAME = "name"
TRACK_ORDER = "order"  # float; tracks sort by (order, id)
TRACK_COLOR = "color"  # "#rrggbb"
TRACK_PROGRAM = "program"  # GM program 0-127
TRACK_BANK = "bank"  # bank 0-16383
TRACK_CHANNEL = "channel"  # default MIDI channel 0-15 for new notes and program changes
TRACK_SOUNDFONT = "soundfont"  # "" = the default SoundFont
TRACK_VOLUME_DB = "volume_db"
TRACK_PAN = "pan"  # -1 (left) .. 1 (right)
TRACK_MUTE = "mute"
TRACK_SOLO = "solo"
TRACK_SYSEX = "sysex"  # list of [tick, hex string] kept from imported MIDI files
TRACK_CHORDS = "chords"  # Y.Map chord id -> chord item (chord tracks only)

# Clip keys (each clip is a Y.Map).
CLIP_TRACK = "track"
CLIP_KIND = "kind"  # "midi" | "audio"
CLIP_START = "start"  # ticks on the timeline
CLIP_LENGTH = "length"  # ticks
CLIP_NAME = "name"
CLIP_NOTES = "notes"  # Y.Map note id -> [pitch, start, length, velocity, channel] (midi)
CLIP_BLOB = "blob"  # SHA-256 hex of the audio file (audio)
CLIP_OFFSET = "offset"  # frames into the audio file where the region starts (audio)
CLIP_GAIN_DB = "gain_db"  # (audio)
CLIP_FADE_IN = "fade_in"  # frames (audio)
CLIP_FADE_OUT = "fade_out"  # frames (audio)
CLIP_MUTED = "muted"  # bool: a muted clip is silent, e.g. an inactive take (version 2)
CLIP_TAKE_GROUP = "take_group"  # "" or an id shared by the takes of one recording pass
CLIP_TAKE = "take"  # int, the take's number in its group (0 first)

# Effect item keys (a plain map value per effect in the `effects` root).
EFFECT_TRACK = "track"  # track id, or "master" for the master bus
EFFECT_TYPE = "type"  # a key of core.effects.EFFECT_TYPES
EFFECT_ORDER = "order"  # float; a track's effects run sorted by (order, id)
EFFECT_BYPASS = "bypass"  # bool
EFFECT_PARAMS = "params"  # {name: float}
EFFECT_PLUGIN = "plugin"  # VST3 plugin path ("" for built-in effects)

# Chord item keys (a plain map value per item).
CHORD_START = "start"
CHORD_END = "end"
CHORD_LABEL = "label"  # Harte syntax, e.g. "C:maj7", "A:min/b3", "N"
CHORD_BASS = "bass"  # pitch class 0-11 or -1 for none
CHORD_CONFIDENCE = "confidence"  # 0..1
CHORD_SOURCE = "source"  # "played" | "recognized" | "generated"

TRACK_KINDS = ("midi", "audio", "chord")
CLIP_KINDS = ("midi", "audio")
CHORD_SOURCES = ("played", "recognized", "generated")

# Defaults, also what migrations fill in where a key is missing.
TRACK_DEFAULTS: dict[str, object] = {
    TRACK_NAME: "",
    TRACK_ORDER: 0.0,
    TRACK_COLOR: "",
    TRACK_PROGRAM: 0,
    TRACK_BANK: 0,
    TRACK_CHANNEL: 0,
    TRACK_SOUNDFONT: "",
    TRACK_VOLUME_DB: 0.0,
    TRACK_PAN: 0.0,
    TRACK_MUTE: False,
    TRACK_SOLO: False,
}
MIDI_CLIP_DEFAULTS: dict[str, object] = {CLIP_NAME: "", CLIP_START: 0, CLIP_LENGTH: 0}
AUDIO_CLIP_DEFAULTS: dict[str, object] = {
    CLIP_NAME: "",
    CLIP_START: 0,
    CLIP_LENGTH: 0,
    CLIP_OFFSET: 0,
    CLIP_GAIN_DB: 0.0,
    CLIP_FADE_IN: 0,
    CLIP_FADE_OUT: 0,
}
META_V2_DEFAULTS: dict[str, object] = {
    META_PUNCH_START: 0,
    META_PUNCH_END: 0,
    META_PUNCH_ENABLED: False,
    META_MASTER_VOLUME_DB: 0.0,
    META_MASTER_LIMITER: True,
    META_MASTER_LIMITER_DB: -1.0,
}
DEFAULT_BPM = 120.0
DEFAULT_TIME_SIGNATURE = (4, 4)


class SchemaError(ValueError):
    """The Yjs state is not a StrumSpace document this code can read."""


def schema_version(doc: Doc) -> int:
    """Version stored in the document; 0 for a document that predates versioning."""
    meta = doc.get(ROOT_META, type=Map)
    value = meta.get(META_SCHEMA_VERSION)
    if value is None:
        return 0
    if not isinstance(value, int | float) or value != int(value) or value < 0:
        raise SchemaError(f"meta.schema_version is not a version number: {value!r}")
    return int(value)


def _fill(target: Map, defaults: dict[str, object]) -> None:
    for key, value in defaults.items():
        if key not in target:
            target[key] = value


def _migrate_0_to_1(doc: Doc) -> None:
    """Version 0: a bare Yjs doc (e.g. created by a web client) or one without defaults."""
    meta = doc.get(ROOT_META, type=Map)
    _fill(
        meta,
        {
            META_PPQ: PPQ,
            META_TITLE: "",
            META_LOOP_START: 0,
            META_LOOP_END: 0,
            META_LOOP_ENABLED: False,
        },
    )
    for track in doc.get(ROOT_TRACKS, type=Map).values():
        if isinstance(track, Map):
            _fill(track, TRACK_DEFAULTS)
            if track.get(TRACK_KIND) not in TRACK_KINDS:
                track[TRACK_KIND] = "midi"
            # A chord map is created by the peer that creates a track; fill it only when absent.
            if track[TRACK_KIND] == "chord" and TRACK_CHORDS not in track:
                track[TRACK_CHORDS] = Map()
    for clip in doc.get(ROOT_CLIPS, type=Map).values():
        if isinstance(clip, Map):
            if clip.get(CLIP_KIND) == "audio":
                _fill(clip, AUDIO_CLIP_DEFAULTS)
            else:
                _fill(clip, MIDI_CLIP_DEFAULTS)
                if CLIP_KIND not in clip:
                    clip[CLIP_KIND] = "midi"
                if CLIP_NOTES not in clip:
                    clip[CLIP_NOTES] = Map()
    tempo = doc.get(ROOT_TEMPO, type=Map)
    if "0" not in tempo:
        tempo["0"] = DEFAULT_BPM
    timesig = doc.get(ROOT_TIMESIG, type=Map)
    if "0" not in timesig:
        timesig["0"] = list(DEFAULT_TIME_SIGNATURE)
    meta[META_SCHEMA_VERSION] = max(1, schema_version(doc))  # never lower it when re-run


def _migrate_1_to_2(doc: Doc) -> None:
    """Version 2 adds the punch range, the master bus and the `effects` root. Clips
    gain `muted`, `take_group` and `take`, which readers default when missing, so
    existing clips are left alone (filling them would rewrite every clip)."""
    meta = doc.get(ROOT_META, type=Map)
    _fill(meta, META_V2_DEFAULTS)
    meta[META_SCHEMA_VERSION] = max(2, schema_version(doc))


# MIGRATIONS[v] turns a version-v document into a version-(v+1) one.
MIGRATIONS: dict[int, Callable[[Doc], None]] = {0: _migrate_0_to_1, 1: _migrate_1_to_2}


def migrate(doc: Doc, origin: object = "migration") -> list[int]:
    """Bring `doc` up to SCHEMA_VERSION in place; returns the versions it passed through.

    Raises SchemaError for documents newer than this code (open those read-only).
    """
    passed: list[int] = []
    with doc.transaction(origin=origin):
        version = schema_version(doc)
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"document schema version {version} is newer than this StrumSpace "
                f"understands ({SCHEMA_VERSION})"
            )
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](doc)
            passed.append(version)
            new_version = schema_version(doc)
            if new_version != version + 1:
                raise AssertionError(f"migration from {version} left version {new_version}")
            version = new_version
    return passed
