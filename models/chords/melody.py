"""A lead melody over the chords, as a singer or a soloist plays it over the band.

Every song a musician drops onto the app has a tune on top, and a tune is full of
notes the chord does not hold: passing and neighbour tones, suspensions, a note of
the next chord sung early. The chord labels stay those of the accompaniment (what a
chord chart writes), so the melody teaches and tests the recognizer to hear the
harmony through it.

The line: phrases of 4 to 11 notes with a rest between them; quarter, eighth, dotted
and half notes; on the strong beats (1 and 3) a chord tone 85 % of the time, on the
others a non-chord tone 40 % of the time, taken from a scale that holds the chord
(major or minor by the chord's third, with the chord's own altered tones); steps
preferred to leaps; sometimes the next chord's tone an eighth early (an
anticipation). Range C4 to C6, louder than the accompaniment, on its own channel.
"""

from __future__ import annotations

import numpy as np

from models.chords.performance import Note, PlayStyle
from models.chords.progressions import Progression
from models.chords.vocabulary import Chord

LEAD_CH = 2
LOW, HIGH = 60, 84
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
DURATIONS = (0.5, 0.5, 1.0, 1.0, 1.0, 1.5, 2.0)  # beats
NCT_STRONG, NCT_WEAK = 0.15, 0.4
ANTICIPATION = 0.15
# The RNG stream of the melody is its own ([seed, MELODY_STREAM]), so a clip with a
# melody plays the same accompaniment as the clip without it.
MELODY_STREAM = 7


def scale_of(chord: Chord) -> frozenset[int]:
    """Pitch classes a tune may use over ``chord``: its tones and a 7-note scale on its
    root, minor when the chord has a minor third."""
    tones = frozenset(chord.pitch_classes)
    steps = MINOR if (chord.root + 3) % 12 in tones else MAJOR
    return tones | frozenset((chord.root + s) % 12 for s in steps)


def _pick(rng: np.random.Generator, prev: int, allowed: set[int]) -> int:
    """A pitch of the allowed classes near ``prev`` (steps likelier than leaps)."""
    cands = [p for p in range(LOW, HIGH + 1) if p % 12 in allowed]
    near = [p for p in cands if abs(p - prev) <= 7] or cands
    w = np.array([1.0 / (1.0 + abs(p - prev)) ** 1.5 for p in near])
    return int(near[int(rng.choice(len(near), p=w / w.sum()))])


def lead_line(prog: Progression, style: PlayStyle, rng: np.random.Generator) -> list[Note]:
    """The melody's notes for ``prog`` played in ``style`` (its tempo and lead-in);
    nothing over no-chord spans."""
    spb = 60.0 / style.tempo
    vel = int(np.clip(style.velocity + rng.integers(0, 16), 40, 127))
    jitter = style.humanize_ms / 1000.0
    notes: list[Note] = []
    prev = int(rng.integers(64, 77))
    left = int(rng.integers(4, 12))  # notes left in the phrase
    t_beat = 0.0
    spans = prog.spans
    for i, span in enumerate(spans):
        t0 = style.lead_in + t_beat * spb
        t_beat += span.beats
        if span.chord.is_no_chord:
            continue
        tones = set(span.chord.pitch_classes)
        others = set(scale_of(span.chord)) - tones
        nxt = spans[i + 1].chord if i + 1 < len(spans) else None
        b = 0.0
        while b < span.beats - 1e-9:
            dur = min(float(rng.choice(DURATIONS)), span.beats - b)
            if left <= 0:  # a breath between phrases
                left = int(rng.integers(4, 12))
                b += dur
                continue
            last = b + dur >= span.beats - 1e-9
            if (last and nxt is not None and not nxt.is_no_chord and dur >= 1.0
                    and rng.random() < ANTICIPATION):
                # Sing the next chord's tone an eighth early, held over the change.
                on = t0 + (span.beats - 0.5) * spb
                prev = _pick(rng, prev, set(nxt.pitch_classes))
                notes.append(Note(on, on + 0.95 * spb, prev, vel, LEAD_CH))
                left -= 1
                b += dur
                continue
            strong = abs(b - round(b)) < 1e-9 and round(b) % 2 == 0
            nct = bool(others) and rng.random() < (NCT_STRONG if strong else NCT_WEAK)
            prev = _pick(rng, prev, others if nct else tones)
            on = t0 + b * spb + (float(rng.uniform(0, jitter)) if b > 0 else 0.0)
            v = int(np.clip(vel + rng.integers(-6, 7) - (0 if strong else 4), 20, 127))
            notes.append(Note(on, on + 0.95 * dur * spb, prev, v, LEAD_CH))
            left -= 1
            b += dur
    return notes
