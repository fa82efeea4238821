"""A Standard MIDI File into the open project: its tracks and clips added (no Qt).

`core.document.smf.import_midi` reads the file into a new document (the whole
check happens there, so a bad file changes nothing); this module copies that
document's MIDI tracks, clips, notes and SysEx into the open one at a tick, as
one undo step.

Synth channels: each melodic track of the project owns a channel (core.tracks), so
the imported melodic tracks get channels still free here (their notes move with
them) and drum tracks play on the drum channel. When the file needs more melodic
channels than are free, nothing is imported and the message says how many.

Tempo, time signatures and markers: when the project has no clips yet and the file
goes at tick 0, the file's tempo map and meters replace the project's (the song is
the file's), and its key signature becomes the song's key unless one is set;
otherwise the project keeps its own and the report says the file's tempo was not
applied. Markers are always added (moved by the tick offset).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from strumspace_desktop.core.document import Document, Instrument
from strumspace_desktop.core.document.smf import ImportReport, MidiFileError, import_midi
from strumspace_desktop.core.gm import DRUM_BANK, DRUM_CHANNEL
from strumspace_desktop.core.tracks import MELODIC_CHANNELS

MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")


class MidiImportError(Exception):
    """The MIDI file was not imported; the message is meant for the user."""


@dataclass
class MidiMergeReport:
    track_ids: list[str] = field(default_factory=list)
    notes: int = 0
    tempo_adopted: bool = False
    messages: list[str] = field(default_factory=list)  # for the user


def _is_drums(inst: Instrument) -> bool:
    return inst.bank == DRUM_BANK or inst.channel == DRUM_CHANNEL


def import_midi_into(document: Document, source: Path | bytes, *,
                     tick: int = 0) -> MidiMergeReport:
    """Add the MIDI file's tracks to `document` starting at `tick` (one undo step)."""
    if document.read_only:
        raise MidiImportError(document.read_only_reason)
    if tick < 0:
        raise MidiImportError("a MIDI file cannot be placed before the song's start")
    name = "the MIDI data" if isinstance(source, bytes | bytearray) else Path(source).name
    try:
        incoming, file_report = import_midi(source)
    except MidiFileError as exc:
        raise MidiImportError(str(exc)) from exc
    report = MidiMergeReport()
    report.messages.extend(_file_notes(name, file_report))

    tracks = [t for t in incoming.tracks() if t.kind == "midi"]
    used = {t.instrument.channel for t in document.tracks()
            if t.kind == "midi" and not _is_drums(t.instrument)}
    free = [c for c in MELODIC_CHANNELS if c not in used]
    melodic = [t for t in tracks if not _is_drums(t.instrument)]
    if len(melodic) > len(free):
        raise MidiImportError(
            f"{name} was not imported: it has {len(melodic)} instrument tracks and only "
            f"{len(free)} synth channel(s) are free in this song (one per instrument track). "
            "Remove some tracks, or open the file as a new song.")

    adopt = tick == 0 and not document.clips()
    with document.transaction():
        if adopt:
            for tc in document.tempo_changes():
                if tc.tick:
                    document.remove_tempo(tc.tick)
            for ts in document.time_signatures():
                if ts.tick:
                    document.remove_time_signature(ts.tick)
            for tc in incoming.tempo_changes():
                document.set_tempo(tc.tick, tc.bpm)
            for ts in incoming.time_signatures():
                document.set_time_signature(ts.tick, ts.numerator, ts.denominator)
            report.tempo_adopted = True
            if document.song_key() is None and incoming.song_key() is not None:
                document.set_song_key(incoming.song_key())  # a key chosen by hand stays
        for marker in incoming.markers().values():
            document.add_marker(marker.tick + tick, marker.name)
        for track in tracks:
            inst = track.instrument
            channel = DRUM_CHANNEL if _is_drums(inst) else free.pop(0)
            tid = document.add_track(
                "midi", track.name, instrument=replace(inst, channel=channel),
                mixer=track.mixer, color=track.color)
            for clip in incoming.clips(track.id):
                cid = document.add_midi_clip(tid, clip.start + tick, clip.length, clip.name)
                notes = [replace(n, channel=channel) for n in incoming.notes(clip.id).values()]
                document.add_notes(cid, sorted(notes, key=lambda n: (n.start, n.pitch)))
                report.notes += len(notes)
            sysex = incoming.sysex(track.id)
            if sysex:
                document.set_sysex(tid, [(t + tick, data) for t, data in sysex])
            report.track_ids.append(tid)
    if not adopt and _tempo_differs(document, incoming):
        report.messages.append(
            f"{name} has its own tempo or meter; the song keeps its own (notes are placed "
            "by beat)")
    if not tracks:
        report.messages.append(f"{name} has no notes: no track was added")
    return report


def _tempo_differs(document: Document, incoming: Document) -> bool:
    return (incoming.tempo_changes() != document.tempo_changes()
            or incoming.time_signatures() != document.time_signatures())


def _file_notes(name: str, report: ImportReport) -> list[str]:
    return [f"{name}: {line}" for line in report.summary()]
