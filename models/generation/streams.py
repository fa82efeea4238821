"""The two token streams both the n-gram yardstick and the transformer are scored on.

NLL per event, defined once here so that no tokenization can move it:

    sum over held-out pieces of  -ln P(token | tokens before it), for every token
    after the header (BOS, Key, TimeSig: the given conditioning) up to and including
    EOS  /  sum over the same pieces of their events

An event is a note for melodies and a chord change for progressions (Chord_N gaps
are scored tokens but not events). Both streams carry the same information whatever
the vocabulary: pitch, onset, duration and velocity of every note (or root, quality
and onset of every chord), bar lines and meter changes, and the end of the piece.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.generation import tokens
from models.generation.piece import Piece


@dataclass
class Stream:
    name: str  # "melody" or "chords"
    sequences: list[np.ndarray]
    events: list[int]


def to_c(piece: Piece) -> Piece:
    """The piece moved to tonic C (C major or C minor), by at most a fifth up or
    down (an octave further if that leaves the pitch range). Given the Key token this
    is one-to-one, so a model of key-relative sequences is still a model of the
    original piece: its NLL counts the same way."""
    tonic = int(piece.keys[0, 1]) if len(piece.keys) else 0
    shift = (-tonic + 5) % 12 - 5  # -5..6
    for s in (shift, shift - 12, shift + 12):
        q = piece.transposed(s)
        if not len(q.notes) or (q.notes[:, 2].min() >= tokens.PITCH_RANGE[0]
                                and q.notes[:, 2].max() <= tokens.PITCH_RANGE[1]):
            return q
    return piece


def melody_stream(pieces: list[Piece], key_relative: bool = False) -> Stream:
    """Melodies alone: no chord tokens (folk chords are guessed from the melody)."""
    seqs, events = [], []
    for p in pieces:
        q = to_c(p) if key_relative else p
        seqs.append(tokens.encode(q, notes=True, chords=False))
        events.append(len(q.notes))
    return Stream("melody", seqs, events)


def chord_stream(pieces: list[Piece], key_relative: bool = False) -> Stream:
    """Chord progressions alone, with their rhythm (Bar, Position, Chord)."""
    seqs, events = [], []
    for p in pieces:
        q = to_c(p) if key_relative else p
        seqs.append(tokens.encode(q, notes=False, chords=True))
        events.append(len(q.chords))
    return Stream("chords", seqs, events)


def lead_stream(pieces: list[Piece]) -> Stream:
    """Melodies with their chords interleaved (a lead sheet): what melody-over-chords
    and harmonize condition on. Trained on, never compared with the n-gram."""
    seqs = [tokens.encode(p, notes=True, chords=True) for p in pieces]
    return Stream("lead", seqs, [len(p.notes) for p in pieces])


def continuation_pairs(sequences: Sequence[np.ndarray], task: int, max_len: int,
                       prompt_bars: int = 4, new_bars: int = 8, count: int = 20
                       ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(prompt, continuation) pairs from real pieces, for latency measurements: the
    task token, the header and `prompt_bars` bars, then the next `new_bars` bars'
    tokens (what a generation of that many bars feeds back step by step); only
    pieces that fit the context."""
    out = []
    for seq in sequences:
        bars = np.flatnonzero(np.asarray(seq) == tokens.BAR)
        if len(bars) <= prompt_bars + new_bars:
            continue
        cut, end = int(bars[prompt_bars]), int(bars[prompt_bars + new_bars])
        prompt = np.concatenate([[task], seq[:cut]]).astype(np.int64)
        if len(prompt) + end - cut <= max_len:
            out.append((prompt, np.asarray(seq[cut:end], np.int64)))
        if len(out) == count:
            break
    return out
