"""Chord labels from notes: per-beat labels of a full texture, weak bar-level labels
of a melody alone, and key finding. Pure numpy, no music21, so the same code labels
the training data and, later, a musician's clip.
"""

from __future__ import annotations

import numpy as np

from models.generation.piece import CHORD_QUALITIES, MAJOR, MINOR, NO_CHORD, TPQ, bar_ticks

_TEMPLATES = np.zeros((12 * len(CHORD_QUALITIES), 12), dtype=np.float64)
_TEMPLATE_LABELS: list[tuple[int, int]] = []
for _q, (_name, _ivs) in enumerate(CHORD_QUALITIES):
    for _root in range(12):
        for _iv in _ivs:
            _TEMPLATES[len(_TEMPLATE_LABELS), (_root + _iv) % 12] = 1.0
        _TEMPLATE_LABELS.append((_root, _q))
# Triads first in CHORD_QUALITIES: on a tie the simpler chord wins (argmax takes the first).
_TEMPLATE_SIZE = _TEMPLATES.sum(axis=1)

# Krumhansl-Kessler key profiles.
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

# Mode name -> (scale intervals, major/minor family for the key token).
MODE_SCALES: dict[str, tuple[tuple[int, ...], int]] = {
    "major": ((0, 2, 4, 5, 7, 9, 11), MAJOR),
    "ionian": ((0, 2, 4, 5, 7, 9, 11), MAJOR),
    "mixolydian": ((0, 2, 4, 5, 7, 9, 10), MAJOR),
    "lydian": ((0, 2, 4, 6, 7, 9, 11), MAJOR),
    "minor": ((0, 2, 3, 5, 7, 8, 10), MINOR),
    "aeolian": ((0, 2, 3, 5, 7, 8, 10), MINOR),
    "dorian": ((0, 2, 3, 5, 7, 9, 10), MINOR),
    "phrygian": ((0, 1, 3, 5, 7, 8, 10), MINOR),
    "locrian": ((0, 1, 3, 5, 6, 8, 10), MINOR),
}


def pc_weights(notes: np.ndarray, start: int, end: int, bass_boost: float = 0.0,
               accent: np.ndarray | None = None) -> np.ndarray:
    """Pitch-class weights of the notes sounding in [start, end), by overlap length.

    `bass_boost` adds weight to the lowest sounding pitch; `accent`, one factor per
    note, lets a melody's notes on strong beats count more.
    """
    w = np.zeros(12)
    if len(notes) == 0:
        return w
    on = notes[:, 0]
    off = notes[:, 0] + notes[:, 1]
    overlap = np.minimum(off, end) - np.maximum(on, start)
    mask = overlap > 0
    if not mask.any():
        return w
    weights = overlap[mask].astype(np.float64)
    if accent is not None:
        weights = weights * accent[mask]
    np.add.at(w, notes[mask, 2] % 12, weights)
    if bass_boost:
        w[int(notes[mask, 2].min()) % 12] += bass_boost * weights.sum()
    return w


def best_chord(weights: np.ndarray, allowed: np.ndarray | None = None,
               prior: np.ndarray | None = None, missing_penalty: float = 0.1) -> tuple[int, int]:
    """(root, quality) whose template best explains the weights (Pardo-Birmingham style:
    chord-tone weight minus non-chord-tone weight minus a cost per missing chord tone).
    """
    total = weights.sum()
    if total <= 0:
        return NO_CHORD, 0
    w = weights / total
    inside = _TEMPLATES @ w
    score = 2 * inside - 1.0
    missing = (_TEMPLATES * (w[None, :] < 1e-9)).sum(axis=1)
    score -= missing_penalty * missing
    if prior is not None:
        score = score + prior
    if allowed is not None:
        score = np.where(allowed, score, -np.inf)
    return _TEMPLATE_LABELS[int(np.argmax(score))]


def label_of_pitch_classes(root: int, pcs: set[int]) -> tuple[int, int]:
    """(root, quality) for a chord given as its root and pitch classes (Roman numerals):
    the exact template if there is one, else the quality sharing most intervals."""
    ivs = {(pc - root) % 12 for pc in pcs}
    best_q, best_score = 0, -1.0
    for q, (_name, tmpl) in enumerate(CHORD_QUALITIES):
        t = set(tmpl)
        if t == ivs:
            return root, q
        score = len(t & ivs) / len(t | ivs)
        if score > best_score:
            best_q, best_score = q, score
    return root, best_q


def estimate_key(notes: np.ndarray) -> tuple[int, int]:
    """(tonic pitch class, MAJOR/MINOR) by Krumhansl-Kessler correlation."""
    hist = np.zeros(12)
    if len(notes):
        np.add.at(hist, notes[:, 2] % 12, notes[:, 1].astype(np.float64))
    if hist.sum() == 0:
        return 0, MAJOR
    best = (-2.0, 0, MAJOR)
    for mode, profile in ((MAJOR, _KK_MAJOR), (MINOR, _KK_MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def beat_ticks(numerator: int, denominator: int) -> int:
    """One beat: a dotted quarter in compound meters (6/8, 9/8, 12/8), else 1/denominator."""
    unit = 4 * TPQ // denominator
    if denominator >= 8 and numerator % 3 == 0 and numerator > 3:
        return 3 * unit
    return unit


def segments(bars: np.ndarray, end: int, per: str) -> list[tuple[int, int]]:
    """[start, end) segments per "beat", "half" bar or whole "bar"."""
    out: list[tuple[int, int]] = []
    for i, (start, num, den) in enumerate(bars.tolist()):
        stop = int(bars[i + 1, 0]) if i + 1 < len(bars) else max(end, start + bar_ticks(num, den))
        if stop <= start:
            continue
        if per == "bar":
            step = stop - start
        elif per == "half":
            beat = beat_ticks(num, den)
            beats = max(1, bar_ticks(num, den) // beat)
            step = beat * (beats // 2) if beats >= 4 and beats % 2 == 0 else stop - start
        else:
            step = beat_ticks(num, den)
        t = start
        while t < stop:
            out.append((t, min(stop, t + step)))
            t += step
    return out


def merge_runs(labels: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Join consecutive segments with the same chord into one (onset, dur, root, quality)."""
    merged: list[list[int]] = []
    for onset, dur, root, qual in labels:
        if merged and merged[-1][2] == root and merged[-1][3] == qual \
                and merged[-1][0] + merged[-1][1] == onset:
            merged[-1][1] += dur
        else:
            merged.append([onset, dur, root, qual])
    return np.array(merged, dtype=np.int32).reshape(-1, 4)


# Texture labelling settings, chosen on the 19 chorales with a human analysis (a grid
# of 81; root agreement per beat 0.736 -> 0.781, see DATA.md): the bass and the notes
# sounding on the beat count extra (passing notes fall between beats), and a seventh
# chord must beat its triad by a margin.
TEXTURE_BASS_BOOST = 0.5
TEXTURE_ONSET_WEIGHT = 1.0
TEXTURE_MISSING_PENALTY = 0.2
TEXTURE_SEVENTH_COST = 0.1
_SEVENTH_PRIOR = np.where(np.array([q for _, q in _TEMPLATE_LABELS]) >= 4,
                          -TEXTURE_SEVENTH_COST, 0.0)


def texture_chords(all_notes: np.ndarray, bars: np.ndarray, end: int) -> np.ndarray:
    """Per-beat chords of a full texture (every voice), merged into chord changes."""
    labels = []
    for start, stop in segments(bars, end, "beat"):
        w = pc_weights(all_notes, start, stop, bass_boost=TEXTURE_BASS_BOOST)
        if len(all_notes):
            on_beat = (all_notes[:, 0] <= start) & (all_notes[:, 0] + all_notes[:, 1] > start)
            np.add.at(w, all_notes[on_beat, 2] % 12, TEXTURE_ONSET_WEIGHT * (stop - start))
        root, qual = best_chord(w, prior=_SEVENTH_PRIOR,
                                missing_penalty=TEXTURE_MISSING_PENALTY)
        labels.append((start, stop - start, root, qual))
    return merge_runs(labels)


def _diatonic_candidates(tonic: int, mode_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Allowed templates (diatonic triads of the mode, plus V and V7 in minor-like modes)
    and a small prior favouring I, V and IV."""
    scale, family = MODE_SCALES.get(mode_name, MODE_SCALES["major"])
    pcs = [(tonic + s) % 12 for s in scale]
    allowed = np.zeros(len(_TEMPLATE_LABELS), dtype=bool)
    prior = np.zeros(len(_TEMPLATE_LABELS))
    index = {lab: i for i, lab in enumerate(_TEMPLATE_LABELS)}
    degree_prior = {0: 0.08, 4: 0.05, 3: 0.04, 5: 0.02, 1: 0.02}
    for degree in range(7):
        root = pcs[degree]
        third = (pcs[(degree + 2) % 7] - root) % 12
        fifth = (pcs[(degree + 4) % 7] - root) % 12
        quality = {(4, 7): 0, (3, 7): 1, (3, 6): 2, (4, 8): 3}.get((third, fifth))
        if quality is None:
            continue
        i = index[(root, quality)]
        allowed[i] = True
        prior[i] = degree_prior.get(degree, 0.0)
    dominant = (tonic + 7) % 12
    for quality in (0, 4):  # V and V7 (the leading tone of harmonic minor, too)
        i = index[(dominant, quality)]
        allowed[i] = True
        prior[i] = max(prior[i], 0.04 if quality == 0 else 0.0)
    if family == MINOR:
        prior[index[(dominant, 1)]] = min(prior[index[(dominant, 1)]], 0.0)
    return allowed, prior


def weak_chords(melody: np.ndarray, bars: np.ndarray, tonic: int, mode_name: str,
                end: int, per: str = "half") -> np.ndarray:
    """Bar-level chord guesses from a melody alone: the diatonic chord whose tones
    best cover the notes of each bar, or of each half bar where a bar has four or more
    beats (closer to the chorales' harmony than whole bars: DATA.md), with notes on
    beats counting double."""
    allowed, prior = _diatonic_candidates(tonic, mode_name)
    accent = np.ones(len(melody))
    if len(melody) and len(bars):
        idx = np.searchsorted(bars[:, 0], melody[:, 0], side="right") - 1
        idx = np.clip(idx, 0, len(bars) - 1)
        beat = np.array([beat_ticks(int(n), int(d)) for n, d in bars[idx, 1:3]])
        on_beat = (melody[:, 0] - bars[idx, 0]) % beat == 0
        accent = np.where(on_beat, 2.0, 1.0)
    labels = []
    for start, stop in segments(bars, end, per):
        w = pc_weights(melody, start, stop, accent=accent)
        root, qual = best_chord(w, allowed=allowed, prior=prior, missing_penalty=0.02)
        labels.append((start, stop - start, root, qual))
    return merge_runs(labels)


def chord_at(chords: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """(root, quality) rows of the chord sounding at each tick ((-1, 0) where none)."""
    out = np.full((len(ticks), 2), (NO_CHORD, 0), dtype=np.int32)
    if len(chords) == 0:
        return out
    idx = np.searchsorted(chords[:, 0], ticks, side="right") - 1
    ok = (idx >= 0) & (ticks < chords[np.clip(idx, 0, None), 0] + chords[np.clip(idx, 0, None), 1])
    out[ok] = chords[idx[ok], 2:4]
    return out
