"""Harte chord labels (the document's syntax, e.g. "C:maj7", "A:min/b3") shown the
way musicians write them ("Cmaj7", "Am/C"), and read back from either form.

Qt-free; only the shorthands musicians meet are mapped, anything else is shown as
root plus its Harte quality so nothing is hidden.
"""

from __future__ import annotations

import re

_NOTE_PCS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_DEGREES = {"1": 0, "2": 2, "3": 4, "4": 5, "5": 7, "6": 9, "7": 11, "9": 14, "11": 17,
            "13": 21}
# Harte shorthand -> readable suffix.
_SUFFIX = {
    "maj": "", "min": "m", "dim": "dim", "aug": "aug", "maj7": "maj7", "min7": "m7",
    "7": "7", "dim7": "dim7", "hdim7": "m7b5", "minmaj7": "m(maj7)", "maj6": "6",
    "min6": "m6", "9": "9", "maj9": "maj9", "min9": "m9", "sus2": "sus2", "sus4": "sus4",
    "11": "11", "min11": "m11", "13": "13", "maj13": "maj13", "min13": "m13", "5": "5",
    "1": "(no 3rd)",
}
_QUALITY = {v: k for k, v in _SUFFIX.items()}
_QUALITY.update({"M7": "maj7", "min": "min", "-": "min", "-7": "min7", "ø": "hdim7",
                 "ø7": "hdim7", "°": "dim", "°7": "dim7", "+": "aug", "sus": "sus4",
                 "maj": "maj", "M": "maj", "mM7": "minmaj7", "m(maj7)": "minmaj7"})
_ROOT = re.compile(r"^([A-Ga-g])([#b]*)")


def _pc(root: str) -> int | None:
    m = _ROOT.match(root)
    if m is None or m.end() != len(root):
        return None
    pc = _NOTE_PCS[m.group(1).upper()]
    for acc in m.group(2):
        pc += 1 if acc == "#" else -1
    return pc % 12


def _interval(degree: str) -> int | None:
    m = re.fullmatch(r"([#b]*)(\d+)", degree)
    if m is None or m.group(2) not in _DEGREES:
        return None
    return _DEGREES[m.group(2)] + sum(1 if a == "#" else -1 for a in m.group(1))


def _name(pc: int, flats: bool) -> str:
    return (_FLAT_NAMES if flats else _SHARP_NAMES)[pc % 12]


def display_label(harte: str) -> str:
    """"C:maj7" -> "Cmaj7", "A:min/b3" -> "Am/C", "N" -> "N.C." (no chord)."""
    label = harte.strip()
    if label == "N":
        return "N.C."
    if label == "X":
        return "?"
    root, _, rest = label.partition(":")
    quality, _, bass = (rest or "maj").partition("/")
    pc = _pc(root)
    if pc is None:
        return label
    flats = "b" in root[1:] or pc == 5
    suffix = _SUFFIX.get(quality, quality if quality.startswith("(") else f"({quality})")
    text = root[0].upper() + root[1:] + suffix
    if bass:
        iv = _interval(bass)
        text += "/" + (_name(pc + iv, flats) if iv is not None else bass)
    return text


def parse_label(text: str) -> str | None:
    """A Harte label from what the musician typed ("Cmaj7", "Am/C" or "C:maj7");
    None when it is not a chord this reads."""
    s = text.strip().replace("♯", "#").replace("♭", "b")
    if s in ("N", "N.C.", "NC", "n.c."):
        return "N"
    if ":" in s:
        root, _, rest = s.partition(":")
        quality = rest.partition("/")[0]
        if _pc(root) is None or (quality and quality not in _SUFFIX):
            return None
        return s
    m = _ROOT.match(s)
    if m is None:
        return None
    root = m.group(1).upper() + m.group(2)
    rest = s[m.end():]
    main, slash, bass = rest.partition("/")
    if main not in _QUALITY:
        return None
    label = f"{root}:{_QUALITY[main]}"
    if slash:
        bass_pc, root_pc = _pc(bass), _pc(root)
        if bass_pc is None or root_pc is None:
            return None
        label += "/" + _bass_degree((bass_pc - root_pc) % 12)
    return label


def _bass_degree(semitones: int) -> str:
    return {0: "1", 1: "b2", 2: "2", 3: "b3", 4: "3", 5: "4", 6: "b5", 7: "5", 8: "b6",
            9: "6", 10: "b7", 11: "7"}[semitones]


def bass_pitch_class(harte: str) -> int:
    """The bass's pitch class for ChordItem.bass (-1 when there is no chord)."""
    root, _, rest = harte.partition(":")
    pc = _pc(root)
    if pc is None:
        return -1
    bass = rest.partition("/")[2]
    iv = _interval(bass) if bass else 0
    return (pc + (iv or 0)) % 12
