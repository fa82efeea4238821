"""REMI-style tokens with chord symbols, key and time signature (our own vocabulary).

A piece becomes

    BOS Key_<tonic><maj|min> TimeSig_<n>/<d>                      (the header)
    Bar [TimeSig_..] [Key_..]  Position_<t> [Chord_<root><q>] [Velocity_<v>] Pitch_<p>
    Duration_<d> ...  Bar ...  EOS

Bars follow a regular grid drawn from the time signatures (as in MidiTok's REMI),
positions are ticks from the bar's start (24 per quarter), a chord lasts until the
next chord token (Chord_N: none), and a Velocity token appears only when the
dynamic changes (the default is 80). Why not MidiTok: see DATA.md (it has no key or
chord-symbol tokens; its REMI otherwise carries the same information).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.generation.piece import (
    MAJOR,
    NO_CHORD,
    PITCH_NAMES,
    QUALITY_NAMES,
    TPQ,
    Piece,
    bar_ticks,
)

DEFAULT_VELOCITY = 80
VELOCITIES = (16, 32, 48, 64, 80, 96, 112, 127)
PITCH_RANGE = (21, 108)
MAX_BAR = 16 * TPQ  # the longest bar a time signature may give (4/1, 8/2, 16/4)
# Every tick up to a quarter, then coarser steps: 56 values up to four 4/4 bars.
DURATIONS: tuple[int, ...] = tuple(sorted(
    {*range(1, TPQ + 1), *range(27, 2 * TPQ + 1, 3), *range(54, 4 * TPQ + 1, 6),
     *range(108, 8 * TPQ + 1, 12), *range(216, 16 * TPQ + 1, 24)}))
TIME_SIGNATURES: tuple[tuple[int, int], ...] = tuple(
    (n, d) for d in (1, 2, 4, 8, 16) for n in range(1, 17)
    if n * 4 * TPQ % d == 0 and bar_ticks(n, d) <= MAX_BAR)
HEADER_LENGTH = 3  # BOS, Key, TimeSig: the conditioning, never scored


class TokenizeError(ValueError):
    """A piece this vocabulary cannot hold (odd meter, pitch out of range, ...)."""


def quantize_velocity(v: np.ndarray) -> np.ndarray:
    bins = np.array(VELOCITIES)
    return bins[np.abs(np.asarray(v)[..., None] - bins).argmin(axis=-1)].astype(np.int32)


def quantize_duration(d: np.ndarray) -> np.ndarray:
    """The longest vocabulary duration not above d (never makes a note overlap the next)."""
    grid = np.array(DURATIONS)
    idx = np.searchsorted(grid, np.asarray(d), side="right") - 1
    return grid[np.clip(idx, 0, len(grid) - 1)].astype(np.int32)


def normalize(piece: Piece) -> int:
    """Fit a parsed piece to the vocabulary in place: durations down to the grid,
    velocities to their bins, chords cut at the piece's end, no-chord rows dropped,
    and impossible meters (music21 reads some ABC fragments as 1/6) replaced by the
    previous bar's. Returns how many notes changed (DATA.md reports the total)."""
    bars = piece.bars.copy()
    for i in range(len(bars)):
        if (int(bars[i, 1]), int(bars[i, 2])) not in _TS_ID:
            bars[i, 1:] = bars[i - 1, 1:] if i else (4, 4)
    piece.bars = bars
    notes = piece.notes
    if len(notes):
        dur = quantize_duration(notes[:, 1])
        vel = quantize_velocity(notes[:, 3])
        changed = int(((dur != notes[:, 1]) | (vel != notes[:, 3])).sum())
        piece.notes = np.column_stack([notes[:, 0], dur, notes[:, 2], vel]).astype(np.int32)
    else:
        changed = 0
    end = piece.end_tick()
    # Segments with no chord ("N") are gaps: the tokens mark them with Chord_N.
    chords = piece.chords[(piece.chords[:, 0] < end) & (piece.chords[:, 2] != NO_CHORD)].copy()
    if len(chords):
        chords[:, 1] = np.minimum(chords[:, 1], end - chords[:, 0])
    piece.chords = chords
    return changed


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """The tokens' note order: by onset, then pitch, duration, velocity."""
    return notes[np.lexsort((notes[:, 3], notes[:, 1], notes[:, 2], notes[:, 0]))]


def regular_bars(piece: Piece) -> np.ndarray:
    """Bars on a regular grid from tick 0: each as long as its time signature says, a
    change of meter taking effect at the first grid bar at or after it."""
    changes: list[list[int]] = []
    for start, num, den in piece.bars.tolist():
        if not changes or changes[-1][1:] != [num, den]:
            changes.append([start, num, den])
    if not changes:
        changes = [[0, 4, 4]]
    end = piece.end_tick()
    rows: list[tuple[int, int, int]] = []
    t, num, den = 0, changes[0][1], changes[0][2]
    nxt = 1
    while t < end or not rows:
        while nxt < len(changes) and changes[nxt][0] <= t:
            num, den = changes[nxt][1], changes[nxt][2]
            nxt += 1
        rows.append((t, num, den))
        t += bar_ticks(num, den)
    return np.array(rows, dtype=np.int32)


@dataclass(frozen=True)
class Vocab:
    tokens: tuple[str, ...]

    @classmethod
    def build(cls) -> Vocab:
        toks = ["PAD", "BOS", "EOS", "Bar"]
        toks += [f"TimeSig_{n}/{d}" for n, d in TIME_SIGNATURES]
        toks += [f"Key_{PITCH_NAMES[t]}{'' if m == MAJOR else 'm'}" for m in (0, 1)
                 for t in range(12)]
        toks += [f"Position_{p}" for p in range(MAX_BAR)]
        toks += ["Chord_N"] + [f"Chord_{PITCH_NAMES[r]}{q}" for q in QUALITY_NAMES
                               for r in range(12)]
        toks += [f"Velocity_{v}" for v in VELOCITIES]
        toks += [f"Pitch_{p}" for p in range(PITCH_RANGE[0], PITCH_RANGE[1] + 1)]
        toks += [f"Duration_{d}" for d in DURATIONS]
        return cls(tuple(toks))

    def __len__(self) -> int:
        return len(self.tokens)

    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}


VOCAB = Vocab.build()
_ID = VOCAB.index()
PAD, BOS, EOS, BAR = (_ID[t] for t in ("PAD", "BOS", "EOS", "Bar"))
_TS_ID = {ts: _ID[f"TimeSig_{ts[0]}/{ts[1]}"] for ts in TIME_SIGNATURES}
_KEY_ID = {(t, m): _ID[f"Key_{PITCH_NAMES[t]}{'' if m == MAJOR else 'm'}"]
           for m in (0, 1) for t in range(12)}
_POS0 = _ID["Position_0"]
_CHORD_N = _ID["Chord_N"]
_CHORD0 = _CHORD_N + 1
_VEL0 = _ID[f"Velocity_{VELOCITIES[0]}"]
_PITCH0 = _ID[f"Pitch_{PITCH_RANGE[0]}"]
_DUR0 = _ID[f"Duration_{DURATIONS[0]}"]
_DUR_INDEX = {d: i for i, d in enumerate(DURATIONS)}


def token_kind(token_id: int) -> str:
    """'Bar', 'Position', 'Pitch', ... (the part of the name before '_')."""
    return VOCAB.tokens[token_id].split("_")[0]


def encode(piece: Piece, *, notes: bool = True, chords: bool = True) -> np.ndarray:
    """Token ids of a piece (see the module docstring). TokenizeError if it does not fit."""
    bars = regular_bars(piece)
    for num, den in {(int(n), int(d)) for _, n, d in bars}:
        if (num, den) not in _TS_ID:
            raise TokenizeError(f"time signature {num}/{den} is not in the vocabulary")
    key_rows = piece.keys if len(piece.keys) else np.array([[0, 0, MAJOR]], np.int32)
    note_rows = piece.notes if notes else np.zeros((0, 4), np.int32)
    if len(note_rows):
        lo, hi = int(note_rows[:, 2].min()), int(note_rows[:, 2].max())
        if lo < PITCH_RANGE[0] or hi > PITCH_RANGE[1]:
            raise TokenizeError(f"pitch {lo}..{hi} outside {PITCH_RANGE}")
        if note_rows[:, 0].min() < 0:
            raise TokenizeError("a note starts before the first bar")
        bad = set(note_rows[:, 1].tolist()) - set(DURATIONS)
        if bad:
            raise TokenizeError(f"durations {sorted(bad)[:5]} not in the vocabulary "
                                "(quantize_duration first)")
        if set(note_rows[:, 3].tolist()) - set(VELOCITIES):
            raise TokenizeError("velocities not in the vocabulary (quantize_velocity first)")
    # (tick, order, token ids): chords sort before notes at the same tick.
    events: list[tuple[int, int, int, list[int]]] = []
    if chords:
        end = int(bars[-1, 0]) + bar_ticks(int(bars[-1, 1]), int(bars[-1, 2]))
        prev_end = 0
        for onset, dur, root, qual in piece.chords.tolist():
            if onset > prev_end and events:
                events.append((prev_end, 0, 0, [_CHORD_N]))
            tok = _CHORD_N if root == NO_CHORD else _CHORD0 + qual * 12 + root
            events.append((onset, 0, 0, [tok]))
            prev_end = onset + dur
        if events and prev_end < end:
            events.append((prev_end, 0, 0, [_CHORD_N]))
    velocity = DEFAULT_VELOCITY
    for onset, dur, pitch, vel in sort_notes(note_rows).tolist():
        toks = []
        if vel != velocity:
            toks.append(_VEL0 + VELOCITIES.index(vel))
            velocity = vel
        toks += [_PITCH0 + pitch - PITCH_RANGE[0], _DUR0 + _DUR_INDEX[dur]]
        events.append((onset, 1, pitch, toks))
    events.sort(key=lambda e: e[:3])
    out = [BOS, _KEY_ID[(int(key_rows[0, 1]), int(key_rows[0, 2]))],
           _TS_ID[(int(bars[0, 1]), int(bars[0, 2]))]]
    key_changes = {int(t): (int(k), int(m)) for t, k, m in key_rows[1:].tolist()}
    ev = 0
    for b, (start, num, den) in enumerate(bars.tolist()):
        stop = start + bar_ticks(num, den)
        out.append(BAR)
        if b and (num, den) != tuple(bars[b - 1, 1:3]):
            out.append(_TS_ID[(num, den)])
        if start in key_changes:
            out.append(_KEY_ID[key_changes[start]])
        position = -1
        while ev < len(events) and events[ev][0] < stop:
            tick = events[ev][0]
            if tick != position:
                out.append(_POS0 + tick - start)
                position = tick
            out.extend(events[ev][3])
            ev += 1
    out.append(EOS)
    return np.array(out, dtype=np.int32)


def decode(ids: np.ndarray | list[int]) -> Piece:
    """A Piece from token ids. Lenient: tokens that make no sense where they stand
    (a Duration without a Pitch, a Position before any Bar) are skipped."""
    tokens = VOCAB.tokens
    bars: list[tuple[int, int, int]] = []
    keys: list[tuple[int, int, int]] = []
    notes: list[tuple[int, int, int, int]] = []
    chords: list[list[int]] = []
    ts = (4, 4)
    bar_start, position = -1, None
    velocity = DEFAULT_VELOCITY
    pitch: int | None = None
    header_key: tuple[int, int] | None = None
    for tid in (int(t) for t in ids):
        name = tokens[tid] if 0 <= tid < len(tokens) else "PAD"
        kind, _, value = name.partition("_")
        if kind == "EOS":
            break
        if kind == "TimeSig":
            num, den = value.split("/")
            ts = (int(num), int(den))
            if bars and bars[-1][0] == bar_start:
                bars[-1] = (bar_start, *ts)
        elif kind == "Key":
            mode = 1 if value.endswith("m") else 0
            tonic = PITCH_NAMES.index(value[:-1] if mode else value)
            tick = max(bar_start, 0)
            if not keys and header_key is None:
                header_key = (tonic, mode)
                keys.append((0, tonic, mode))
            elif not keys or keys[-1][1:] != (tonic, mode):
                keys.append((tick, tonic, mode))
        elif kind == "Bar":
            bar_start = bar_start + bar_ticks(*bars[-1][1:]) if bars else 0
            bars.append((bar_start, *ts))
            position = None
        elif kind == "Position" and bars:
            position = bar_start + int(value)
        elif kind == "Chord" and position is not None:
            if chords and chords[-1][0] == position:
                chords.pop()
            if value == "N":
                chords.append([position, 0, NO_CHORD, 0])
            else:
                qname = value.lstrip("ABCDEFG#b")
                root = PITCH_NAMES.index(value[: len(value) - len(qname)])
                chords.append([position, 0, root, QUALITY_NAMES.index(qname)])
        elif kind == "Velocity":
            velocity = int(value)
        elif kind == "Pitch" and position is not None:
            pitch = int(value)
        elif kind == "Duration" and pitch is not None and position is not None:
            notes.append((position, int(value), pitch, velocity))
            pitch = None
    piece = Piece("generated", "generated",
                  notes=sort_notes(np.array(notes, dtype=np.int32).reshape(-1, 4)),
                  bars=np.array(bars, dtype=np.int32).reshape(-1, 3),
                  keys=np.array(keys or [(0, 0, MAJOR)], dtype=np.int32).reshape(-1, 3))
    end = piece.end_tick()
    for i, c in enumerate(chords):
        c[1] = (chords[i + 1][0] if i + 1 < len(chords) else end) - c[0]
    piece.chords = np.array([c for c in chords if c[2] != NO_CHORD and c[1] > 0],
                            dtype=np.int32).reshape(-1, 4)
    return piece
