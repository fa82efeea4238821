"""Duplicates are found across keys and pickups; the split is seeded and by group."""

from __future__ import annotations

import random

import numpy as np
from generation_support import parsed

from models.generation.dedup_split import assign_groups, melody_fingerprint, split_of
from models.generation.piece import Piece


def _tunes() -> list[Piece]:
    return [raw.piece for raw in parsed("oneills1850")]


def _copy(p: Piece, source: str, suffix: str) -> Piece:
    return Piece(source, p.piece_id + suffix, p.title, notes=p.notes.copy(),
                 bars=p.bars.copy(), keys=p.keys.copy(), chords=p.chords.copy(),
                 link=p.link)


def test_fingerprint_ignores_key_and_pickup() -> None:
    tune = next(t for t in _tunes() if t.notes[0, 0] == 0)  # starts on the downbeat
    assert melody_fingerprint(tune) == melody_fingerprint(tune.transposed(-3))
    shifted = _copy(tune, "x", "+pickup")
    length = int(tune.bars[1, 0] - tune.bars[0, 0])
    shifted.notes[:, 0] += length  # an extra leading bar holding a pickup note
    shifted.bars = np.vstack([tune.bars[:1], tune.bars + length])
    shifted.notes = np.vstack([[length - 12, 12, 60, 80], shifted.notes]).astype(np.int32)
    assert melody_fingerprint(shifted) == melody_fingerprint(tune)
    others = {melody_fingerprint(t) for t in _tunes() if t is not tune}
    assert melody_fingerprint(tune) not in others


def test_duplicates_across_collections_keep_one_copy_and_one_group() -> None:
    tunes = _tunes()
    copies = [_copy(t.transposed(2), "ryansMammoth", "#copy") for t in tunes[:3]]
    rank = {"oneills1850": 0, "ryansMammoth": 1}
    pieces = tunes + copies
    dup_of = assign_groups(pieces, rank)
    for t, c in zip(tunes[:3], copies, strict=True):
        assert dup_of[pieces.index(c)] == t.piece_id
        assert dup_of[pieces.index(t)] == ""
        assert c.group == t.group
    assert sum(bool(d) for d in dup_of) == 3


def test_groups_and_split_do_not_depend_on_order() -> None:
    def run(seed: int) -> dict[str, tuple[str, str, str]]:
        pieces = [_copy(t, t.source, "") for t in _tunes()]
        pieces += [_copy(pieces[0].transposed(1), "airdsAirs", "#dup")]
        random.Random(seed).shuffle(pieces)
        dup_of = assign_groups(pieces, {"oneills1850": 0, "airdsAirs": 2})
        return {p.piece_id: (p.group, split_of(p.group), d)
                for p, d in zip(pieces, dup_of, strict=True)}

    assert run(1) == run(2)


def test_split_is_seeded_stable_and_disjoint_by_group() -> None:
    groups = [f"group{i}" for i in range(3000)]
    splits = [split_of(g, seed=6) for g in groups]
    assert splits == [split_of(g, seed=6) for g in groups]
    assert splits != [split_of(g, seed=7) for g in groups]
    frac = {s: splits.count(s) / len(splits) for s in ("train", "valid", "test")}
    assert 0.75 < frac["train"] < 0.85 and 0.07 < frac["test"] < 0.13
    # One split per group, whatever piece carries it.
    pieces = [_copy(t, t.source, "") for t in _tunes()]
    assign_groups(pieces, {"oneills1850": 0})
    by_group: dict[str, set[str]] = {}
    for p in pieces:
        by_group.setdefault(p.group, set()).add(split_of(p.group))
    assert all(len(s) == 1 for s in by_group.values())
