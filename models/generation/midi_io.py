"""Pieces in and out: MIDI files (mido), chord strings ("C G Am F"), note tuples.

MIDI files written here (`write_midi`), type 1 by default:

* track 0 "Conductor": tempo, a time signature at every meter change, a key signature
  at every key, and a **marker** event with the chord symbol ("Am", "G7", "Bm7b5")
  at every chord change;
* track 1 "Melody": the notes, channel 1 (index 0);
* track 2 "Chords": the chords as block chords (root in the octave from C3, the other
  tones above it), channel 2, velocity 64, so that a plain MIDI player plays them.

Type 0 puts the conductor events and the melody in one track and writes the chords
as markers only (block chords on another channel would read back as melody). Reading
(`load_midi`) takes the chord symbols from marker/text events (any that parse as a
chord: a section marker "A" or "B" reads as a chord too) and ignores the notes of a
track named "Chords", so a file written here reads back to the same piece; the
melody is every other non-drum note, reduced to its top line (the model writes one
line) and moved by octaves into the vocabulary's pitch
range, on a grid of 24 ticks per quarter (durations quantized down to the vocabulary,
velocities to its 8 bins). What had to change is said in `LoadedMidi.messages`.

Chord strings (`parse_chords`): one chord per bar separated by spaces or commas
("C G Am F", "C:maj G:7 A:min F:maj7"), or bars separated by "|" with several chords
sharing a bar evenly ("C | G D | Am | F"); "N" is no chord, "%" or "-" repeats the
previous one. Accepted qualities: maj (""/M/maj), min (m/min/-), dim (o, °), aug (+),
7, maj7 (M7, Δ), min7 (m7, -7), hdim7 (m7b5, ø), dim7 (o7, °7) and, approximated to
those nine: 6 and add9 -> maj, m6 -> min, 9/11/13 -> 7, maj9 -> maj7, m9/m11 -> min7,
sus2/sus4 -> maj. A slash bass ("C/E") is dropped.

Note tuples for the desktop document (`to_note_tuples`, `from_note_tuples`): plain
(start_tick, duration, pitch, velocity) at a stated ticks-per-quarter (the desktop's
PPQ is 960), so models/ never imports the app.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mido
import numpy as np

from models.generation import tokens
from models.generation.extract import monophonic
from models.generation.piece import (
    CHORD_QUALITIES,
    MAJOR,
    MINOR,
    QUALITY_NAMES,
    TPQ,
    Piece,
    bar_ticks,
    chord_name,
)

DESKTOP_PPQ = 960
DEFAULT_PPQ = 480  # a multiple of 24: our grid maps exactly
CHORD_TRACK_NAME = "Chords"
MELODY_CHANNEL, CHORD_CHANNEL, DRUM_CHANNEL = 0, 1, 9


class ChordParseError(ValueError):
    """A chord symbol or chord string we cannot read (the message names it)."""


class MidiFileError(ValueError):
    """A MIDI file that cannot be read (missing, damaged, not MIDI)."""


# ---------------------------------------------------------------- chord symbols

_ROOTS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
_Q = {name: i for i, name in enumerate(QUALITY_NAMES)}
_QUALITY_ALIASES: dict[str, int] = {
    "": _Q["maj"], "maj": _Q["maj"], "M": _Q["maj"], "major": _Q["maj"],
    "6": _Q["maj"], "maj6": _Q["maj"], "add9": _Q["maj"], "sus2": _Q["maj"],
    "sus4": _Q["maj"], "sus": _Q["maj"], "5": _Q["maj"],
    "m": _Q["min"], "min": _Q["min"], "-": _Q["min"], "minor": _Q["min"], "m6": _Q["min"],
    "min6": _Q["min"],
    "dim": _Q["dim"], "o": _Q["dim"], "°": _Q["dim"],
    "aug": _Q["aug"], "+": _Q["aug"],
    "7": _Q["7"], "dom7": _Q["7"], "9": _Q["7"], "11": _Q["7"], "13": _Q["7"],
    "7sus4": _Q["7"],
    "maj7": _Q["maj7"], "M7": _Q["maj7"], "Δ": _Q["maj7"], "Δ7": _Q["maj7"],
    "maj9": _Q["maj7"],
    "m7": _Q["min7"], "min7": _Q["min7"], "-7": _Q["min7"], "m9": _Q["min7"],
    "min9": _Q["min7"], "m11": _Q["min7"],
    "hdim7": _Q["hdim7"], "hdim": _Q["hdim7"], "m7b5": _Q["hdim7"], "min7b5": _Q["hdim7"],
    "ø": _Q["hdim7"], "ø7": _Q["hdim7"], "-7b5": _Q["hdim7"],
    "dim7": _Q["dim7"], "o7": _Q["dim7"], "°7": _Q["dim7"],
}
_ROOT_RE = re.compile(r"^([A-Ga-g])([#b♯♭]?)(.*)$")


def parse_pitch_class(name: str) -> int:
    """'C' -> 0, 'F#' -> 6, 'Bb' -> 10, 'Cb' -> 11 (ChordParseError otherwise)."""
    m = _ROOT_RE.match(name.strip())
    if not m or m.group(3):
        raise ChordParseError(f"{name!r} is not a note name (C, C#, Db, ... B)")
    return (_ROOTS[m.group(1).upper()] + _ACCIDENTALS[m.group(2)]) % 12


def parse_chord(label: str) -> tuple[int, int] | None:
    """(root, quality index) of a chord symbol ("Am", "G:7", "Bbmaj7", "F#m7b5",
    "C/E"); None for "N" (no chord)."""
    text = label.strip()
    if text.upper() in ("N", "NC", "N.C."):
        return None
    m = _ROOT_RE.match(text)
    if not m:
        raise ChordParseError(f"cannot read the chord {label!r}: it must start with a "
                              "note name (C, C#, Db, ... B)")
    root = (_ROOTS[m.group(1).upper()] + _ACCIDENTALS[m.group(2)]) % 12
    rest = m.group(3).split("/")[0].lstrip(":")
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1]
    quality = _QUALITY_ALIASES.get(rest)
    if quality is None:
        quality = _QUALITY_ALIASES.get(rest.lower())
    if quality is None:
        known = "maj, m, dim, aug, 7, maj7, m7, m7b5 (hdim7), dim7"
        raise ChordParseError(f"cannot read the chord {label!r}: unknown quality "
                              f"{rest!r} (known: {known})")
    return root, quality


def chord_label(root: int, quality: int) -> str:
    """The short symbol written to files and returned to callers ("C", "Am", "G7")."""
    return chord_name(root, quality)


def parse_chords(text: str, time_signature: tuple[int, int] = (4, 4)) -> np.ndarray:
    """Chord rows (onset, duration, root, quality) on our tick grid from a chord string
    (see the module docstring). ChordParseError for an empty or unreadable string."""
    bar = bar_ticks(*time_signature)
    if "|" in text:
        bars_text = [b.strip() for b in text.strip().strip("|").split("|")]
    else:
        bars_text = [b for b in re.split(r"[\s,]+", text.strip()) if b]
    if not bars_text or not any(bars_text):
        raise ChordParseError("the chord string is empty (write e.g. \"C G Am F\")")
    rows: list[list[int]] = []
    previous: tuple[int, int] | None = None
    have_previous = False
    for b, content in enumerate(bars_text):
        symbols = [s for s in re.split(r"[\s,]+", content) if s] or ["%"]
        for i, sym in enumerate(symbols):
            onset = b * bar + bar * i // len(symbols)
            end = b * bar + bar * (i + 1) // len(symbols)
            if sym in ("%", "-", "/"):
                if not have_previous:
                    raise ChordParseError(f"{sym!r} repeats the previous chord, but "
                                          "there is none before it")
                chord = previous
            else:
                chord = parse_chord(sym)
            previous, have_previous = chord, True
            if chord is not None:
                rows.append([onset, end - onset, chord[0], chord[1]])
    return np.array(rows, dtype=np.int32).reshape(-1, 4)


def chords_to_string(chords: np.ndarray, bars: np.ndarray | None = None,
                     time_signature: tuple[int, int] = (4, 4)) -> str:
    """Bars separated by "|" ("C | G D | Am | F"): the inverse of `parse_chords` for
    chords on even subdivisions of the bar."""
    if not len(chords):
        return ""
    bar = bar_ticks(*time_signature)
    n_bars = int(np.ceil((chords[:, 0] + chords[:, 1]).max() / bar))
    out = []
    for b in range(n_bars):
        inside = chords[(chords[:, 0] >= b * bar) & (chords[:, 0] < (b + 1) * bar)]
        out.append(" ".join(chord_label(int(r), int(q)) for _, _, r, q in inside) or "%")
    return " | ".join(out)


# ---------------------------------------------------------------- MIDI files


@dataclass
class LoadedMidi:
    piece: Piece
    tempo_bpm: float = 120.0
    messages: list[str] = field(default_factory=list)


def _key_from_meta(key: str) -> tuple[int, int]:
    mode = MINOR if key.endswith("m") else MAJOR
    return parse_pitch_class(key[:-1] if mode == MINOR else key), mode


def _key_to_meta(tonic: int, mode: int) -> str:
    names = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B") if mode == MAJOR \
        else ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
    return names[tonic] + ("m" if mode == MINOR else "")


def _bars_for(meters: list[tuple[int, int, int]], end: int) -> np.ndarray:
    """Bars from tick 0 to `end` (at least one), a meter change taking effect at the
    first bar line at or after it."""
    rows: list[tuple[int, int, int]] = []
    t, (num, den) = 0, meters[0][1:]
    i = 1
    while t < end or not rows:
        while i < len(meters) and meters[i][0] <= t:
            num, den = meters[i][1:]
            i += 1
        rows.append((t, num, den))
        t += bar_ticks(num, den)
    return np.array(rows, dtype=np.int32)


def load_midi(path: str | Path) -> LoadedMidi:
    """A MIDI file as a Piece (module docstring), with what had to change."""
    path = Path(path)
    try:
        mid = mido.MidiFile(str(path), clip=True)
    except FileNotFoundError as exc:
        raise MidiFileError(f"{path}: no such file") from exc
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise MidiFileError(f"{path} is not a readable MIDI file ({exc})") from exc
    if mid.type == 2:
        raise MidiFileError(f"{path}: MIDI type 2 (independent sequences) is not supported")
    tpb = mid.ticks_per_beat
    if not tpb or tpb <= 0:
        raise MidiFileError(f"{path}: no ticks-per-quarter in the header (SMPTE timing "
                            "is not supported)")
    messages: list[str] = []
    tempo: float | None = None
    meters: list[tuple[int, int, int]] = []
    keys: list[tuple[int, int, int]] = []
    chords: list[tuple[int, tuple[int, int] | None]] = []
    raw: list[tuple[int, int, int, int]] = []  # onset, duration, pitch, velocity
    for track in mid.tracks:
        is_chord_track = (track.name or "").strip().lower() == CHORD_TRACK_NAME.lower()
        now = 0
        sounding: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for msg in track:
            now += msg.time
            t = round(now * TPQ / tpb)
            if msg.type == "set_tempo" and tempo is None:
                tempo = mido.tempo2bpm(msg.tempo)
            elif msg.type == "time_signature":
                meters.append((t, msg.numerator, msg.denominator))
            elif msg.type == "key_signature":
                with contextlib.suppress(ChordParseError):
                    keys.append((t, *_key_from_meta(msg.key)))
            elif msg.type in ("marker", "text", "cue_marker"):
                with contextlib.suppress(ChordParseError):  # ordinary text otherwise
                    chords.append((t, parse_chord(msg.text)))
            elif msg.type in ("note_on", "note_off") and not is_chord_track \
                    and msg.channel != DRUM_CHANNEL:
                k = (msg.channel, msg.note)
                if msg.type == "note_on" and msg.velocity > 0:
                    sounding.setdefault(k, []).append((t, msg.velocity))
                elif sounding.get(k):
                    start, vel = sounding[k].pop(0)
                    raw.append((start, t - start, msg.note, vel))
        for (_, pitch), starts in sounding.items():
            for start, vel in starts:  # never released: end at the track's end
                raw.append((start, max(1, round(now * TPQ / tpb) - start), pitch, vel))
    notes = np.array(raw, dtype=np.int64).reshape(-1, 4)
    notes[:, 1] = np.maximum(notes[:, 1], 1)
    return LoadedMidi(_assemble(notes, meters, keys, chords, messages, path.stem),
                      tempo or 120.0, messages)


def _assemble(notes: np.ndarray, meters: list[tuple[int, int, int]],
              keys: list[tuple[int, int, int]],
              chords: list[tuple[int, tuple[int, int] | None]], messages: list[str],
              name: str) -> Piece:
    """A Piece on our grid from notes (any pitches, durations, velocities) and metas."""
    meters = sorted({m[0]: m for m in meters}.values()) or [(0, 4, 4)]
    fixed: list[tuple[int, int, int]] = []
    for t, num, den in meters:
        if (num, den) not in tokens.TIME_SIGNATURES:
            prev = fixed[-1][1:] if fixed else (4, 4)
            messages.append(f"time signature {num}/{den} is not supported: "
                            f"{prev[0]}/{prev[1]} used instead")
            num, den = prev
        fixed.append((t, num, den))
    if fixed[0][0] > 0:
        fixed.insert(0, (0, *fixed[0][1:]))
    if len(notes):
        mono = monophonic(notes.astype(np.int64))
        if len(mono) < len(notes):
            messages.append(f"{len(notes) - len(mono)} notes sounding with others were "
                            "dropped: the model writes one line (the top note is kept)")
        notes = mono
        lo, hi = tokens.PITCH_RANGE
        pitch = notes[:, 2].copy()
        moved = (pitch < lo) | (pitch > hi)
        while (pitch < lo).any():
            pitch[pitch < lo] += 12
        while (pitch > hi).any():
            pitch[pitch > hi] -= 12
        if moved.any():
            messages.append(f"{int(moved.sum())} notes outside {lo}..{hi} moved by octaves")
        notes[:, 2] = pitch
        notes[:, 1] = tokens.quantize_duration(np.maximum(notes[:, 1], 1))
        notes[:, 3] = tokens.quantize_velocity(notes[:, 3])
        notes = notes[notes[:, 0] >= 0]
    notes = notes.astype(np.int32).reshape(-1, 4)
    end = int((notes[:, 0] + notes[:, 1]).max()) if len(notes) else 0
    chord_rows: list[list[int]] = []
    chords = sorted(chords, key=lambda c: c[0])
    if chords:
        end = max(end, chords[-1][0] + 1)
    bars = _bars_for(fixed, end)
    bar_end = int(bars[-1, 0]) + bar_ticks(int(bars[-1, 1]), int(bars[-1, 2]))
    for i, (t, chord) in enumerate(chords):
        stop = chords[i + 1][0] if i + 1 < len(chords) else bar_end
        if chord is not None and stop > t:
            chord_rows.append([t, stop - t, chord[0], chord[1]])
    key_rows = sorted({k[0]: k for k in keys}.values())
    piece = Piece("midi", name, title=name, notes=notes, bars=bars,
                  keys=np.array(key_rows, dtype=np.int32).reshape(-1, 3),
                  chords=np.array(chord_rows, dtype=np.int32).reshape(-1, 4),
                  chord_kind="human" if chord_rows else "")
    return piece


def read_midi(path: str | Path) -> Piece:
    return load_midi(path).piece


def _chord_pitches(root: int, quality: int) -> list[int]:
    base = 48 + root  # C3 = 48
    return [base + iv for iv in CHORD_QUALITIES[quality][1]]


def write_midi(piece: Piece, path: str | Path, *, tempo_bpm: float = 120.0,
               ppq: int = DEFAULT_PPQ, midi_type: int = 1, chord_track: bool = True,
               chord_markers: bool = True, program: int = 0) -> None:
    """Write a piece as a standard MIDI file (module docstring)."""
    if midi_type not in (0, 1):
        raise ValueError("midi_type must be 0 or 1")
    if not 0 < tempo_bpm <= 1000:
        raise ValueError(f"tempo {tempo_bpm} BPM is out of range")

    def tick(t: int) -> int:
        return int(t) * ppq // TPQ

    meta: list[tuple[int, int, Any]] = [(0, 0, mido.MetaMessage("set_tempo",
                                                                 tempo=mido.bpm2tempo(tempo_bpm)))]
    prev = None
    for start, num, den in piece.bars.tolist() or [[0, 4, 4]]:
        if (num, den) != prev:
            meta.append((tick(start), 0, mido.MetaMessage("time_signature", numerator=num,
                                                          denominator=den)))
            prev = (num, den)
    for t, tonic, mode in piece.keys.tolist():
        meta.append((tick(t), 0, mido.MetaMessage("key_signature", key=_key_to_meta(tonic, mode))))
    if chord_markers:
        for onset, _, root, q in piece.chords.tolist():
            meta.append((tick(onset), 0, mido.MetaMessage("marker", text=chord_label(root, q))))
    melody: list[tuple[int, int, Any]] = [
        (0, 0, mido.Message("program_change", channel=MELODY_CHANNEL, program=program))]
    for onset, dur, pitch, vel in piece.notes.tolist():
        melody.append((tick(onset), 1, mido.Message("note_on", channel=MELODY_CHANNEL,
                                                    note=pitch, velocity=max(1, min(127, vel)))))
        melody.append((tick(onset + dur), 0, mido.Message("note_off", channel=MELODY_CHANNEL,
                                                          note=pitch, velocity=0)))
    block: list[tuple[int, int, Any]] = []
    if chord_track and len(piece.chords):
        block.append((0, 0, mido.Message("program_change", channel=CHORD_CHANNEL,
                                         program=program)))
        for onset, dur, root, q in piece.chords.tolist():
            for p in _chord_pitches(root, q):
                block.append((tick(onset), 1, mido.Message("note_on", channel=CHORD_CHANNEL,
                                                           note=p, velocity=64)))
                block.append((tick(onset + dur), 0, mido.Message(
                    "note_off", channel=CHORD_CHANNEL, note=p, velocity=0)))

    def track(name: str, events: list[tuple[int, int, Any]]) -> mido.MidiTrack:
        tr = mido.MidiTrack()
        tr.append(mido.MetaMessage("track_name", name=name))
        now = 0
        # note-offs (order 0) before note-ons (order 1) at the same tick
        for t, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            tr.append(msg.copy(time=t - now))
            now = t
        tr.append(mido.MetaMessage("end_of_track", time=0))
        return tr

    mid = mido.MidiFile(type=midi_type, ticks_per_beat=ppq)
    if midi_type == 1:
        mid.tracks.append(track("Conductor", meta))
        mid.tracks.append(track("Melody", melody))
        if block:
            mid.tracks.append(track(CHORD_TRACK_NAME, block))
    else:
        mid.tracks.append(track(piece.title or "StrumSpace", meta + melody))
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    mid.save(str(tmp))
    tmp.replace(path)


# ---------------------------------------------------------------- desktop note tuples


def to_note_tuples(piece: Piece, ppq: int = DESKTOP_PPQ) -> list[tuple[int, int, int, int]]:
    """(start_tick, duration, pitch, velocity) at `ppq` ticks per quarter (the desktop
    document's PPQ is 960)."""
    return [(o * ppq // TPQ, max(1, d * ppq // TPQ), p, v)
            for o, d, p, v in piece.notes.tolist()]


def to_chord_tuples(piece: Piece, ppq: int = DESKTOP_PPQ) -> list[tuple[int, int, str]]:
    """(start_tick, duration, label) at `ppq` ticks per quarter."""
    return [(o * ppq // TPQ, d * ppq // TPQ, chord_label(r, q))
            for o, d, r, q in piece.chords.tolist()]


def from_note_tuples(notes: list[tuple[int, int, int, int]] | np.ndarray,
                     ppq: int = DESKTOP_PPQ, time_signature: tuple[int, int] = (4, 4),
                     key: tuple[int, int] | None = None,
                     chords: list[tuple[int, str]] | None = None,
                     messages: list[str] | None = None) -> Piece:
    """A Piece from (start_tick, duration, pitch, velocity) tuples at `ppq` ticks per
    quarter (rounded to our 24-tick grid), with optional key (tonic, MAJOR/MINOR) and
    chord changes (start_tick, label). What had to change goes to `messages`."""
    if ppq <= 0:
        raise ValueError("ppq must be positive")
    arr = np.array(notes, dtype=np.int64).reshape(-1, 4)
    if len(arr) and ((arr[:, 1] < 0).any() or (arr[:, 2] < 0).any() or (arr[:, 2] > 127).any()):
        raise ValueError("note tuples must be (start_tick, duration >= 0, pitch 0..127, "
                         "velocity)")
    grid = arr.copy()
    grid[:, 0] = np.rint(arr[:, 0] * TPQ / ppq)
    grid[:, 1] = np.maximum(np.rint(arr[:, 1] * TPQ / ppq), 1)
    chord_events = [(round(t * TPQ / ppq), parse_chord(label)) for t, label in (chords or [])]
    msgs = messages if messages is not None else []
    piece = _assemble(grid, [(0, *time_signature)],
                      [(0, *key)] if key is not None else [], chord_events, msgs, "clip")
    return piece
