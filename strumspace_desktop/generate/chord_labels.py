"""Chord names between the chord track (Harte: "A:min7") and the generator ("Am7").

The generator knows nine qualities (`models.generation.piece.CHORD_QUALITIES`); the
chord track may hold more (sus, sixths, inversions from the recognizer): those reduce
to the nearest of the nine (sus and sixths to their triad, the bass is dropped).
"""

from __future__ import annotations

import re

from models.chords import vocabulary as harte
from models.generation.piece import CHORD_QUALITIES, PITCH_NAMES, chord_name

QUALITY_NAMES = tuple(name for name, _ in CHORD_QUALITIES)
_REDUCE = {"sus2": "maj", "sus4": "maj", "maj6": "maj", "min6": "min"}
# Short names: "" major, "m" minor, the rest as the generator writes them ("G7", "Bdim").
_SHORT_SUFFIX = {"": "maj", "M": "maj", "maj": "maj", "m": "min", "min": "min", "-": "min",
                 "dim": "dim", "o": "dim", "aug": "aug", "+": "aug", "7": "7", "dom7": "7",
                 "maj7": "maj7", "M7": "maj7", "m7": "min7", "min7": "min7", "-7": "min7",
                 "hdim7": "hdim7", "m7b5": "hdim7", "ø": "hdim7", "dim7": "dim7", "o7": "dim7",
                 "sus2": "maj", "sus4": "maj", "sus": "maj", "6": "maj", "m6": "min",
                 "9": "7", "maj9": "maj7", "m9": "min7", "5": "maj"}
_SHORT_RE = re.compile(r"^([A-Ga-g])([#b]?)(.*?)(?:/([A-Ga-g][#b]?))?$")
_NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class ChordNameError(ValueError):
    """A chord name neither syntax understands."""


def from_harte(label: str) -> tuple[int, int] | None:
    """(root, quality index) of a Harte label; None for "N" (no chord)."""
    try:
        chord = harte.parse(label)
    except harte.ChordLabelError as exc:
        raise ChordNameError(str(exc)) from exc
    if chord.is_no_chord:
        return None
    return chord.root, QUALITY_NAMES.index(_REDUCE.get(chord.quality, chord.quality))


def from_short(name: str) -> tuple[int, int] | None:
    """(root, quality index) of "C", "F#m", "Bb7", "Am7", "Bdim", "G/B" ...; None for "N"."""
    text = name.strip()
    if text in ("N", "NC", "N.C."):
        return None
    m = _SHORT_RE.match(text)
    if not m or m.group(3) not in _SHORT_SUFFIX:
        raise ChordNameError(f"{name!r} is not a chord name (try C, Am, G7, F#m7, Bdim)")
    letter, accidental, suffix = m.group(1).upper(), m.group(2), m.group(3)
    root = (_NATURAL[letter] + (accidental == "#") - (accidental == "b")) % 12
    return root, QUALITY_NAMES.index(_SHORT_SUFFIX[suffix])


def parse_any(name: str) -> tuple[int, int] | None:
    """Harte when it has a colon ("A:min"), the short form otherwise."""
    return from_harte(name) if ":" in name else from_short(name)


def short_name(root: int, quality: int) -> str:
    """'Am', 'G7', 'C', 'Bm7b5' (what the generator reads and writes)."""
    return chord_name(root, quality)


def harte_name(root: int, quality: int) -> str:
    return f"{PITCH_NAMES[root]}:{QUALITY_NAMES[quality]}"


def to_harte(name: str) -> str:
    """Any accepted chord name as the chord track's Harte label ("N" for no chord)."""
    parsed = parse_any(name)
    return "N" if parsed is None else harte_name(*parsed)
