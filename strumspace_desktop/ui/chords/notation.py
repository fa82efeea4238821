"""Chord names as the musician chose to read them (Qt-free): the notation style
(C / Cmaj7 / C△7), sharps or flats (by the song's key, or forced) and a capo fret,
from the app's `ChordSettings`. The live chord display and the chord lane both name
chords through a `ChordNamer`, so they always agree.

With a capo the names become the shapes to finger (a sounding C with capo 3 is an A
shape): `shape()` gives the shape, `name()` the sounding chord, `lane_text()` both.
Labels the recognizer's vocabulary does not know (a hand-typed "C:9") fall back to
the chord lane's own reading, so nothing is ever hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.chords.formats import FormatError, capo_label, chord_name
from models.chords.key_tempo import prefers_flats
from models.chords.vocabulary import ChordLabelError, parse
from strumspace_desktop.core.settings import ChordSettings
from strumspace_desktop.ui.arrange.chord_names import display_label

STYLE_CHOICES = (("simple", "C, Am (triads)"), ("standard", "Cmaj7, Am7"),
                 ("jazz", "C△7, A−7"))
ACCIDENTAL_CHOICES = (("auto", "By the song's key"), ("sharps", "Sharps (C#, F#)"),
                      ("flats", "Flats (Db, Gb)"))
MODES = ("major", "minor")
SongKey = tuple[int, str]  # (tonic pitch class, "major" | "minor")


def key_text(key: SongKey | None) -> str:
    if key is None:
        return "no key set"
    tonic, mode = key
    spelled = chord_name(f"{_root_label(tonic)}:maj", "simple", prefers_flats(tonic, mode))
    return f"{spelled} {mode}"


def _root_label(pc: int) -> str:
    return ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")[pc % 12]


@dataclass(frozen=True)
class ChordNamer:
    style: str = "standard"
    accidentals: str = "auto"
    capo: int = 0
    key: SongKey | None = None  # the song's key, for "auto" spelling

    @classmethod
    def from_settings(cls, settings: ChordSettings, key: SongKey | None = None) -> ChordNamer:
        return cls(settings.style, settings.accidentals, settings.capo, key)

    def _flats(self, root: int, minor: bool, shift: int = 0) -> bool:
        if self.accidentals != "auto":
            return self.accidentals == "flats"
        if self.key is not None:  # the key signature's spelling (moved with the capo)
            return prefers_flats((self.key[0] - shift) % 12, self.key[1])
        # No key: each chord spelled as its own key would be (Bb, Eb, F#m, C#m).
        return prefers_flats((root - shift) % 12, "minor" if minor else "major")

    def prefers_flats(self, shift: int = 0) -> bool:
        """One spelling for a whole text (a chord chart): forced, or the key's (moved
        down `shift` semitones: the key a capo's shapes are in)."""
        if self.accidentals != "auto":
            return self.accidentals == "flats"
        return self.key is not None and prefers_flats((self.key[0] - shift) % 12, self.key[1])

    def name(self, label: str) -> str:
        """The sounding chord's name ("N.C." for no chord)."""
        try:
            chord = parse(label)
            if chord.is_no_chord:
                return "N.C."
            minor = chord.quality.startswith("min") or chord.quality in ("dim", "hdim7", "dim7")
            return chord_name(chord, self.style, self._flats(chord.root, minor))
        except (ChordLabelError, FormatError, ValueError):
            return display_label(label)

    def shape(self, label: str) -> str | None:
        """With a capo: the shape to finger for this sounding chord; else None."""
        fret = self.capo % 12
        if not self.capo:
            return None
        try:
            chord = parse(label)
            if chord.is_no_chord:
                return None
            minor = chord.quality.startswith("min") or chord.quality in ("dim", "hdim7", "dim7")
            flats = self._flats(chord.root, minor, fret)
            return chord_name(capo_label(label, fret, flats), self.style, flats)
        except (ChordLabelError, FormatError, ValueError):
            return None

    def lane_text(self, label: str) -> str:
        """What a chord-lane item shows: the name, or with a capo "shape (sounding)"."""
        shape = self.shape(label)
        return self.name(label) if shape is None else f"{shape} ({self.name(label)})"
