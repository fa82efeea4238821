"""The constrained-decoding grammar: every sequence it allows decodes to a playable
clip, whatever is chosen among the allowed tokens."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from models.generation import grammar as gm
from models.generation import tokens
from models.generation.model import MODEL_VOCAB
from models.generation.piece import MAJOR, MINOR, Piece, bar_ticks


def _walk(c: gm.Constraints, prefix: list[int], seed: int, bias: bool = False
          ) -> list[int]:
    """Pick among the allowed tokens at random (uniformly, or by the grammar's bias),
    checking that the mask is never empty; the whole sequence, EOS last."""
    rng = np.random.default_rng(seed)
    g = gm.Grammar(c, MODEL_VOCAB).feed_all(prefix)
    g.start_generation()
    seq = list(prefix)
    for _ in range(20000):
        adj = g.adjustment()
        allowed = np.flatnonzero(np.isfinite(adj))
        assert len(allowed), f"empty mask after {seq[-6:]}"
        assert allowed.max() < len(tokens.VOCAB)  # never PAD/BOS/task tokens
        assert tokens.PAD not in allowed and tokens.BOS not in allowed
        if bias:
            w = np.exp(adj[allowed] - adj[allowed].max())
            t = int(rng.choice(allowed, p=w / w.sum()))
        else:
            t = int(rng.choice(allowed))
        g.feed(t)
        seq.append(t)
        if t == tokens.EOS:
            assert g.done
            return seq
    raise AssertionError("no EOS")


def _header(key: tuple[int, int] = (0, MAJOR), meter: tuple[int, int] = (4, 4)) -> list[int]:
    return [tokens.BOS, gm.key_token(*key), gm.time_signature_token(*meter)]


def _check_structure(seq: list[int], stream: str) -> None:
    """Positions strictly increase inside each bar and stay inside it; every Position
    is followed by a chord or a note; no overlapping notes; the stream's kinds only."""
    meter = tokens.TIME_SIGNATURES[seq[2] - gm.TS0]
    bar_len = bar_ticks(*meter)
    pos = -1
    for a, b in itertools.pairwise(seq):
        if a == tokens.BAR:
            pos = -1
        if gm.POS0 <= a < gm.POS_END:
            p = a - gm.POS0
            assert pos < p < bar_len
            pos = p
            assert gm.CHORD0 <= b < gm.CHORD_END or gm.VEL0 <= b < gm.PITCH_END
        if stream == "melody":
            assert not gm.CHORD_N <= a < gm.CHORD_END
        if stream == "chords":
            assert not gm.VEL0 <= a < gm.DUR_END
    piece = tokens.decode(seq)
    n = piece.notes
    if len(n) > 1:
        assert (n[1:, 0] >= n[:-1, 0] + n[:-1, 1]).all(), "overlapping notes"


@pytest.mark.parametrize("stream", gm.STREAMS)
@pytest.mark.parametrize("meter", [(4, 4), (3, 4), (6, 8), (7, 8), (5, 4)])
def test_random_walks_decode_to_clips_of_exactly_the_bars_asked(
        stream: str, meter: tuple[int, int]) -> None:
    for seed in range(6):
        bars = 1 + seed % 4
        c = gm.Constraints(stream=stream, end_bar=bars)
        seq = _walk(c, _header(meter=meter), seed)
        _check_structure(seq, stream)
        piece = tokens.decode(seq)
        assert len(piece.bars) == bars
        assert piece.end_tick() == bars * bar_ticks(*meter)  # no note past the end
        # A grammar sequence is the canonical encoding of what it decodes to.
        again = tokens.encode(piece, notes=stream != "chords", chords=stream != "melody")
        assert again.tolist() == seq


def test_keep_in_key_pitch_range_and_note_cap() -> None:
    for key in [(0, MAJOR), (9, MINOR), (6, MAJOR), (3, MINOR)]:
        c = gm.Constraints(stream="lead", end_bar=3, keep_in_key=True, pitch_range=(55, 79),
                           max_notes_per_bar=4)
        for seed in range(5):
            seq = _walk(c, _header(key), seed)
            piece = tokens.decode(seq)
            scale = gm.scale_pitch_classes(*key)
            assert set((piece.notes[:, 2] % 12).tolist()) <= scale
            assert piece.notes[:, 2].min() >= 55 and piece.notes[:, 2].max() <= 79
            for _, _, r, q in piece.chords.tolist():
                assert gm.chord_pitch_classes(r, q) <= scale
            per_bar = np.bincount(piece.notes[:, 0] // 96, minlength=3)
            assert per_bar.max() <= 4


def test_minor_keeps_its_raised_sixth_and_seventh() -> None:
    assert gm.scale_pitch_classes(9, MINOR) == frozenset({9, 11, 0, 2, 4, 5, 6, 7, 8})
    assert gm.scale_pitch_classes(0, MAJOR) == frozenset({0, 2, 4, 5, 7, 9, 11})


def test_forced_chords_appear_at_their_ticks_and_no_others() -> None:
    forced = {0: gm.chord_token(0, 0), 96: gm.chord_token(7, 4), 144: gm.chord_token(9, 1),
              288: gm.chord_token(5, 0), 500: gm.chord_token(2, 1)}  # 500: past the end
    c = gm.Constraints(stream="lead", end_bar=4, forced_chords=forced)
    for seed in range(20):
        seq = _walk(c, _header(), seed)
        piece = tokens.decode(seq)
        got = {int(o): gm.chord_token(int(r), int(q)) for o, _, r, q in piece.chords.tolist()}
        assert got == {t: tok for t, tok in forced.items() if t < 384}
        _check_structure(seq, "lead")


def test_chord_tokens_are_changes_and_the_chord_cap_holds() -> None:
    c = gm.Constraints(stream="chords", end_bar=6, max_chords_per_bar=2)
    for seed in range(10):
        seq = _walk(c, _header(), seed)
        chords = [t for t in seq if gm.CHORD_N <= t < gm.CHORD_END]
        assert gm.CHORD_N not in chords
        assert all(a != b for a, b in itertools.pairwise(chords))
        bars: list[int] = []
        for t in seq:
            if t == tokens.BAR:
                bars.append(0)
            elif gm.CHORD0 <= t < gm.CHORD_END:
                bars[-1] += 1
        assert max(bars) <= 2


def test_without_a_bar_limit_eos_comes_only_between_events() -> None:
    c = gm.Constraints(stream="melody")
    for seed in range(10):
        seq = _walk(c, _header(), seed)
        assert seq.count(tokens.BAR) >= 1
        prev = seq[-2]
        assert prev == tokens.BAR or gm.DUR0 <= prev < gm.DUR_END


def test_density_bias_moves_the_number_of_notes() -> None:
    def notes(density: float) -> int:
        c = gm.Constraints(stream="melody", end_bar=4, density=density)
        return sum(len(tokens.decode(_walk(c, _header(), s, bias=True)).notes)
                   for s in range(12))

    sparse, dense = notes(0.25), notes(4.0)
    assert dense > 2 * sparse


def test_a_prompt_is_followed_and_its_held_note_does_not_block_new_bars() -> None:
    piece = Piece("t", "t", notes=np.array([[0, 24, 60, 80], [24, 96, 67, 80]], np.int32),
                  bars=np.array([[0, 3, 4], [72, 3, 4]], np.int32),
                  keys=np.array([[0, 7, MAJOR]], np.int32))
    prompt = [*tokens.encode(piece, chords=False).tolist()[:-1], tokens.BAR]
    g = gm.Grammar(gm.Constraints(stream="melody", end_bar=4)).feed_all(prompt)
    assert (g.bars, g.meter, g.key) == (3, (3, 4), (7, MAJOR))
    for seed in range(5):
        seq = _walk(gm.Constraints(stream="melody", end_bar=4), prompt, seed)
        assert seq.count(tokens.BAR) == 4
        assert seq[:len(prompt)] == prompt


def test_bad_constraints_are_refused() -> None:
    with pytest.raises(ValueError, match="stream"):
        gm.Constraints(stream="drums")
    with pytest.raises(ValueError, match="pitch range"):
        gm.Constraints(pitch_range=(10, 200))
    with pytest.raises(ValueError, match="forced chords"):
        gm.Constraints(stream="melody", forced_chords={0: gm.chord_token(0, 0)})
    with pytest.raises(ValueError, match="density"):
        gm.Constraints(density=100.0)
    with pytest.raises(ValueError, match="vocab_size"):
        gm.Grammar(gm.Constraints(), vocab_size=10)


def test_chord_tone_bias_pulls_notes_on_beats_to_the_chord() -> None:
    forced = {0: gm.chord_token(0, 0), 96: gm.chord_token(7, 0)}
    c = gm.Constraints(stream="lead", end_bar=2, forced_chords=forced, chord_tone_bias=30.0)
    for seed in range(8):
        piece = tokens.decode(_walk(c, _header(), seed, bias=True))
        for onset, _, pitch, _ in piece.notes.tolist():
            if onset % 24 == 0:
                chord = (0, 0) if onset < 96 else (7, 0)
                assert pitch % 12 in gm.chord_pitch_classes(*chord)
