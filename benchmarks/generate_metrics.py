"""What the generation benchmark measures on generated and human music (no model here):
bar slices, strong beats, chord-tone ratio, key consistency, pitch-class and rhythm
histograms and their distances, and whether an output is a valid clip.

Definitions (docs/BENCHMARKS.md, generation):

* strong beats: the downbeat of every bar, and the middle beat of bars with an even
  number of four or more beats (4/4: beats 1 and 3; 12/8: dotted quarters 1 and 3;
  3/4, 2/4, 6/8: the downbeat only); a beat is `harmony.beat_ticks` (a dotted quarter
  in compound meters, else 1/denominator);
* chord-tone ratio: of the notes that start on a strong beat while a chord sounds, the
  share whose pitch class is a tone of that chord (`grammar.chord_pitch_classes`);
* in-key fraction: notes whose pitch class is in the key's scale
  (`grammar.scale_pitch_classes`: major, or natural minor plus the raised 6th and 7th);
* key agreement: `harmony.estimate_key` (Krumhansl-Kessler) of a melody equals the key
  it was written in;
* histograms: pitch class relative to the tonic (12 bins), onset position in the bar
  (ticks, 24 per quarter), duration (the vocabulary's durations), each counting notes;
  distances: Jensen-Shannon divergence (base 2, 0..1) and L1 (0..2);
* valid output: the clip re-encodes to tokens that the grammar (`grammar.Grammar`,
  the task's stream, exactly the requested bars) accepts token by token, ending with
  EOS, and those tokens decode back to the same notes and chords.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.generation import grammar as gm
from models.generation import harmony, tokens
from models.generation.piece import NO_CHORD, Piece, bar_ticks

DURATION_INDEX = {d: i for i, d in enumerate(tokens.DURATIONS)}


# ---------------------------------------------------------------- bar slices


def single_meter(piece: Piece, first: int, count: int) -> bool:
    """The piece has bars first .. first+count-1, all in one meter and back to back."""
    bars = piece.bars
    if len(bars) < first + count or count < 1:
        return False
    part = bars[first:first + count]
    meters = {(int(n), int(d)) for _, n, d in part.tolist()}
    if len(meters) != 1:
        return False
    length = bar_ticks(*meters.pop())
    return bool(np.all(np.diff(part[:, 0]) == length))


def bar_slice(piece: Piece, first: int, count: int, name: str = "") -> Piece:
    """Bars first .. first+count-1 of a piece as a clip from tick 0: notes starting
    there (cut at the slice's end), chords clipped to it, the key sounding at its
    start, no-chord rows dropped. Needs single_meter(piece, first, count)."""
    if not single_meter(piece, first, count):
        raise ValueError(f"bars {first}..{first + count - 1} of {piece.piece_id} are not "
                         "back-to-back bars of one meter")
    start = int(piece.bars[first, 0])
    num, den = (int(v) for v in piece.bars[first, 1:3])
    end = start + count * bar_ticks(num, den)
    n = piece.notes
    notes = n[(n[:, 0] >= start) & (n[:, 0] < end)].copy()
    notes[:, 0] -= start
    notes[:, 1] = np.minimum(notes[:, 1], end - start - notes[:, 0])
    notes[:, 1] = tokens.quantize_duration(notes[:, 1])
    notes = notes[notes[:, 0] + notes[:, 1] <= end - start]
    c = piece.chords
    c = c[(c[:, 0] < end) & (c[:, 0] + c[:, 1] > start) & (c[:, 2] != NO_CHORD)].copy()
    if len(c):
        a = np.maximum(c[:, 0], start)
        b = np.minimum(c[:, 0] + c[:, 1], end)
        c[:, 0], c[:, 1] = a - start, b - a
    keys = piece.keys[piece.keys[:, 0] <= start]
    key = keys[-1] if len(keys) else (piece.keys[0] if len(piece.keys) else [0, 0, 0])
    bars = np.array([[i * bar_ticks(num, den), num, den] for i in range(count)], np.int32)
    return Piece(piece.source, name or f"{piece.piece_id}@{first}", title=piece.title,
                 group=piece.group, notes=notes.astype(np.int32), bars=bars,
                 keys=np.array([[0, int(key[1]), int(key[2])]], np.int32),
                 chords=c.astype(np.int32), chord_kind=piece.chord_kind)


def chord_changes(piece: Piece) -> list[tuple[int, str]]:
    """(tick, label) of every chord row, for GenerationRequest.chords."""
    from models.generation.piece import chord_name

    return [(int(t), chord_name(int(r), int(q))) for t, _, r, q in piece.chords.tolist()
            if r != NO_CHORD]


# ---------------------------------------------------------------- beats and chords


def strong_beats(bars: np.ndarray) -> set[int]:
    """Ticks of the strong beats of these bars (see the module docstring)."""
    out: set[int] = set()
    for start, num, den in bars.tolist():
        length = bar_ticks(num, den)
        beat = harmony.beat_ticks(num, den)
        n = max(1, length // beat)
        out.add(int(start))
        if n >= 4 and n % 2 == 0:
            out.add(int(start + (n // 2) * beat))
    return out


def sounding_chord(chords: np.ndarray, tick: int) -> tuple[int, int] | None:
    hit = chords[(chords[:, 0] <= tick) & (tick < chords[:, 0] + chords[:, 1])
                 & (chords[:, 2] != NO_CHORD)]
    return (int(hit[-1, 2]), int(hit[-1, 3])) if len(hit) else None


def chord_tone_counts(notes: np.ndarray, chords: np.ndarray, bars: np.ndarray
                      ) -> tuple[int, int]:
    """(chord tones, counted notes) among the notes starting on a strong beat while a
    chord sounds."""
    strong = strong_beats(bars)
    hits = total = 0
    for onset, _, pitch, _ in notes.tolist():
        if onset not in strong:
            continue
        ch = sounding_chord(chords, onset)
        if ch is None:
            continue
        total += 1
        hits += int(pitch % 12 in gm.chord_pitch_classes(*ch))
    return hits, total


def in_key_counts(notes: np.ndarray, key: tuple[int, int]) -> tuple[int, int]:
    scale = gm.scale_pitch_classes(*key)
    return sum(int(p % 12 in scale) for p in notes[:, 2].tolist()), len(notes)


def key_agrees(notes: np.ndarray, key: tuple[int, int]) -> bool:
    return len(notes) > 0 and harmony.estimate_key(notes) == tuple(key)


# ---------------------------------------------------------------- histograms


@dataclass
class Histograms:
    """Note counts: pitch class relative to the tonic, onset in the bar, duration."""

    pitch_class: np.ndarray
    onset: np.ndarray
    duration: np.ndarray

    @classmethod
    def empty(cls) -> Histograms:
        return cls(np.zeros(12), np.zeros(tokens.MAX_BAR), np.zeros(len(tokens.DURATIONS)))

    def add(self, notes: np.ndarray, bars: np.ndarray, tonic: int) -> Histograms:
        if not len(notes) or not len(bars):
            return self
        starts = bars[:, 0]
        for onset, dur, pitch, _ in notes.tolist():
            self.pitch_class[(pitch - tonic) % 12] += 1
            b = int(np.searchsorted(starts, onset, side="right")) - 1
            self.onset[min(onset - int(starts[max(b, 0)]), tokens.MAX_BAR - 1)] += 1
            i = DURATION_INDEX.get(int(dur))
            if i is None:
                i = int(np.argmin(np.abs(np.array(tokens.DURATIONS) - dur)))
            self.duration[i] += 1
        return self

    def add_piece(self, piece: Piece) -> Histograms:
        tonic = int(piece.keys[0, 1]) if len(piece.keys) else 0
        return self.add(piece.notes, piece.bars, tonic)

    @property
    def notes(self) -> int:
        return int(self.pitch_class.sum())


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, 0..1) of two count vectors; nan if one is empty."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def l1_distance(p: np.ndarray, q: np.ndarray) -> float:
    """L1 distance (0..2) of two count vectors normalised to distributions."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    return float(np.abs(p / p.sum() - q / q.sum()).sum())


def distances(a: Histograms, b: Histograms) -> dict[str, dict[str, float]]:
    out = {}
    for name in ("pitch_class", "onset", "duration"):
        x, y = getattr(a, name), getattr(b, name)
        out[name] = {"js": round(js_divergence(x, y), 4), "l1": round(l1_distance(x, y), 4)}
    return out


# ---------------------------------------------------------------- validity


def merged_chords(chords: np.ndarray) -> np.ndarray:
    """Chord rows with back-to-back repeats of one chord merged (a chord token is a
    change: harmonize cuts its chords at bar lines, which is the same harmony)."""
    rows: list[list[int]] = []
    for onset, dur, root, q in chords.tolist():
        if rows and rows[-1][2:] == [root, q] and rows[-1][0] + rows[-1][1] == onset:
            rows[-1][1] += dur
        else:
            rows.append([onset, dur, root, q])
    return np.array(rows, np.int32).reshape(-1, 4)


def grammar_check(ids: Sequence[int], stream: str, bars: int | None,
                  header: int = tokens.HEADER_LENGTH) -> str | None:
    """None when every token after the first `header` ones (the header, or a whole
    prompt: fed as given) is one the grammar allows there and the sequence ends with
    EOS, else what went wrong."""
    g = gm.Grammar(gm.Constraints(stream=stream, end_bar=bars, allow_velocity=True,
                                  monophonic=stream != "chords"))
    g.feed_all(list(ids[:header]))
    g.start_generation()
    for i, t in enumerate(ids[header:]):
        t = int(t)
        if not 0 <= t < g.vocab_size:
            return f"token {i}: id {t} outside the vocabulary"
        try:
            ok = bool(g.allowed()[t])
        except gm.GrammarError as exc:
            return f"token {i}: {exc}"
        if not ok:
            return f"token {i}: {tokens.VOCAB.tokens[t]} not allowed there"
        g.feed(t)
        if g.done:
            return None if i == len(ids) - header - 1 else "tokens after EOS"
    return "no EOS"


def piece_problem(piece: Piece, stream: str, bars: int | None) -> str | None:
    """None when the piece is a valid clip of `bars` bars in this stream (see the
    module docstring), else the reason."""
    p = Piece(piece.source, piece.piece_id, notes=piece.notes, bars=piece.bars,
              keys=piece.keys, chords=merged_chords(piece.chords))
    if bars is not None and len(p.bars) != bars:
        return f"{len(p.bars)} bars instead of {bars}"
    notes, chords = stream != "chords", stream != "melody"
    if not notes and len(p.notes):
        return "notes in a chord progression"
    if not chords and len(p.chords):
        return "chords in a melody"
    try:
        ids = tokens.encode(p, notes=notes, chords=chords)
    except tokens.TokenizeError as exc:
        return f"does not tokenize: {exc}"
    bad = grammar_check(ids.tolist(), stream, bars)
    if bad:
        return bad
    back = tokens.decode(ids)
    if notes and not np.array_equal(tokens.sort_notes(back.notes), tokens.sort_notes(p.notes)):
        return "notes do not decode back"
    if chords and not np.array_equal(back.chords, p.chords):
        return "chords do not decode back"
    return None


def ratio(pairs: Iterable[tuple[int, int]]) -> float | None:
    hits = total = 0
    for h, t in pairs:
        hits, total = hits + h, total + t
    return round(hits / total, 4) if total else None


def chords_cover(piece: Piece) -> bool:
    """Chords follow each other without gaps from tick 0 to the end of the last bar
    (a given progression that the chords grammar can hold: it never writes Chord_N)."""
    c = piece.chords
    if not len(c) or not len(piece.bars):
        return False
    end = int(piece.bars[-1, 0]) + bar_ticks(int(piece.bars[-1, 1]), int(piece.bars[-1, 2]))
    return bool(c[0, 0] == 0 and np.all(c[1:, 0] == c[:-1, 0] + c[:-1, 1])
                and c[-1, 0] + c[-1, 1] == end)
