"""Parsing real corpus files: pickups land on the metric grid, chorales get per-beat
chords from all voices that mostly agree with the human analysis, folk tunes get
weak chords, and MidiTok's REMI (an independent tokenizer) sees the same notes."""

from __future__ import annotations

import numpy as np
from generation_support import parsed

from models.generation import harmony, tokens
from models.generation.tokenization_compare import compare


def test_chorale_pickup_starts_inside_the_first_bar() -> None:
    chorale = parsed("bach_chorales")[0].piece  # BWV 269 opens with a one-beat pickup
    assert chorale.bars[0, 0] == 0 and chorale.bars[1, 0] == 72
    assert chorale.notes[0, 0] == 48  # the third beat of the 3/4 pickup bar
    assert (chorale.notes[:, 2] >= 60).all()  # the soprano, not the bass
    assert chorale.chord_kind == "texture" and len(chorale.chords) > 20
    np.testing.assert_array_equal(chorale.keys, [[0, 7, 0]])  # G major


def test_texture_chords_agree_with_the_human_analysis() -> None:
    chorale = parsed("bach_chorales")[0].piece
    human = parsed("bach_rn")[0].piece
    assert human.chord_kind == "human" and human.link == chorale.link == "bwv269"
    assert len(human.notes) == 0
    np.testing.assert_array_equal(human.bars[:, 0], chorale.bars[: len(human.bars), 0])
    beats = np.array([s for s, _ in harmony.segments(chorale.bars, chorale.end_tick(), "beat")])
    ours = harmony.chord_at(chorale.chords, beats)
    gold = harmony.chord_at(human.chords, beats)
    known = (ours[:, 0] >= 0) & (gold[:, 0] >= 0)
    assert (ours[known, 0] == gold[known, 0]).mean() > 0.7


def test_folk_tunes_get_weak_chords_in_their_key() -> None:
    for raw in parsed("oneills1850"):
        tune = raw.piece
        assert tune.chord_kind == "weak" and len(tune.chords) > 0
        tonic = int(tune.keys[0, 1])
        roots = tune.chords[tune.chords[:, 2] >= 0, 2]
        assert tonic in roots  # the tonic chord appears in every tune
        # Chords change at bar lines, or half bars in long bars.
        halves = {s for s, _ in harmony.segments(tune.bars, tune.end_tick(), "half")}
        assert set(tune.chords[:, 0].tolist()) <= halves


def test_miditok_remi_gives_back_the_same_notes() -> None:
    pieces = [raw.piece for src in ("ryansMammoth", "oneills1850") for raw in parsed(src)]
    for p in pieces:
        tokens.normalize(p)
    result = compare(pieces)
    assert result["ours"]["exact_pieces"] == len(pieces)  # type: ignore[index]
    assert result["miditok_remi"]["exact_pieces"] == len(pieces)  # type: ignore[index]
