"""The committed dataset (models/generation/data/corpus.npz): loads, holds only
shippable sources, is split by group with no tune on both sides, and every piece it
holds goes through the tokens and back."""

from __future__ import annotations

import numpy as np

from models.generation import dataset_cache, tokens
from models.generation.corpus_sources import SOURCES_BY_NAME
from models.generation.dedup_split import melody_fingerprint, split_of


def test_committed_dataset_is_consistent() -> None:
    ds = dataset_cache.load()
    sources = {p.source for p in ds.pieces}
    assert {"oneills1850", "ryansMammoth", "airdsAirs", "bach_chorales"} <= sources
    assert all(SOURCES_BY_NAME[s].shippable for s in sources)  # no Essen
    assert set(ds.info["sources"]) == sources
    # One split per group, and it is the seeded one.
    seed = int(ds.info["seed"])
    split_of_group: dict[str, str] = {}
    for p, s in zip(ds.pieces, ds.splits, strict=True):
        assert split_of_group.setdefault(p.group, s) == s
        assert s == split_of(p.group, seed)
    # No tune in two splits, and the melody sets hold one copy of each tune.
    split_of_tune: dict[str, str] = {}
    for p, s in zip(ds.pieces, ds.splits, strict=True):
        fp = melody_fingerprint(p)
        if fp:
            assert split_of_tune.setdefault(fp, s) == s
    prints = [melody_fingerprint(p) for split in ("train", "valid", "test")
              for p in ds.melodies(split)]
    prints = [fp for fp in prints if fp]
    assert len(prints) == len(set(prints))
    # Every piece round-trips (a deterministic sample keeps the test short).
    for p in ds.pieces[:: max(1, len(ds.pieces) // 300)]:
        back = tokens.decode(tokens.encode(p))
        np.testing.assert_array_equal(back.notes, tokens.sort_notes(p.notes))
        np.testing.assert_array_equal(back.chords, p.chords)
