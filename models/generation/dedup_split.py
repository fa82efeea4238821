"""Melody fingerprints, duplicate removal and the seeded split by piece group.

The same tune often appears in two collections (O'Neill and Ryan share many reels),
in another key, with or without a pickup; Bach harmonized many chorale tunes more
than once. Pieces that share a tune share a group, and the split is drawn per group,
so no tune is in both training and test data.
"""

from __future__ import annotations

import hashlib

import numpy as np

from models.generation.piece import Piece

FINGERPRINT_NOTES = 24
SPLITS = ("train", "valid", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
DEFAULT_SEED = 6


def melody_fingerprint(piece: Piece, length: int = FINGERPRINT_NOTES) -> str:
    """Transposition-invariant fingerprint: the pitch intervals (repeated notes merged) of
    the first `length` notes from the first full bar on, so a pickup does not matter.
    '' when the melody is too short to tell tunes apart."""
    notes = piece.notes
    if len(notes) == 0:
        return ""
    first_full_bar = int(piece.bars[1, 0]) if len(piece.bars) > 1 and notes[0, 0] > \
        piece.bars[0, 0] else 0
    pitches = notes[notes[:, 0] >= first_full_bar, 2]
    if len(pitches) == 0:
        return ""
    keep = np.ones(len(pitches), dtype=bool)
    keep[1:] = pitches[1:] != pitches[:-1]
    ivs = np.diff(pitches[keep])[: length - 1]
    if len(ivs) < 8:
        return ""
    return hashlib.sha1(ivs.astype(np.int8).tobytes()).hexdigest()[:16]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def assign_groups(pieces: list[Piece], source_rank: dict[str, int]) -> list[str]:
    """Set each piece's group (shared fingerprint or shared link such as a BWV number)
    and return, per piece, the piece_id of the melody it duplicates ('' if canonical).

    The canonical copy of a tune is the one from the best-ranked source (lowest rank:
    shippable first), then the smallest piece_id; the result does not depend on the
    order of `pieces`.
    """
    order = sorted(range(len(pieces)), key=lambda i: pieces[i].piece_id)
    uf = _UnionFind(len(pieces))
    first_with: dict[str, int] = {}
    prints = [melody_fingerprint(p) for p in pieces]
    for i in order:
        for key in (f"fp:{prints[i]}" if prints[i] else "", f"link:{pieces[i].link}"
                    if pieces[i].link else ""):
            if not key:
                continue
            if key in first_with:
                uf.union(first_with[key], i)
            else:
                first_with[key] = i
    members: dict[int, list[int]] = {}
    for i in order:
        members.setdefault(uf.find(i), []).append(i)
    for group in members.values():
        name = min(pieces[i].piece_id for i in group)
        for i in group:
            pieces[i].group = name
    dup_of = [""] * len(pieces)
    by_print: dict[str, list[int]] = {}
    for i in order:
        if prints[i]:
            by_print.setdefault(prints[i], []).append(i)
    for same in by_print.values():
        best = min(same, key=lambda i: (source_rank.get(pieces[i].source, 99),
                                        pieces[i].piece_id))
        for i in same:
            if i != best:
                dup_of[i] = pieces[best].piece_id
    return dup_of


def split_of(group: str, seed: int = DEFAULT_SEED) -> str:
    """'train', 'valid' or 'test' for a group, from a seeded hash: stable when other
    pieces are added or removed."""
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, frac in zip(SPLITS, SPLIT_FRACTIONS, strict=True):
        edge += frac
        if u < edge:
            return name
    return SPLITS[-1]
