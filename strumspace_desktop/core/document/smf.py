"""Standard MIDI Files in and out (type 0 and 1), through mido.

Import: every track's notes, split by channel into document tracks (so each
gets its own instrument), the tempo map, time signatures, markers, the song's
key (the first key signature), track names, the first program change (with
bank select) per channel, and SysEx (kept on the track, or dropped with a
note). Ticks are rescaled to PPQ 960 by rounding. Controllers, pitch bend,
aftertouch, later program changes, later key signatures and other meta events
are not part of the document yet: they are dropped and counted in the report,
so the user is told.

Export: a conductor track (tempo, time signatures, markers, key signature) then one track per
MIDI track of the document (type 1), or everything in one track (type 0).
Note-offs are written as note-on velocity 0 so running status packs them.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import mido

from models.chords.vocabulary import ChordLabelError, root_pc

from ..timing import MAX_BPM, MIN_BPM, PPQ
from .model import Document, Instrument, MidiClip, Note, SongKey


def key_from_midi(name: str) -> SongKey | None:
    """A key signature meta event's key ("Eb", "F#m") as a song key; None if unreadable."""
    minor = name.endswith("m")
    try:
        tonic = root_pc(name[:-1] if minor else name)
    except ChordLabelError:
        return None
    return SongKey(tonic, "minor" if minor else "major")


def key_to_midi(key: SongKey) -> str:
    """The key signature meta event's name for a song key, spelled as the app spells
    the key (`KeyEstimate.tonic_name`: Gb major, Eb minor)."""
    from models.chords.key_tempo import KeyEstimate  # numba: only when a key is written

    return KeyEstimate(key.tonic, key.mode, 0.0).tonic_name + ("m" if key.mode == "minor"
                                                                else "")


class MidiFileError(ValueError):
    """A MIDI file that cannot be read or written; the message is meant for the user."""


@dataclass
class ImportReport:
    midi_type: int
    source_ppq: int
    tracks: int = 0
    notes: int = 0
    sysex_kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        lines = list(self.warnings)
        if self.sysex_kept:
            lines.append(f"kept {self.sysex_kept} SysEx message(s) (exported, not played)")
        if self.dropped:
            parts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.dropped.items()))
            lines.append(f"not imported (the document does not hold them yet): {parts}")
        return lines


@dataclass
class ExportReport:
    midi_type: int
    tracks: int = 0
    notes: int = 0
    warnings: list[str] = field(default_factory=list)


def _scale(tick: int, ppq: int) -> int:
    # Round half up in integers: exact for any file resolution.
    return (tick * PPQ * 2 + ppq) // (2 * ppq)


def read_midi(source: Path | bytes) -> mido.MidiFile:
    """Parse a MIDI file (mido handles running status); clear errors for bad files."""
    try:
        if isinstance(source, bytes | bytearray):
            mid = mido.MidiFile(file=io.BytesIO(bytes(source)))
        else:
            mid = mido.MidiFile(str(source))
    except FileNotFoundError:
        raise MidiFileError(f"{Path(str(source))} does not exist") from None
    except (EOFError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        name = "the MIDI data" if isinstance(source, bytes | bytearray) else str(Path(source))
        detail = str(exc) or type(exc).__name__
        raise MidiFileError(
            f"{name} is not a readable Standard MIDI File (truncated or corrupt): {detail}"
        ) from exc
    if mid.type not in (0, 1, 2):
        raise MidiFileError(f"unsupported MIDI file type {mid.type}")
    if not isinstance(mid.ticks_per_beat, int) or mid.ticks_per_beat <= 0:
        raise MidiFileError("SMPTE time division is not supported (only ticks per quarter)")
    return mid


def import_midi(
    source: Path | bytes, *, keep_sysex: bool = True, title: str | None = None
) -> tuple[Document, ImportReport]:
    """A new document from a MIDI file, and what happened on the way."""
    mid = read_midi(source)
    ppq = mid.ticks_per_beat
    report = ImportReport(mid.type, ppq)
    if mid.type == 2:
        report.warnings.append("type 2 file: its patterns were imported side by side")
    if title is None:
        title = Path(source).stem if not isinstance(source, bytes | bytearray) else ""
    tempos: dict[int, float] = {}
    meters: dict[int, tuple[int, int]] = {}
    markers: list[tuple[int, str]] = []
    song_key: SongKey | None = None
    clamped = 0
    # (mtrk index, channel) -> notes; insertion order gives the document's track order.
    notes: dict[tuple[int, int], list[Note]] = {}
    programs: dict[tuple[int, int], tuple[int, int]] = {}
    names: dict[int, str] = {}
    sysex: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    unclosed = 0

    for ti, mtrk in enumerate(mid.tracks):
        tick = 0
        open_notes: dict[tuple[int, int], deque[tuple[int, int]]] = defaultdict(deque)
        banks: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for msg in mtrk:
            tick += msg.time
            at = _scale(tick, ppq)
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                open_notes[(msg.channel, msg.note)].append((at, msg.velocity))
                notes.setdefault((ti, msg.channel), [])
            elif kind in ("note_off", "note_on"):
                queue = open_notes.get((msg.channel, msg.note))
                if not queue:
                    report.dropped["note-offs without a note-on"] += 1
                    continue
                start, vel = queue.popleft()  # first in, first out for overlapping notes
                notes[(ti, msg.channel)].append(Note(msg.note, start, at - start, vel, msg.channel))
            elif kind == "set_tempo":
                bpm = mido.tempo2bpm(msg.tempo)
                if not MIN_BPM <= bpm <= MAX_BPM:
                    bpm = min(max(bpm, MIN_BPM), MAX_BPM)
                    clamped += 1
                tempos[at] = bpm
            elif kind == "time_signature":
                meters[at] = (msg.numerator, msg.denominator)
            elif kind == "marker":
                markers.append((at, msg.text))
            elif kind == "key_signature" and song_key is None:
                # The document holds one key for the song: the first one the file sets.
                song_key = key_from_midi(msg.key)
                if song_key is None:
                    report.dropped["unreadable key signatures"] += 1
            elif kind == "key_signature":
                report.dropped["later key signatures"] += 1
            elif kind == "track_name":
                names.setdefault(ti, msg.name)
            elif kind == "control_change" and msg.control in (0, 32):
                banks[msg.channel][0 if msg.control == 0 else 1] = msg.value
            elif kind == "program_change":
                key = (ti, msg.channel)
                if key in programs:
                    report.dropped["later program changes"] += 1
                else:
                    msb, lsb = banks[msg.channel]
                    programs[key] = (msg.program, msb * 128 + lsb)
            elif kind == "sysex":
                if keep_sysex:
                    sysex[ti].append((at, bytes(msg.data)))
                    report.sysex_kept += 1
                else:
                    report.dropped["SysEx messages (dropped on request)"] += 1
            elif kind == "end_of_track":
                pass
            else:
                report.dropped[kind.replace("_", " ") + " events"] += 1
        end = _scale(tick, ppq)
        for (channel, pitch), queue in open_notes.items():
            for start, vel in queue:
                notes.setdefault((ti, channel), []).append(
                    Note(pitch, start, max(end - start, 0), vel, channel)
                )
                unclosed += 1
    if clamped:
        report.warnings.append(
            f"{clamped} tempo change(s) outside {MIN_BPM:g}-{MAX_BPM:g} bpm were clamped"
        )
    if unclosed:
        report.warnings.append(f"{unclosed} note(s) without a note-off end at their track's end")

    doc = Document.new(title)
    with doc.transaction():
        for at, bpm in sorted(tempos.items()):
            doc.set_tempo(at, bpm)
        for at, (num, den) in sorted(meters.items()):
            doc.set_time_signature(at, num, den)
        for at, text in markers:
            doc.add_marker(at, text)
        if song_key is not None:
            doc.set_song_key(song_key)
        channels_of: dict[int, list[int]] = defaultdict(list)
        for ti, ch in notes:
            channels_of[ti].append(ch)
        first_track_of: dict[int, str] = {}
        # A program change may sit in another track than the notes of its channel.
        by_channel: dict[int, tuple[int, int]] = {}
        for (_, ch), prog in programs.items():
            by_channel.setdefault(ch, prog)
        for (ti, ch), track_notes in notes.items():
            program, bank = programs.get((ti, ch)) or by_channel.get(ch, (0, 0))
            name = names.get(ti) or f"Track {ti + 1}"
            if len(channels_of[ti]) > 1:
                name = f"{name} (ch {ch + 1})"
            tid = doc.add_track("midi", name, instrument=Instrument(program, bank, ch))
            first_track_of.setdefault(ti, tid)
            length = max((n.end for n in track_notes), default=0)
            cid = doc.add_midi_clip(tid, 0, length, name)
            doc.add_notes(cid, sorted(track_notes, key=lambda n: (n.start, n.pitch)))
            report.tracks += 1
            report.notes += len(track_notes)
        for ti, messages in sysex.items():
            holder = first_track_of.get(ti) or next(iter(first_track_of.values()), None)
            if holder is None:
                holder = doc.add_track("midi", names.get(ti) or "SysEx")
                first_track_of[ti] = holder
            doc.set_sysex(holder, [*doc.sysex(holder), *messages])
    doc.clear_undo_history()  # an imported song starts with nothing to undo
    return doc, report


# ----- export ----------------------------------------------------------------------

# Order of events at the same tick: note-offs, then sysex, controllers and programs,
# then zero-length notes (each on right before its own off), then note-ons.
_P_OFF, _P_SYSEX, _P_CC, _P_PROGRAM, _P_ZERO, _P_ON = range(6)


Event = tuple[int, int, int, mido.Message | mido.MetaMessage]


def _to_track(events: list[Event]) -> mido.MidiTrack:
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    track = mido.MidiTrack()
    last = 0
    for tick, _, _, msg in events:
        track.append(msg.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def export_midi(document: Document, *, midi_type: int = 1) -> tuple[bytes, ExportReport]:
    """The document's MIDI tracks as a Standard MIDI File (bytes, PPQ 960)."""
    if midi_type not in (0, 1):
        raise MidiFileError(f"can write MIDI file types 0 and 1, not {midi_type}")
    report = ExportReport(midi_type)
    seq = 0

    def ev(tick: int, prio: int, msg: mido.Message | mido.MetaMessage) -> Event:
        nonlocal seq
        seq += 1
        return (tick, prio, seq, msg)

    conductor: list[Event] = []
    if document.title:
        conductor.append(ev(0, _P_SYSEX, mido.MetaMessage("track_name", name=document.title)))
    for ts in document.time_signatures():
        conductor.append(
            ev(
                ts.tick,
                _P_CC,
                mido.MetaMessage(
                    "time_signature", numerator=ts.numerator, denominator=ts.denominator
                ),
            )
        )
    for tc in document.tempo_changes():
        tempo = min(max(round(60_000_000 / tc.bpm), 1), 0xFFFFFF)
        conductor.append(ev(tc.tick, _P_CC, mido.MetaMessage("set_tempo", tempo=tempo)))
    for marker in document.markers().values():
        conductor.append(ev(marker.tick, _P_CC, mido.MetaMessage("marker", text=marker.name)))
    song_key = document.song_key()
    if song_key is not None:
        conductor.append(ev(0, _P_CC, mido.MetaMessage("key_signature",
                                                       key=key_to_midi(song_key))))

    tracks: list[list[Event]] = []
    programs_on_channel: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for track in document.tracks():
        if track.kind != "midi":
            if track.kind == "audio" and document.clips(track.id):
                report.warnings.append(f"audio track '{track.name}' is not part of a MIDI file")
            continue
        out: list[Event] = []
        inst = track.instrument
        if midi_type == 1:
            out.append(ev(0, _P_SYSEX, mido.MetaMessage("track_name", name=track.name)))
        for tick, data in document.sysex(track.id):
            out.append(ev(tick, _P_SYSEX, mido.Message("sysex", data=data)))
        if inst.bank:
            out.append(
                ev(
                    0,
                    _P_CC,
                    mido.Message(
                        "control_change", channel=inst.channel, control=0, value=inst.bank >> 7
                    ),
                )
            )
            out.append(
                ev(
                    0,
                    _P_CC,
                    mido.Message(
                        "control_change", channel=inst.channel, control=32, value=inst.bank & 127
                    ),
                )
            )
        out.append(
            ev(
                0,
                _P_PROGRAM,
                mido.Message("program_change", channel=inst.channel, program=inst.program),
            )
        )
        programs_on_channel[inst.channel].add((inst.program, inst.bank))
        for clip in document.clips(track.id):
            if not isinstance(clip, MidiClip):
                continue
            for note in document.notes(clip.id).values():
                if note.start >= clip.length and clip.length > 0:
                    continue  # silent: after its clip's end
                start = clip.start + note.start
                end = (
                    clip.start + min(note.end, clip.length) if clip.length else start + note.length
                )
                on = mido.Message(
                    "note_on", channel=note.channel, note=note.pitch, velocity=note.velocity
                )
                off = mido.Message("note_on", channel=note.channel, note=note.pitch, velocity=0)
                if end == start:
                    out.append(ev(start, _P_ZERO, on))
                    out.append(ev(end, _P_ZERO, off))
                else:
                    out.append(ev(start, _P_ON, on))
                    out.append(ev(end, _P_OFF, off))
                report.notes += 1
        tracks.append(out)
        report.tracks += 1

    if midi_type == 0:
        clashes = [ch for ch, progs in programs_on_channel.items() if len(progs) > 1]
        if clashes:
            report.warnings.append(
                "type 0 keeps one program per channel; tracks sharing channel(s) "
                f"{', '.join(str(c + 1) for c in sorted(clashes))} now share an instrument"
            )
        merged = conductor + [e for t in tracks for e in t]
        mtrks = [_to_track(merged)]
    else:
        mtrks = [_to_track(conductor)] + [_to_track(t) for t in tracks]
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=PPQ)
    mid.tracks.extend(mtrks)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue(), report
