"""Keys and scales for the piano roll's row shading (pure Python, no Qt).

A scale is a set of semitone steps above its root; a row is "in the scale" when
its pitch class is one of root + step (mod 12). "Chromatic" means no scale: every
row is in, and the roll shades the black-key rows instead, like a keyboard.
"""

from __future__ import annotations

KEY_NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")

CHROMATIC = "Chromatic"
SCALES: dict[str, tuple[int, ...]] = {
    CHROMATIC: tuple(range(12)),
    "Major (Ionian)": (0, 2, 4, 5, 7, 9, 11),
    "Natural minor (Aeolian)": (0, 2, 3, 5, 7, 8, 10),
    "Harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "Melodic minor": (0, 2, 3, 5, 7, 9, 11),
    "Dorian": (0, 2, 3, 5, 7, 9, 10),
    "Phrygian": (0, 1, 3, 5, 7, 8, 10),
    "Lydian": (0, 2, 4, 6, 7, 9, 11),
    "Mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "Locrian": (0, 1, 3, 5, 6, 8, 10),
    "Major pentatonic": (0, 2, 4, 7, 9),
    "Minor pentatonic": (0, 3, 5, 7, 10),
    "Blues": (0, 3, 5, 6, 7, 10),
    "Major blues": (0, 2, 3, 4, 7, 9),
}
BLACK_PITCH_CLASSES = frozenset({1, 3, 6, 8, 10})


def scale_pitch_classes(root: int, scale: str) -> frozenset[int]:
    """The pitch classes (0 = C) of `scale` built on `root` (0-11)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    if not 0 <= root <= 11:
        raise ValueError(f"the key's root must be a pitch class 0-11, got {root!r}")
    return frozenset((root + step) % 12 for step in SCALES[scale])


def in_scale(pitch: int, root: int, scale: str) -> bool:
    return pitch % 12 in scale_pitch_classes(root, scale)


def shaded_rows(root: int, scale: str) -> frozenset[int]:
    """Pitch classes whose rows the roll shades: out of the scale, or black keys
    when no scale is chosen."""
    if scale == CHROMATIC:
        return BLACK_PITCH_CLASSES
    return frozenset(range(12)) - scale_pitch_classes(root, scale)
