"""Chord progressions: style templates in Roman numerals, random walks over the
vocabulary, and harmonies of music21 pieces (chordified).

A progression is a list of ChordSpans in beats; the performance renderer turns it into
notes at some tempo. Everything random takes a ``numpy.random.Generator`` so a seed
reproduces it exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.chords.vocabulary import (
    NO_CHORD_CHORD,
    QUALITIES,
    QUALITY_TONES,
    Chord,
)


@dataclass(frozen=True)
class ChordSpan:
    chord: Chord
    beats: float


@dataclass
class Progression:
    spans: list[ChordSpan]
    beats_per_bar: int = 4
    source: str = ""  # e.g. "template:pop/axis", "walk", "music21:bach/bwv269.mxl"
    info: dict[str, object] = field(default_factory=dict)

    @property
    def total_beats(self) -> float:
        return sum(s.beats for s in self.spans)

    def transpose(self, semitones: int) -> Progression:
        return Progression([ChordSpan(s.chord.transpose(semitones), s.beats) for s in self.spans],
                           self.beats_per_bar, self.source, dict(self.info))

    def labels(self) -> list[str]:
        return [s.chord.label() for s in self.spans]


# Roman numerals relative to the major scale of the tonic; a 'b' or '#' prefix alters
# the degree. Token: NUMERAL[:quality][/bass degree][@beats]; quality defaults to maj
# for upper-case and min for lower-case numerals; beats default to one bar.
TEMPLATES: dict[str, dict[str, str]] = {
    "pop": {
        "axis": "I V vi IV",
        "axis_minor_start": "vi IV I V",
        "doo_wop": "I vi IV V",
        "pop_sus": "I V:sus4@2 V@2 vi IV",
        "pop_add6": "I:maj6 IV V vi",
        "pop_inversions": "I V/3 vi I/5 IV I/3 ii V",
        "pop_sus2": "I:sus2 IV:sus2 vi V",
        "royal_road": "IV:maj7 V:7 iii:min7 vi",
    },
    "rock": {
        "mixolydian": "I bVII IV I",
        "three_chord": "I IV V IV",
        "aeolian": "vi IV V vi",
        "minor_rock": "i bVI bIII bVII",
        "blues12": "I:7 IV:7 I:7 I:7 IV:7 IV:7 I:7 I:7 V:7 IV:7 I:7 V:7",
        "andalusian": "i bVII bVI V",
        "plagal_sus": "I IV:sus2 I:sus4@2 I@2 V",
    },
    "jazz": {
        "ii_V_I": "ii:min7 V:7 I:maj7 I:maj6",
        "turnaround": "I:maj7@2 vi:min7@2 ii:min7@2 V:7@2",
        "iii_vi_ii_V": "iii:min7 vi:7 ii:min7 V:7",
        "minor_ii_V": "ii:hdim7 V:7 i:min6 i:min7",
        "passing_dim": "I:maj7 #i:dim7 ii:min7 #ii:dim7 iii:min7 V:7",
        "rhythm_bridge": "III:7 VI:7 II:7 V:7",
        "backdoor": "iv:min7 bVII:7 I:maj7 I:maj6",
        "aug_line": "I I:aug I:maj6 I:7",
        "tritone_sub": "ii:min7 bII:7 I:maj7 vi:7",
    },
    "folk": {
        "three_chord": "I IV I V",
        "waltz": "I I IV I V V I I",
        "dorian": "i IV i bVII",
        "modal_sus": "I:sus4@2 I@2 IV I V:sus4@2 V@2",
        "minor_ballad": "i bVII bVI bVII i iv v i",
        "drone": "I:sus2 IV/5 I:sus4 I",
    },
    "classical": {
        "cadence": "I IV V:7 I",
        "ii6_cadence": "I ii/b3 I/5@2 V:7@2 I",
        "circle": "vi ii V I IV vii:dim iii vi",
        "pachelbel": "I V vi iii IV I IV V",
        "minor_cadence": "i iv V:7 i",
        "vii_dim7": "i vii:dim7 i/b3 iv V i",
        "neapolitan": "i bII/3 V:7 i",
        "deceptive": "I IV V:7 vi ii:hdim7/b3 V i",
        "augmented_sixth": "i iv bVI:7 V",
        "lament": "i V/3 bVII/3 IV/3 bVI/3 V i",
    },
}
STYLES = tuple(TEMPLATES)

_NUMERALS = {"i": 0, "ii": 2, "iii": 4, "iv": 5, "v": 7, "vi": 9, "vii": 11}
_TOKEN_RE = re.compile(r"^([b#]?)([ivIV]+)(?::(\w+))?(?:/([b#]*\d+))?(?:@([\d.]+))?$")


class ProgressionError(ValueError):
    pass


def parse_template(text: str, tonic: int = 0, beats_per_bar: int = 4) -> list[ChordSpan]:
    from models.chords.vocabulary import degree_semitones

    spans = []
    for token in text.split():
        m = _TOKEN_RE.match(token)
        if not m or m.group(2).lower() not in _NUMERALS:
            raise ProgressionError(f"bad template token {token!r}")
        acc, numeral, quality, bass, beats = m.groups()
        root = (tonic + _NUMERALS[numeral.lower()] + acc.count("#") - acc.count("b")) % 12
        quality = quality or ("maj" if numeral.isupper() else "min")
        spans.append(ChordSpan(Chord(root, quality, degree_semitones(bass) if bass else 0),
                               float(beats) if beats else float(beats_per_bar)))
    return spans


def template_names() -> list[str]:
    return [f"{style}/{name}" for style, names in TEMPLATES.items() for name in names]


def from_template(name: str, tonic: int, repeats: int = 1, beats_per_bar: int = 4,
                  halve: bool = False) -> Progression:
    """The template ``style/name`` in the key of ``tonic``, ``repeats`` times; ``halve``
    gives every chord half its beats (two chords a bar)."""
    style, short = name.split("/")
    spans = parse_template(TEMPLATES[style][short], tonic, beats_per_bar) * repeats
    if halve:
        spans = [ChordSpan(s.chord, s.beats / 2) for s in spans]
    return Progression(spans, beats_per_bar, f"template:{name}", {"tonic": tonic})


def random_template(rng: np.random.Generator, beats_per_bar: int = 4,
                    styles: tuple[str, ...] = STYLES) -> Progression:
    names = [n for n in template_names() if n.split("/")[0] in styles]
    name = names[int(rng.integers(len(names)))]
    return from_template(name, int(rng.integers(12)), int(rng.integers(1, 4)), beats_per_bar,
                         halve=bool(rng.random() < 0.2))


# Root motion of a walk: fifths and steps are common, tritones rare.
_STEPS = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
_STEP_WEIGHTS = np.array([0.5, 1, 2, 1.5, 1, 4, 0.5, 4, 1, 1.5, 2, 1], dtype=float)


def random_walk(rng: np.random.Generator, n_chords: int, beats_per_bar: int = 4,
                inversion_p: float = 0.2, no_chord_p: float = 0.03) -> Progression:
    """Chords drawn over the whole vocabulary (every quality equally likely, so rare
    qualities get data), roots moving by weighted intervals, 1 to 8 beats each, with
    occasional inversions and no-chord gaps."""
    root = int(rng.integers(12))
    spans: list[ChordSpan] = []
    prev: Chord | None = None
    while len(spans) < n_chords:
        if rng.random() < no_chord_p and spans and not spans[-1].chord.is_no_chord:
            spans.append(ChordSpan(NO_CHORD_CHORD, float(rng.choice([1, 2]))))
            continue
        root = (root + int(rng.choice(_STEPS, p=_STEP_WEIGHTS / _STEP_WEIGHTS.sum()))) % 12
        chord = Chord(root, QUALITIES[int(rng.integers(len(QUALITIES)))])
        if rng.random() < inversion_p:
            chord = chord.with_bass_tone(int(rng.integers(1, len(chord.intervals))))
        if chord == prev:
            continue
        beats = float(rng.choice([1, 2, 2, 3, 4, 4, 4, 6, 8]))
        spans.append(ChordSpan(chord, beats))
        prev = chord
    return Progression(spans, beats_per_bar, "walk")


def from_music21(path: str | Path, beat: float = 1.0, max_beats: float | None = None
                 ) -> Progression:
    """The harmony of a music21 corpus piece, one chord per beat (``beat`` quarter
    lengths, the usual chord-per-beat annotation): chordify every part, weigh each
    pitch class by how long it sounds within the beat, keep those sounding at least
    30 % as long as the strongest, label them with the best-fitting vocabulary chord
    (bass: the lowest note sounding at the beat's start) and merge repeats. A beat in
    which every part rests is no-chord. ``path`` is relative to music21's corpus
    (``bach/bwv269.mxl``) or absolute."""
    from music21 import chord as m21chord
    from music21 import corpus, meter

    score = corpus.parse(str(path))
    elements = score.chordify().flatten().notesAndRests
    ts = next(iter(score.recurse().getElementsByClass(meter.TimeSignature)), None)
    beats_per_bar = int(ts.numerator) if ts is not None and ts.denominator == 4 else 4
    end = max((float(e.offset + e.quarterLength) for e in elements), default=0.0)
    n_beats = int(np.ceil(end / beat - 1e-9))
    weights = np.zeros((n_beats, 12))  # quarter lengths sounding, summed over voices
    bass: list[tuple[float, int] | None] = [None] * n_beats
    for el in elements:
        if not isinstance(el, m21chord.Chord) or not len(el.pitches):
            continue
        t0, t1 = float(el.offset), float(el.offset + el.quarterLength)
        lowest = min(p.midi for p in el.pitches)
        for b in range(int(t0 // beat), min(n_beats, int(np.ceil(t1 / beat - 1e-9)))):
            overlap = min(t1, (b + 1) * beat) - max(t0, b * beat)
            if overlap <= 0:
                continue
            for p in el.pitches:
                weights[b, p.pitchClass] += overlap
            # The bass heard first in the beat (earliest onset, then lowest).
            key = (max(t0, b * beat), lowest)
            if bass[b] is None or key < bass[b]:  # type: ignore[operator]
                bass[b] = key
    spans: list[ChordSpan] = []
    for b in range(n_beats):
        w = weights[b]
        if w.max() <= 0:
            chord = NO_CHORD_CHORD
        else:
            low = bass[b]
            chord = _best_chord_for_weights(w / w.max(), low[1] % 12 if low else None)
        length = min(beat, end - b * beat)
        if spans and spans[-1].chord == chord:
            spans[-1] = ChordSpan(chord, spans[-1].beats + length)
        else:
            spans.append(ChordSpan(chord, length))
        if max_beats is not None and (b + 1) * beat >= max_beats:
            break
    return Progression(spans, beats_per_bar, f"music21:{path}")


# Four-note chords must earn their fourth tone: passing notes within a beat would
# otherwise turn plain triads into sevenths and sixths.
_TETRAD_COST = 0.6
_CHORD_PCS = [(Chord(r, q), np.array([(r + s) % 12 for s, _ in QUALITY_TONES[q]]))
              for r in range(12) for q in QUALITIES]


def _best_chord_for_weights(w: np.ndarray, bass_pc: int | None) -> Chord:
    """The vocabulary chord that best explains pitch-class weights (max 1): weight its
    tones cover, minus half the weight outside it, a cost per tone that is silent, a
    cost for tetrads, a small bonus for a root on the bass. Always a chord (the
    renderer plays the label, so label and audio agree whatever the passing notes)."""
    best_key = -np.inf
    best = NO_CHORD_CHORD
    total = float(w.sum())
    for chord, pcs in _CHORD_PCS:
        covered = float(w[pcs].sum())
        score = (covered - 0.5 * (total - covered) - 0.5 * int((w[pcs] < 0.05).sum())
                 - _TETRAD_COST * (len(pcs) == 4) + 0.1 * (chord.root == bass_pc))
        if score > best_key:
            best_key, best = score, chord
    if bass_pc is not None and bass_pc in best.pitch_classes:
        best = Chord(best.root, best.quality, (bass_pc - best.root) % 12)
    return best


def music21_pieces(pattern: str = "bach/bwv*.mxl") -> list[str]:
    """Corpus paths (relative, sorted) of the pieces a music21 set draws from."""
    from music21 import common

    root = Path(str(common.getCorpusFilePath()))
    return sorted(p.relative_to(root).as_posix() for p in root.glob(pattern))
