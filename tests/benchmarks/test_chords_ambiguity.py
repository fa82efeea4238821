"""The ambiguity census of the chord evaluation sets: which labelled spans are, note
for note, another chord, and the figures it prints."""

from __future__ import annotations

import json

import pytest

from benchmarks import chords_ambiguity as amb
from models.chords.vocabulary import parse


@pytest.mark.parametrize(("label", "notes", "bass", "kind"), [
    ("C:maj", {0, 4, 7}, 0, "clear"),
    ("G:7", {7, 11, 5}, 7, "clear"),  # no fifth, and still no other chord
    ("C:maj6/6", {9, 0, 4, 7}, 9, "root_position_other"),  # A C E G is A:min7
    ("C:min6", {0, 3, 9}, 0, "complete_other"),  # C Eb A, no fifth: A:dim/C
    ("C:maj6/3", {4, 7, 9, 0}, 4, "inverted_tie"),  # E G A C is A:min7/5 as well
    ("C:dim7/b3", {3, 6, 9, 0}, 3, "clear"),  # every reading is out of majmin's gamut
])
def test_spans_are_classified_by_the_chords_their_notes_spell(
        label: str, notes: set[int], bass: int, kind: str) -> None:
    assert amb.classify(parse(label), frozenset(notes), bass) == kind


def test_majmin_reading_follows_mir_eval_families() -> None:
    assert amb.majmin_class(parse("A:min7/b3")) == (9, "min")
    assert amb.majmin_class(parse("D:maj6")) == (2, "maj")
    assert amb.majmin_class(parse("B:hdim7")) is None
    assert amb.majmin_class(parse("N")) is None


def test_the_census_prints_shares_that_cover_the_scored_time(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert amb.main(["valid_music21"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    r = result["sets"]["valid_music21"]
    assert r["clips"] == 34
    assert sum(r["shares"].values()) + r["closing_no_chord_share"] == pytest.approx(1, abs=1e-3)
    assert 0 < r["shares"]["clear"] < 1 and r["shares"]["root_position_other"] == 0
    assert r["shares"]["clear"] < r["majmin_ceiling_half"] < 1


def test_an_unknown_set_is_refused() -> None:
    with pytest.raises(SystemExit):
        amb.main(["train"])
