"""The project document: a mergeable (CRDT) song model with undo, files, playback compilation
and Standard MIDI File import/export. No Qt, no audio, no network."""

from .mixing import Effect, Master, PunchRange
from .model import (
    AudioRegion,
    BlobInfo,
    Change,
    ChordItem,
    ChordSource,
    Clip,
    Document,
    DocumentError,
    Instrument,
    LoopRange,
    Marker,
    MidiClip,
    Mixer,
    Note,
    ReadOnlyError,
    SongKey,
    TimeSignature,
    Track,
)
from .schema import SCHEMA_VERSION, SchemaError

__all__ = [
    "SCHEMA_VERSION",
    "AudioRegion",
    "BlobInfo",
    "Change",
    "ChordItem",
    "ChordSource",
    "Clip",
    "Document",
    "DocumentError",
    "Effect",
    "Instrument",
    "LoopRange",
    "Marker",
    "Master",
    "MidiClip",
    "Mixer",
    "Note",
    "PunchRange",
    "ReadOnlyError",
    "SchemaError",
    "SongKey",
    "TimeSignature",
    "Track",
]
