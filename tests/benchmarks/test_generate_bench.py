"""The generation benchmark's metric code (benchmarks/generate_metrics.py) and its
sampling checks on the committed model. No timing assertions."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import generate_metrics as gmx
from benchmarks.generate import spread, unconstrained
from models.generation import dataset_cache, tokens
from models.generation.piece import MAJOR, MINOR, NO_CHORD, Piece, bar_ticks

Q = tokens.TPQ  # a quarter note in ticks
BAR44 = bar_ticks(4, 4)


def _bars(n: int, num: int = 4, den: int = 4) -> np.ndarray:
    return np.array([[i * bar_ticks(num, den), num, den] for i in range(n)], np.int32)


def _piece(notes: list[tuple[int, int, int]], bars: int = 2, chords: list[list[int]] | None
           = None, key: tuple[int, int] = (0, MAJOR)) -> Piece:
    return Piece("test", "p", notes=np.array([[o, d, p, 80] for o, d, p in notes],
                                             np.int32).reshape(-1, 4),
                 bars=_bars(bars), keys=np.array([[0, *key]], np.int32),
                 chords=np.array(chords or [], np.int32).reshape(-1, 4))


def test_strong_beats_follow_the_meter() -> None:
    assert gmx.strong_beats(_bars(2)) == {0, 2 * Q, BAR44, BAR44 + 2 * Q}
    assert gmx.strong_beats(_bars(1, 3, 4)) == {0}
    assert gmx.strong_beats(_bars(1, 6, 8)) == {0}  # two dotted-quarter beats
    assert gmx.strong_beats(_bars(1, 12, 8)) == {0, 2 * 3 * Q // 2}  # dotted quarters 1, 3


def test_chord_tone_counts_only_strong_beats_under_a_chord() -> None:
    # C major for bar 1, no chord in bar 2's first half, G major after.
    chords = [[0, BAR44, 0, 0], [BAR44, 2 * Q, NO_CHORD, 0], [BAR44 + 2 * Q, 2 * Q, 7, 0]]
    notes = [(0, Q, 64),          # E on beat 1 under C: chord tone
             (Q, Q, 62),          # beat 2: weak, not counted
             (2 * Q, Q, 62),      # D on beat 3 under C: not a chord tone
             (BAR44, Q, 60),      # under no chord: not counted
             (BAR44 + 2 * Q, Q, 59)]  # B under G: chord tone
    p = _piece(notes, chords=chords)
    assert gmx.chord_tone_counts(p.notes, p.chords, p.bars) == (2, 3)
    assert gmx.ratio([(2, 3), (1, 1)]) == 0.75
    assert gmx.ratio([]) is None


def test_key_consistency() -> None:
    c_major = [(i * Q, Q, p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]
    p = _piece(c_major)
    assert gmx.in_key_counts(p.notes, (0, MAJOR)) == (8, 8)
    assert gmx.in_key_counts(p.notes, (1, MAJOR)) == (3, 8)  # C, F, C in Db major
    # The minor scale holds the raised 6th and 7th: A harmonic minor's G# is in key.
    assert gmx.in_key_counts(np.array([[0, Q, 68, 80]]), (9, MINOR)) == (1, 1)
    tonic_heavy = _piece([(0, 4 * Q, 60), (4 * Q, Q, 64), (5 * Q, Q, 67), (6 * Q, 2 * Q, 60)])
    assert gmx.key_agrees(tonic_heavy.notes, (0, MAJOR))
    assert not gmx.key_agrees(np.zeros((0, 4), np.int32), (0, MAJOR))


def test_distances() -> None:
    a, b = np.array([1.0, 0.0]), np.array([0.0, 3.0])
    assert gmx.js_divergence(a, b) == pytest.approx(1.0)
    assert gmx.l1_distance(a, b) == pytest.approx(2.0)
    assert gmx.js_divergence(a, 5 * a) == pytest.approx(0.0)
    assert gmx.l1_distance(np.array([1, 1]), np.array([1, 3])) == pytest.approx(0.5)
    assert np.isnan(gmx.js_divergence(a, np.zeros(2)))


def test_histograms_count_relative_pitch_onset_and_duration() -> None:
    p = _piece([(0, Q, 62), (BAR44 + Q, 2 * Q, 69)], key=(2, MAJOR))
    h = gmx.Histograms.empty().add_piece(p)
    assert h.notes == 2
    assert h.pitch_class[0] == 1 and h.pitch_class[7] == 1  # D and A in D major
    assert h.onset[0] == 1 and h.onset[Q] == 1  # the second note: beat 2 of bar 2
    assert h.duration[tokens.DURATIONS.index(Q)] == 1
    assert h.duration[tokens.DURATIONS.index(2 * Q)] == 1
    d = gmx.distances(h, h)
    assert all(v == {"js": 0.0, "l1": 0.0} for v in d.values())


def test_bar_slice_moves_bars_to_zero_and_clips() -> None:
    notes = [(0, Q, 60), (BAR44, BAR44 + Q, 62), (2 * BAR44 + Q, Q, 64)]
    chords = [[0, 2 * BAR44, 0, 0], [2 * BAR44, BAR44, 7, 0]]
    p = _piece(notes, bars=3, chords=chords, key=(7, MAJOR))
    clip = gmx.bar_slice(p, 1, 1)
    assert clip.notes.tolist() == [[0, BAR44, 62, 80]]  # cut at the slice's end
    assert clip.chords.tolist() == [[0, BAR44, 0, 0]]
    assert clip.bars.tolist() == [[0, 4, 4]]
    assert clip.keys.tolist() == [[0, 7, MAJOR]]
    assert gmx.chord_changes(clip) == [(0, "C")]
    with pytest.raises(ValueError):
        gmx.bar_slice(p, 2, 2)
    mixed = Piece("t", "m", bars=np.array([[0, 4, 4], [BAR44, 3, 4]], np.int32))
    assert not gmx.single_meter(mixed, 0, 2)
    assert gmx.single_meter(mixed, 1, 1)


def test_chords_cover_and_merge() -> None:
    full = _piece([], bars=1, chords=[[0, 2 * Q, 0, 0], [2 * Q, 2 * Q, 7, 0]])
    assert gmx.chords_cover(full)
    gap = _piece([], bars=1, chords=[[0, Q, 0, 0], [2 * Q, 2 * Q, 7, 0]])
    assert not gmx.chords_cover(gap)
    rows = np.array([[0, BAR44, 0, 0], [BAR44, BAR44, 0, 0], [2 * BAR44, Q, 7, 0]], np.int32)
    assert gmx.merged_chords(rows).tolist() == [[0, 2 * BAR44, 0, 0], [2 * BAR44, Q, 7, 0]]


def test_valid_clips_pass_and_broken_ones_say_why() -> None:
    melody = _piece([(0, Q, 60), (Q, Q, 62), (BAR44, 2 * Q, 64)])
    assert gmx.piece_problem(melody, "melody", 2) is None
    assert gmx.piece_problem(melody, "melody", 3) == "2 bars instead of 3"
    overlap = _piece([(0, 2 * Q, 60), (Q, Q, 62)])
    assert "not allowed" in (gmx.piece_problem(overlap, "melody", 2) or "")
    past_end = _piece([(BAR44 + 3 * Q, 2 * Q, 60)])
    assert gmx.piece_problem(past_end, "melody", 2) is not None
    lead = _piece([(0, Q, 60)], chords=[[0, BAR44, 0, 0], [BAR44, BAR44, 0, 0]])
    assert gmx.piece_problem(lead, "lead", 2) is None  # a repeat at the bar line is merged
    assert gmx.piece_problem(lead, "melody", 2) == "chords in a melody"
    assert gmx.piece_problem(lead, "chords", 2) == "notes in a chord progression"


def test_grammar_check_finds_the_first_bad_token() -> None:
    ids = tokens.encode(_piece([(0, Q, 60)], bars=1), notes=True, chords=False).tolist()
    assert gmx.grammar_check(ids, "melody", 1) is None
    assert gmx.grammar_check(ids[:-1], "melody", 1) == "no EOS"
    assert gmx.grammar_check([*ids, tokens.EOS], "melody", 1) == "tokens after EOS"
    bad = [*ids[:4], ids[5], *ids[4:]]  # Pitch before its Position
    assert "not allowed" in (gmx.grammar_check(bad, "melody", 1) or "")


def test_spread_takes_evenly_spaced_items() -> None:
    assert spread(list(range(10)), 3) == [0, 4, 9]  # round(4.5) = 4 (banker's)
    assert spread([1, 2], 5) == [1, 2]
    assert spread([1, 2], None) == [1, 2]


def test_unconstrained_sampling_on_the_committed_model() -> None:
    from models.generation.backends import OnnxBackend

    res = unconstrained(dataset_cache.load(), OnnxBackend(threads=1), count=1, seeds=1)
    assert res["samples"] == 1
    assert res["valid_frac"] in (0.0, 1.0)
    assert res["finished"] + res["cut_off_by_context"] == 1
