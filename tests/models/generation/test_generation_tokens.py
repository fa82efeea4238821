"""Tokens: every note, chord, bar and key comes back; pieces that cannot fit say why."""

from __future__ import annotations

import numpy as np
import pytest
from generation_support import parsed
from hypothesis import given
from hypothesis import strategies as st

from models.generation import tokens
from models.generation.piece import Piece, bar_ticks
from models.generation.tokens import DURATIONS, VELOCITIES, TokenizeError


def assert_round_trip(piece: Piece) -> None:
    back = tokens.decode(tokens.encode(piece))
    np.testing.assert_array_equal(back.notes, tokens.sort_notes(piece.notes))
    np.testing.assert_array_equal(back.chords, piece.chords)
    np.testing.assert_array_equal(back.bars, tokens.regular_bars(piece))
    np.testing.assert_array_equal(back.keys, piece.keys)


@pytest.mark.parametrize("source", ["ryansMammoth", "bach_chorales", "bach_rn", "oneills1850"])
def test_corpus_pieces_round_trip(source: str) -> None:
    for raw in parsed(source):
        piece = raw.piece
        tokens.normalize(piece)
        assert_round_trip(piece)


def test_melody_and_chord_streams_hold_only_their_part() -> None:
    piece = parsed("bach_chorales")[0].piece
    tokens.normalize(piece)
    kinds_melody = {tokens.token_kind(t) for t in tokens.encode(piece, chords=False)}
    kinds_chords = {tokens.token_kind(t) for t in tokens.encode(piece, notes=False)}
    assert "Chord" not in kinds_melody and {"Pitch", "Duration"} <= kinds_melody
    assert "Pitch" not in kinds_chords and "Chord" in kinds_chords
    np.testing.assert_array_equal(
        tokens.decode(tokens.encode(piece, notes=False)).chords, piece.chords)


@st.composite
def pieces(draw: st.DrawFn) -> Piece:
    num, den = draw(st.sampled_from([(4, 4), (3, 4), (6, 8), (2, 2), (5, 8), (9, 8)]))
    length = bar_ticks(num, den)
    n_bars = draw(st.integers(1, 6))
    bars = np.array([(i * length, num, den) for i in range(n_bars)], dtype=np.int32)
    end = n_bars * length
    notes = set()
    for _ in range(draw(st.integers(0, 25))):
        onset = draw(st.integers(0, end - 1))
        notes.add((onset, draw(st.sampled_from(DURATIONS)), draw(st.integers(21, 108)),
                   draw(st.sampled_from(VELOCITIES))))
    cuts = sorted(set(draw(st.lists(st.integers(1, end - 1), max_size=6))))
    chords = []
    for a, b in zip([0, *cuts], [*cuts, end], strict=True):
        if draw(st.booleans()):  # a gap (no chord) otherwise
            chords.append((a, b - a, draw(st.integers(0, 11)), draw(st.integers(0, 8))))
    merged: list[tuple[int, ...]] = []
    for c in chords:  # the same chord twice in a row is one chord
        if merged and merged[-1][2:] == c[2:] and merged[-1][0] + merged[-1][1] == c[0]:
            merged[-1] = (merged[-1][0], merged[-1][1] + c[1], *c[2:])
        else:
            merged.append(c)
    key = (0, draw(st.integers(0, 11)), draw(st.integers(0, 1)))
    return Piece("test", "test", notes=np.array(sorted(notes), np.int32).reshape(-1, 4),
                 bars=bars, keys=np.array([key], np.int32),
                 chords=np.array(merged, np.int32).reshape(-1, 4))


@given(pieces())
def test_random_pieces_round_trip(piece: Piece) -> None:
    assert_round_trip(piece)


def test_transposition_moves_pitches_keys_and_chords() -> None:
    piece = parsed("bach_chorales")[0].piece
    tokens.normalize(piece)
    up = piece.transposed(5)
    assert (up.notes[:, 2] - piece.notes[:, 2] == 5).all()
    assert (up.keys[:, 1] == (piece.keys[:, 1] + 5) % 12).all()
    assert (up.chords[:, 2] == (piece.chords[:, 2] + 5) % 12).all()
    assert_round_trip(up)


def test_unfit_pieces_raise_clear_errors() -> None:
    bars = np.array([[0, 4, 4]], np.int32)
    low = Piece("t", "t", notes=np.array([[0, 24, 5, 80]], np.int32), bars=bars)
    with pytest.raises(TokenizeError, match="pitch"):
        tokens.encode(low)
    odd = Piece("t", "t", notes=np.array([[0, 25, 60, 80]], np.int32), bars=bars)
    with pytest.raises(TokenizeError, match="quantize_duration"):
        tokens.encode(odd)
    meter = Piece("t", "t", notes=np.array([[0, 3, 60, 80]], np.int32),
                  bars=np.array([[0, 23, 32]], np.int32))
    with pytest.raises(TokenizeError, match="23/32"):
        tokens.encode(meter)


def test_decode_skips_tokens_out_of_place() -> None:
    ids = tokens.VOCAB.index()
    seq = [ids["BOS"], ids["Duration_12"], ids["Pitch_60"], ids["Bar"], ids["Pitch_62"],
           ids["Position_0"], ids["Pitch_64"], ids["Duration_12"], 99999, ids["EOS"]]
    piece = tokens.decode(seq)
    assert piece.notes.tolist() == [[0, 12, 64, 80]]


def test_key_relative_streams_move_every_piece_to_c() -> None:
    from models.generation.streams import chord_stream, melody_stream, to_c

    pieces = [raw.piece for src in ("oneills1850", "bach_chorales") for raw in parsed(src)]
    for p in pieces:
        tokens.normalize(p)
    for p in pieces:
        c = to_c(p)
        assert c.keys[0, 1] == 0 and c.keys[0, 2] == p.keys[0, 2]
        shift = int(c.notes[0, 2] - p.notes[0, 2])
        assert abs(shift) <= 6 and (c.notes[:, 2] - p.notes[:, 2] == shift).all()
    rel, plain = melody_stream(pieces, key_relative=True), melody_stream(pieces)
    assert rel.events == plain.events == [len(p.notes) for p in pieces]
    assert [len(s) for s in rel.sequences] == [len(s) for s in plain.sequences]
    chords = chord_stream(pieces, key_relative=True)
    assert chords.events == [len(p.chords) for p in pieces]
