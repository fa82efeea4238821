"""Progression generators: templates, seeded random walks, chordified music21 pieces."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from models.chords import progressions as pg
from models.chords.vocabulary import QUALITIES


def test_every_template_parses_and_the_templates_cover_the_vocabulary() -> None:
    qualities = set()
    for name in pg.template_names():
        prog = pg.from_template(name, tonic=0)
        assert prog.spans and all(s.beats > 0 for s in prog.spans)
        qualities |= {s.chord.quality for s in prog.spans}
    assert qualities == set(QUALITIES)
    assert set(pg.STYLES) == {"pop", "rock", "jazz", "folk", "classical"}


def test_template_in_a_key() -> None:
    prog = pg.from_template("jazz/ii_V_I", tonic=2)  # D major
    assert prog.labels() == ["E:min7", "A:7", "D:maj7", "D:maj6"]
    assert pg.from_template("pop/pop_inversions", 0).labels()[1] == "G:maj/3"
    assert pg.from_template("rock/minor_rock", 9).labels() == ["A:min", "F:maj", "C:maj",
                                                               "G:maj"]
    halved = pg.from_template("pop/axis", 0, repeats=2, halve=True)
    assert len(halved.spans) == 8 and halved.total_beats == 16


def test_bad_template_token() -> None:
    with pytest.raises(pg.ProgressionError):
        pg.parse_template("I VIII")


def test_random_walk_is_reproducible_from_its_seed() -> None:
    a = pg.random_walk(np.random.default_rng(7), 30)
    b = pg.random_walk(np.random.default_rng(7), 30)
    c = pg.random_walk(np.random.default_rng(8), 30)
    assert a.spans == b.spans and a.spans != c.spans
    assert len(a.spans) == 30
    labels = a.labels()
    assert all(x != y for x, y in itertools.pairwise(labels))


def test_random_walks_reach_every_quality() -> None:
    rng = np.random.default_rng(0)
    seen = {s.chord.quality for _ in range(10) for s in pg.random_walk(rng, 40).spans}
    assert set(QUALITIES) <= seen


def test_random_template_reproducible() -> None:
    a = pg.random_template(np.random.default_rng(3))
    b = pg.random_template(np.random.default_rng(3))
    assert a.spans == b.spans and a.source == b.source


def test_chordified_chorale() -> None:
    prog = pg.from_music21("bach/bwv269.mxl")
    again = pg.from_music21("bach/bwv269.mxl")
    assert prog.spans == again.spans
    assert prog.source == "music21:bach/bwv269.mxl"
    # Nearly every beat of a chorale is a plain triad or seventh chord of its key.
    beats = {q: 0.0 for q in QUALITIES}
    for s in prog.spans:
        if not s.chord.is_no_chord:
            beats[s.chord.quality] += s.beats
    assert (beats["maj"] + beats["min"]) / prog.total_beats > 0.6
    assert prog.labels()[0] == "G:maj"  # the chorale is in G major
    shifted = prog.transpose(2)
    assert shifted.labels()[0] == "A:maj"
