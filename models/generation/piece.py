"""One parsed piece on an integer tick grid: melody notes, bars, keys and chords.

Everything downstream (tokens, n-grams, the transformer) starts from this shape, so
the music21 parse runs once and the tokenization can change without re-parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# 24 ticks per quarter note holds 32nd notes (3), sixteenth triplets (2) and eighth
# triplets (4); finer values are rounded to this grid when parsing.
TPQ = 24

# Chord qualities as interval sets above the root; the index is the stored code.
CHORD_QUALITIES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("maj", (0, 4, 7)),
    ("min", (0, 3, 7)),
    ("dim", (0, 3, 6)),
    ("aug", (0, 4, 8)),
    ("7", (0, 4, 7, 10)),
    ("maj7", (0, 4, 7, 11)),
    ("min7", (0, 3, 7, 10)),
    ("hdim7", (0, 3, 6, 10)),
    ("dim7", (0, 3, 6, 9)),
)
QUALITY_NAMES = tuple(name for name, _ in CHORD_QUALITIES)
# Harte quality names that a lead sheet writes otherwise ("min7" is "m7", "hdim7" "m7b5").
_LEAD_SHEET_SUFFIX = {"maj": "", "min": "m", "min7": "m7", "hdim7": "m7b5"}
NO_CHORD = -1  # stored as root -1: a segment with no notes ("N")
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR, MINOR = 0, 1

# Column layouts of the integer arrays.
NOTE_COLS = ("onset", "duration", "pitch", "velocity")
BAR_COLS = ("start", "numerator", "denominator")
KEY_COLS = ("tick", "tonic", "mode")
CHORD_COLS = ("onset", "duration", "root", "quality")


def chord_name(root: int, quality: int) -> str:
    """'C', 'Am', 'G7', 'Gm7', 'Bm7b5', 'Bdim' ... ('N' for no chord): lead-sheet
    names, as a musician reads them; `midi_io.parse_chord` reads them back."""
    if root < 0:
        return "N"
    quality_name = QUALITY_NAMES[quality]
    return PITCH_NAMES[root] + _LEAD_SHEET_SUFFIX.get(quality_name, quality_name)


def bar_ticks(numerator: int, denominator: int) -> int:
    return numerator * 4 * TPQ // denominator


def _empty(cols: int) -> np.ndarray:
    return np.zeros((0, cols), dtype=np.int32)


@dataclass
class Piece:
    """A melody (monophonic, time-sorted) with its bars, keys and chord labels.

    `chord_kind` says where the chords come from: "texture" (all voices of a
    harmonic piece, per beat), "human" (a Roman-numeral analysis), "weak"
    (bar-level guess from the melody alone) or "" (none).
    """

    source: str
    piece_id: str
    title: str = ""
    group: str = ""  # pieces sharing a group (same tune, same chorale) share a split
    notes: np.ndarray = field(default_factory=lambda: _empty(4))
    bars: np.ndarray = field(default_factory=lambda: _empty(3))
    keys: np.ndarray = field(default_factory=lambda: _empty(3))
    chords: np.ndarray = field(default_factory=lambda: _empty(4))
    chord_kind: str = ""
    link: str = ""  # a name tying pieces together before grouping (a BWV number)

    def end_tick(self) -> int:
        """End of the last bar (or of the last note, whichever is later)."""
        end = 0
        if len(self.bars):
            start, num, den = (int(v) for v in self.bars[-1])
            end = start + bar_ticks(num, den)
        if len(self.notes):
            end = max(end, int((self.notes[:, 0] + self.notes[:, 1]).max()))
        return end

    def transposed(self, semitones: int) -> Piece:
        """The same piece `semitones` higher (augmentation at training time)."""
        notes = self.notes.copy()
        notes[:, 2] += semitones
        keys = self.keys.copy()
        keys[:, 1] = (keys[:, 1] + semitones) % 12
        chords = self.chords.copy()
        has_root = chords[:, 2] >= 0
        chords[has_root, 2] = (chords[has_root, 2] + semitones) % 12
        return Piece(self.source, self.piece_id, self.title, self.group, notes,
                     self.bars.copy(), keys, chords, self.chord_kind, self.link)
