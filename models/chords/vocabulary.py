"""The chord vocabulary: 12 roots x 13 qualities plus no-chord, in Harte syntax (MIREX).

Index layout (fixed: models are trained against it): ``root * 13 + quality`` for
roots C=0 .. B=11 and the qualities in QUALITIES order, then N (no chord) = 156.
The bass is kept apart from the index (a separate head predicts it): an inversion is
the chord plus its bass as a semitone interval above the root, written as a Harte
scale degree (``C:maj/3``, ``A:min7/b7``).

Needs nothing beyond the standard library: the desktop and the cloud import it. Tests
check every label against ``mir_eval.chord``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Quality -> chord tones as (semitones above the root, Harte degree). The degree names
# are what a bass note on that tone is called (e.g. the diminished seventh is bb7).
QUALITY_TONES: dict[str, tuple[tuple[int, str], ...]] = {
    "maj": ((0, "1"), (4, "3"), (7, "5")),
    "min": ((0, "1"), (3, "b3"), (7, "5")),
    "7": ((0, "1"), (4, "3"), (7, "5"), (10, "b7")),
    "maj7": ((0, "1"), (4, "3"), (7, "5"), (11, "7")),
    "min7": ((0, "1"), (3, "b3"), (7, "5"), (10, "b7")),
    "dim": ((0, "1"), (3, "b3"), (6, "b5")),
    "aug": ((0, "1"), (4, "3"), (8, "#5")),
    "sus2": ((0, "1"), (2, "2"), (7, "5")),
    "sus4": ((0, "1"), (5, "4"), (7, "5")),
    "hdim7": ((0, "1"), (3, "b3"), (6, "b5"), (10, "b7")),
    "dim7": ((0, "1"), (3, "b3"), (6, "b5"), (9, "bb7")),
    "maj6": ((0, "1"), (4, "3"), (7, "5"), (9, "6")),
    "min6": ((0, "1"), (3, "b3"), (7, "5"), (9, "6")),
}
QUALITIES: tuple[str, ...] = tuple(QUALITY_TONES)
NUM_ROOTS = 12
NUM_QUALITIES = len(QUALITIES)
N_INDEX = NUM_ROOTS * NUM_QUALITIES  # 156
NUM_CLASSES = N_INDEX + 1  # 157
NO_CHORD = "N"

SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# A bass that is not a chord tone (C:maj/b7) gets the usual degree name.
_DEGREE_NAMES = ("1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7")
_NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_DEGREE_SEMITONES = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 11, 8: 12, 9: 14, 10: 17, 11: 17,
                     13: 21}
# Harte shorthands outside our vocabulary that reduce naturally (for reading others' labels).
_ALIASES = {"": "maj", "5": "maj", "1": "maj", "minmaj7": "min7", "9": "7", "maj9": "maj7",
            "min9": "min7", "11": "7", "min11": "min7", "13": "7", "maj13": "maj7",
            "min13": "min7"}
_LABEL_RE = re.compile(r"^([A-G])([b#]*)(?::([A-Za-z0-9]*))?(?:\((.*)\))?(?:/([b#]*\d+))?$")


class ChordLabelError(ValueError):
    """A label that is not Harte syntax, or a chord outside the vocabulary."""


@dataclass(frozen=True, order=True)
class Chord:
    """A chord of the vocabulary. ``root`` -1 is no-chord; ``bass`` is semitones above
    the root (0: root position)."""

    root: int
    quality: str = "maj"
    bass: int = 0

    def __post_init__(self) -> None:
        if self.root == -1:
            if self.quality != "" or self.bass != 0:
                raise ChordLabelError("no-chord has no quality or bass")
            return
        if not 0 <= self.root < NUM_ROOTS:
            raise ChordLabelError(f"root {self.root} is not a pitch class 0..11")
        if self.quality not in QUALITY_TONES:
            raise ChordLabelError(f"quality {self.quality!r} is not in the vocabulary")
        if not 0 <= self.bass < 12:
            raise ChordLabelError(f"bass interval {self.bass} is not 0..11")

    @property
    def is_no_chord(self) -> bool:
        return self.root == -1

    @property
    def intervals(self) -> tuple[int, ...]:
        return tuple(s for s, _ in QUALITY_TONES[self.quality]) if self.root >= 0 else ()

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """Absolute pitch classes of the chord tones, root first."""
        return tuple((self.root + s) % 12 for s in self.intervals)

    @property
    def bass_pc(self) -> int:
        """Pitch class of the bass (-1 for no-chord)."""
        return (self.root + self.bass) % 12 if self.root >= 0 else -1

    @property
    def is_inversion(self) -> bool:
        return self.bass != 0

    @property
    def index(self) -> int:
        if self.root < 0:
            return N_INDEX
        return self.root * NUM_QUALITIES + QUALITIES.index(self.quality)

    def root_position(self) -> Chord:
        return Chord(self.root, self.quality) if self.root >= 0 else self

    def transpose(self, semitones: int) -> Chord:
        if self.root < 0:
            return self
        return Chord((self.root + semitones) % 12, self.quality, self.bass)

    def with_bass_tone(self, tone: int) -> Chord:
        """The inversion with chord tone number ``tone`` (0 root, 1 third, ...) in the bass."""
        return Chord(self.root, self.quality, self.intervals[tone % len(self.intervals)])

    def label(self, flats: bool = False) -> str:
        """Harte label, e.g. ``C#:min7/b3``; ``flats`` spells the root with flats."""
        if self.root < 0:
            return NO_CHORD
        text = f"{(FLAT_NAMES if flats else SHARP_NAMES)[self.root]}:{self.quality}"
        if self.bass:
            text += "/" + bass_degree(self.quality, self.bass)
        return text

    def __str__(self) -> str:
        return self.label()


NO_CHORD_CHORD = Chord(-1, "")


def bass_degree(quality: str, bass: int) -> str:
    """The Harte scale degree of a bass ``bass`` semitones above the root of ``quality``."""
    for s, name in QUALITY_TONES[quality]:
        if s == bass:
            return name
    return _DEGREE_NAMES[bass % 12]


def degree_semitones(degree: str) -> int:
    """Semitones of a Harte scale degree such as ``b3``, ``#5``, ``bb7`` (mod 12)."""
    m = re.fullmatch(r"([b#]*)(\d+)", degree)
    if not m or int(m.group(2)) not in _DEGREE_SEMITONES:
        raise ChordLabelError(f"{degree!r} is not a scale degree")
    shift = m.group(1).count("#") - m.group(1).count("b")
    return (_DEGREE_SEMITONES[int(m.group(2))] + shift) % 12


def root_pc(name: str) -> int:
    m = re.fullmatch(r"([A-G])([b#]*)", name)
    if not m:
        raise ChordLabelError(f"{name!r} is not a note name")
    return (_NATURAL[m.group(1)] + m.group(2).count("#") - m.group(2).count("b")) % 12


def parse(label: str) -> Chord:
    """A Harte label of the vocabulary (``C``, ``Db:min7``, ``G:7/b7``, ``N``; ``X`` is
    refused). Shorthands beyond it reduce (``C:9`` -> ``C:7``, ``C:minmaj7`` -> ``C:min7``);
    labels with an explicit interval list are refused rather than guessed."""
    text = label.strip()
    if text == NO_CHORD:
        return NO_CHORD_CHORD
    m = _LABEL_RE.match(text)
    if not m:
        raise ChordLabelError(f"{label!r} is not a Harte chord label")
    letter, accidentals, quality, extra, bass = m.groups()
    if extra is not None:
        raise ChordLabelError(f"{label!r}: interval lists are not in the vocabulary")
    quality = quality if quality is not None else ""
    quality = _ALIASES.get(quality, quality)
    if quality not in QUALITY_TONES:
        raise ChordLabelError(f"{label!r}: quality {quality!r} is not in the vocabulary")
    root = root_pc(letter + accidentals)
    return Chord(root, quality, degree_semitones(bass) if bass else 0)


def from_index(index: int, bass: int = 0) -> Chord:
    if index == N_INDEX:
        return NO_CHORD_CHORD
    if not 0 <= index < N_INDEX:
        raise ChordLabelError(f"class index {index} is outside 0..{N_INDEX}")
    return Chord(index // NUM_QUALITIES, QUALITIES[index % NUM_QUALITIES], bass)


def transpose_label(label: str, semitones: int, flats: bool = False) -> str:
    return parse(label).transpose(semitones).label(flats)


def all_chords() -> list[Chord]:
    """Every class in index order (root position), N last."""
    return [from_index(i) for i in range(NUM_CLASSES)]


def match_pitch_classes(pcs: set[int] | frozenset[int], bass_pc: int | None = None,
                        min_score: float = 0.6) -> Chord:
    """The vocabulary chord that best explains a set of sounding pitch classes (used to
    label chordified music21 sonorities). Score: chord tones present minus half the
    missing ones and the extra notes, over the chord size; ties prefer the chord
    rooted on the bass, then fewer tones. Below ``min_score``: no-chord."""
    if not pcs:
        return NO_CHORD_CHORD
    best: tuple[float, int, int, int] | None = None
    best_chord = NO_CHORD_CHORD
    for root in range(12):
        for q, tones in QUALITY_TONES.items():
            cpcs = {(root + s) % 12 for s, _ in tones}
            hit = len(cpcs & pcs)
            score = (hit - 0.5 * len(cpcs - pcs) - 0.5 * len(pcs - cpcs)) / len(cpcs)
            key = (score, int(bass_pc == root), -len(cpcs), -QUALITIES.index(q))
            if best is None or key > best:
                best = key
                bass = (bass_pc - root) % 12 if bass_pc is not None and bass_pc in cpcs else 0
                best_chord = Chord(root, q, bass)
    assert best is not None
    return best_chord if best[0] >= min_score else NO_CHORD_CHORD
