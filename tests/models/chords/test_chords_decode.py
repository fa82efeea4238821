"""The chord decoders on synthetic log-probabilities: CTC beam search (checked against
exhaustive search), forced alignment (against every segmentation), segments, bass,
minimum duration, silence, beat smoothing."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from chords_decode_support import log_softmax, outputs_for
from hypothesis import given, settings
from hypothesis import strategies as st

from models.chords import decode as dec
from models.chords.vocabulary import N_INDEX, from_index, parse

FPS = 43.0


def _exact_best(lp: np.ndarray, blank: int) -> tuple[int, ...]:
    """The labelling with the highest total probability, by summing every path."""
    T, C = lp.shape
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(C), repeat=T):
        labels: list[int] = []
        prev = -1
        for c in path:
            if c != blank and c != prev:
                labels.append(c)
            prev = c
        key = tuple(labels)
        score = float(sum(lp[t, c] for t, c in enumerate(path)))
        totals[key] = np.logaddexp(totals.get(key, -math.inf), score)
    return max(totals, key=lambda k: totals[k])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_beam_search_finds_the_most_probable_labelling(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lp = log_softmax(rng.normal(0, 2.0, (6, 4)))  # 3 labels + blank 3
    got = dec.ctc_beam_search(lp, beam_width=64, prune=1e-12, blank=3)
    exact = _exact_best(lp, 3)
    if tuple(got) != exact:
        # a tie within float rounding is not a failure
        def score(seq: tuple[int, ...]) -> float:
            return _labelling_logprob(lp, seq, 3)
        assert score(tuple(got)) == pytest.approx(score(exact), abs=1e-9)


def _labelling_logprob(lp: np.ndarray, seq: tuple[int, ...], blank: int) -> float:
    ext = [blank]
    for c in seq:
        ext += [c, blank]
    S = len(ext)
    alpha = np.full(S, -math.inf)
    alpha[0] = lp[0, blank]
    if S > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, lp.shape[0]):
        new = np.full(S, -math.inf)
        for s in range(S):
            a = alpha[s]
            if s >= 1:
                a = np.logaddexp(a, alpha[s - 1])
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                a = np.logaddexp(a, alpha[s - 2])
            new[s] = a + lp[t, ext[s]]
        alpha = new
    return float(np.logaddexp(alpha[-1], alpha[-2]) if S > 1 else alpha[-1])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.3, 4.0), st.integers(1, 12))
def test_compiled_beam_search_equals_the_python_reference(seed: int, noise: float,
                                                          width: int) -> None:
    rng = np.random.default_rng(seed)
    seq = [int(c) for c in rng.integers(0, 157, 12)]
    out = outputs_for(seq, [int(n) for n in rng.integers(3, 30, 12)], rng, noise=noise)
    lp = out["ctc_logprobs"]
    assert dec.ctc_beam_search(lp, width) == dec.ctc_beam_search_py(lp, width)


def test_flat_outputs_decode_without_blowing_up() -> None:
    # an untrained model: every class equally likely everywhere
    T = 2000
    out = {"ctc_logprobs": np.full((T, 158), -math.log(158), np.float32),
           "frame_logprobs": np.full((T, 157), -math.log(157), np.float32),
           "bass_logprobs": np.full((T, 13), -math.log(13), np.float32)}
    for decoder in (dec.decode_ctc, dec.decode_frames, dec.decode_hmm):
        segs = decoder(out, FPS, T / FPS)
        _check_tiling(segs, T / FPS)
        assert min(s.end - s.start for s in segs) >= dec.MIN_DURATION - 1.01 / FPS


def test_beam_search_keeps_a_repeated_chord_separated_by_blank() -> None:
    # C C blank C -> two C's; C C C -> one
    lp = np.full((5, 158), -20.0, np.float32)
    for t, c in enumerate([0, 0, dec.BLANK, 0, dec.BLANK]):
        lp[t, c] = 0.0
    assert dec.ctc_beam_search(lp) == [0, 0]
    lp2 = np.full((3, 158), -20.0, np.float32)
    lp2[:, 0] = 0.0
    assert dec.ctc_beam_search(lp2) == [0]


def test_beam_search_refuses_a_wrong_shape() -> None:
    with pytest.raises(ValueError, match="158"):
        dec.ctc_beam_search(np.zeros((4, 157), np.float32))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(4, 9))
def test_alignment_is_the_best_segmentation(seed: int, L: int, T: int) -> None:
    rng = np.random.default_rng(seed)
    em = rng.normal(0, 1, (T, 5))
    seq = list(rng.integers(0, 5, L))
    starts = dec.align(seq, em)
    assert starts[0] == 0 and (np.diff(starts) > 0).all() and starts[-1] < T

    def score(st_: tuple[int, ...]) -> float:
        bounds = [*st_, T]
        return sum(em[bounds[j]: bounds[j + 1], seq[j]].sum() for j in range(L))

    best = max(score((0, *c)) for c in itertools.combinations(range(1, T), L - 1))
    assert score(tuple(int(s) for s in starts)) == pytest.approx(best)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.floats(0.0, 4.0))
def test_switch_viterbi_finds_the_best_path(seed: int, T: int, penalty: float) -> None:
    rng = np.random.default_rng(seed)
    em = rng.normal(0, 1, (T, 3))

    def score(path: tuple[int, ...]) -> float:
        changes = sum(a != b for a, b in itertools.pairwise(path))
        return float(sum(em[t, c] for t, c in enumerate(path)) - penalty * changes)

    got = tuple(int(c) for c in dec._viterbi_switch(em, penalty))
    best = max(score(p) for p in itertools.product(range(3), repeat=T))
    assert score(got) == pytest.approx(best)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.floats(0.0, 4.0),
       st.floats(0.0, 6.0))
def test_change_viterbi_finds_the_best_path(seed: int, T: int, penalty: float,
                                            spread: float) -> None:
    # A bonus per change (a, c) that may exceed the penalty: the search keeps only
    # classes near the best one, and must still find the best path.
    rng = np.random.default_rng(seed)
    em = rng.normal(0, 1, (T, 4))
    bonus = rng.normal(0, spread, (4, 4))
    np.fill_diagonal(bonus, 0.0)

    def score(path: tuple[int, ...]) -> float:
        return float(sum(em[t, c] for t, c in enumerate(path)) + sum(
            bonus[a, b] - penalty for a, b in itertools.pairwise(path) if a != b))

    got = tuple(int(c) for c in dec._viterbi_changes(em, penalty, bonus, float(bonus.max()),
                                                     float(bonus.min())))
    best = max(score(p) for p in itertools.product(range(4), repeat=T))
    assert score(got) == pytest.approx(best)


def test_change_viterbi_without_bonus_is_the_switch_viterbi() -> None:
    rng = np.random.default_rng(5)
    with np.errstate(divide="ignore"):  # such sparse draws hold exact zeros
        em = np.log(rng.dirichlet(np.full(dec.NUM_CLASSES, 0.05), 400))
    em = np.maximum(em, -40.0)
    zero = np.zeros((dec.NUM_CLASSES, dec.NUM_CLASSES))
    for penalty in (0.5, 8.0, 48.0):
        assert (dec._viterbi_changes(em, penalty, zero, 0.0, 0.0)
                == dec._viterbi_switch(em, penalty)).all()


def test_the_transition_model_takes_the_common_change_where_the_audio_is_unsure() -> None:
    # G:maj, then 30 frames where C#:maj leads C:maj by 0.2 nat a frame (6 nats): G
    # -> C (up a fourth) is among the commonest changes in the training labels and
    # G -> C# among the rarest, so the transition model names C:maj; without it,
    # the frames alone name C#:maj.
    T, change = 60, 30
    g, c, cs = (parse(x).index for x in ("G:maj", "C:maj", "C#:maj"))
    frame = np.full((T, dec.NUM_CLASSES), -12.0)
    frame[:change, g] = -0.05
    frame[change:, cs], frame[change:, c] = -0.6, -0.8
    out = {"frame_logprobs": log_softmax(frame)}
    plain = dec.decode_hmm(out, FPS, T / FPS, options=dec.DecodeOptions(transition_weight=0.0))
    assert [s.index for s in plain] == [g, cs]
    assert [s.index for s in dec.decode_hmm(out, FPS, T / FPS)] == [g, c]


def test_a_higher_switch_penalty_gives_fewer_changes() -> None:
    rng = np.random.default_rng(8)
    out = outputs_for([0, 13, 26, 39], [40, 40, 40, 40], rng, noise=2.5)
    counts = [len(dec.decode_hmm(out, FPS, 160 / FPS, options=dec.DecodeOptions(
        switch_penalty=p, min_duration=0.0))) for p in (0.0, 4.0, 30.0)]
    assert counts[0] >= counts[1] >= counts[2] and counts[2] <= 4


def test_the_no_chord_bias_ends_a_chord_where_its_release_turns_to_no_chord() -> None:
    # 60 frames of C:maj, then a 40-frame ring-out where N leads C:maj by 1.0 nat a
    # frame: 40 nats, under the 48 a change costs, so without the bias the chord
    # rings on to the end; with it N wins at the ring-out's start. (Every change
    # costs the same here: the transition model would make C:maj -> N cheaper.)
    T, ring = 100, 60
    c = parse("C:maj").index
    frame = np.full((T, dec.NUM_CLASSES), -12.0)
    frame[:ring, c] = -0.05
    frame[ring:, N_INDEX], frame[ring:, c] = -0.3, -1.3
    out = {"frame_logprobs": log_softmax(frame)}
    plain = dec.decode_hmm(out, FPS, T / FPS, options=dec.DecodeOptions(
        no_chord_bias=0.0, transition_weight=0.0))
    biased = dec.decode_hmm(out, FPS, T / FPS,
                            options=dec.DecodeOptions(transition_weight=0.0))
    assert [s.index for s in plain] == [c]
    assert [s.index for s in biased] == [c, N_INDEX]
    assert biased[1].start == pytest.approx(ring / FPS, abs=1.5 / FPS)
    # a chord heard clearly is not given up: N would need the bias and then some
    clear = np.full((T, dec.NUM_CLASSES), -12.0)
    clear[:, c], clear[ring:, N_INDEX] = -0.05, -3.0
    assert [s.index for s in dec.decode_hmm({"frame_logprobs": log_softmax(clear)}, FPS,
                                             T / FPS)] == [c]


def test_alignment_refuses_more_labels_than_frames() -> None:
    with pytest.raises(ValueError):
        dec.align([1, 2, 3], np.zeros((2, 5)))


def _check_tiling(segs: list[dec.Segment], duration: float) -> None:
    assert segs[0].start == 0.0 and segs[-1].end == pytest.approx(duration)
    for a, b in itertools.pairwise(segs):
        assert a.end == pytest.approx(b.start) and b.end > b.start
        assert (a.index, a.bass) != (b.index, b.bass)  # equal neighbours are joined
    for s in segs:
        assert 0.0 <= s.confidence <= 1.0
        parse(s.label)


@pytest.mark.parametrize("decoder", [dec.decode_ctc, dec.decode_frames, dec.decode_hmm])
def test_decoders_recover_chords_and_boundaries(decoder) -> None:
    rng = np.random.default_rng(3)
    seq = [N_INDEX] + [int(c) for c in rng.integers(0, 156, 40)] + [N_INDEX]
    seq = [c for i, c in enumerate(seq) if i == 0 or c != seq[i - 1]]
    lengths = [int(n) for n in rng.integers(12, 60, len(seq))]
    out = outputs_for(seq, lengths, rng)
    duration = sum(lengths) / FPS + 0.01
    # Uniformly random changes, some as short as 12 frames: the transition model
    # would rightly doubt the rarest of them, so every change costs the same here.
    segs = decoder(out, FPS, duration, t0=0.0,
                   options=dec.DecodeOptions(transition_weight=0.0))
    _check_tiling(segs, duration)
    assert [s.index for s in segs] == seq
    true_starts = np.cumsum([0, *lengths[:-1]]) / FPS
    got = np.array([s.start for s in segs])
    assert np.abs(got - true_starts).max() <= 1.5 / FPS  # frame-accurate


def test_the_blank_run_shortcut_gives_the_full_searchs_answer() -> None:
    # not a timing test: the blank-run shortcut must leave the result unchanged
    rng = np.random.default_rng(5)
    seq = [3, 17, 40, 3]
    out = outputs_for(seq, [80, 90, 70, 60], rng)
    slow = dec.ctc_beam_search(out["ctc_logprobs"], prune=1e-30)
    fast = dec.ctc_beam_search(out["ctc_logprobs"])
    assert slow == fast == seq


def test_a_confident_bass_gives_an_inversion_and_a_weak_one_does_not() -> None:
    rng = np.random.default_rng(1)
    c_maj, a_min7 = parse("C:maj").index, parse("A:min7").index
    # C with E in the bass (confident), A:min7 with G in the bass (weak)
    out = outputs_for([c_maj, a_min7], [60, 60], rng, bass=[4, 7], bass_gain=8.0)
    segs = dec.decode_ctc(out, FPS, 120 / FPS)
    assert [s.label for s in segs] == ["C:maj/3", "A:min7/b7"]
    weak = outputs_for([c_maj, a_min7], [60, 60], rng, bass=[4, 7], bass_gain=0.8)
    assert [s.label for s in dec.decode_ctc(weak, FPS, 120 / FPS)] == ["C:maj", "A:min7"]
    # a bass that is no chord tone is not reported (C with a D bass)
    odd = outputs_for([c_maj], [60], rng, bass=[2], bass_gain=8.0)
    assert [s.label for s in dec.decode_ctc(odd, FPS, 60 / FPS)] == ["C:maj"]
    # a higher threshold turns the inversion off
    opts = dec.DecodeOptions(bass_threshold=1.01)
    assert dec.decode_ctc(out, FPS, 120 / FPS, options=opts)[0].label == "C:maj"


def test_the_bass_chooses_between_chords_that_share_their_notes() -> None:
    """C:maj6 and A:min7 are the same four notes: the frame head cannot tell them
    apart, the bass (root position is the likelier) does; a bass on another chord
    tone still allows the chord (an inversion), and weight 0 ignores the bass."""
    rng = np.random.default_rng(2)
    c6, am7 = parse("C:maj6").index, parse("A:min7").index
    for bass_pc, want in ((0, "C:maj6"), (9, "A:min7")):
        out = outputs_for([parse(want).index], [80], rng, noise=0.1, bass=[bass_pc],
                          bass_gain=6.0)
        frame = out["frame_logprobs"].copy()
        # a frame head that slightly prefers the wrong one of the two
        wrong = am7 if want == "C:maj6" else c6
        frame[:, wrong] = frame[:, parse(want).index] + 0.3
        out["frame_logprobs"] = frame
        assert [s.label for s in dec.decode_hmm(out, FPS, 80 / FPS)] == [want]
        ignore = dec.DecodeOptions(bass_weight=0.0)
        got = [s.index for s in dec.decode_hmm(out, FPS, 80 / FPS, options=ignore)]
        assert got == [wrong]
    # evidence: root position first, then the other chord tones, then anything else
    ev = dec.bass_evidence(np.log(np.eye(13)[[0, 4, 2, 12]] * 0.999 + 0.001 / 13))
    c_maj = parse("C:maj").index
    assert ev[0, c_maj] > ev[1, c_maj] > ev[2, c_maj]
    assert ev[3, N_INDEX] > ev[3, c_maj]
    assert np.allclose(dec.bass_given_chord().sum(axis=1), 1.0)


def test_flickers_shorter_than_the_minimum_duration_join_a_neighbour() -> None:
    rng = np.random.default_rng(2)
    g, c = parse("G:maj").index, parse("C:maj").index
    out = outputs_for([g, c, g], [50, 2, 50], rng)
    segs = dec.decode_frames(out, FPS, 102 / FPS, options=dec.DecodeOptions(median_frames=1))
    assert [s.index for s in segs] == [g]
    keep = dec.decode_frames(out, FPS, 102 / FPS,
                             options=dec.DecodeOptions(median_frames=1, min_duration=0.0))
    assert [s.index for s in keep] == [g, c, g]


def test_silent_frames_are_no_chord() -> None:
    rng = np.random.default_rng(4)
    c, g = parse("C:maj").index, parse("G:maj").index
    # the model hears G where the audio is silent: silence wins
    out = outputs_for([c, g, c], [80, 60, 60], rng)
    silent = np.zeros(200, bool)
    silent[80:140] = True
    forced = dec.force_no_chord(out, silent)
    for decoder in (dec.decode_ctc, dec.decode_frames, dec.decode_hmm):
        segs = decoder(forced, FPS, 200 / FPS)
        assert [s.index for s in segs] == [c, N_INDEX, c]
        assert segs[1].start == pytest.approx(80 / FPS, abs=1.5 / FPS)
        assert segs[1].end == pytest.approx(140 / FPS, abs=1.5 / FPS)
    assert forced["ctc_logprobs"] is not out["ctc_logprobs"]  # the input is unchanged
    assert (out["frame_logprobs"][80:140, g] > -3).all()


def test_empty_outputs_give_one_no_chord_segment() -> None:
    out = {"ctc_logprobs": np.zeros((0, 158), np.float32),
           "frame_logprobs": np.zeros((0, 157), np.float32),
           "bass_logprobs": np.zeros((0, 13), np.float32)}
    for decoder in (dec.decode_ctc, dec.decode_frames, dec.decode_hmm):
        assert decoder(out, FPS, 0.01) == [dec.Segment(0.0, 0.01, N_INDEX, 1.0)]
        assert decoder(out, FPS, 0.0) == []


def test_a_window_decodes_without_stretching_its_last_segment() -> None:
    rng = np.random.default_rng(6)
    out = outputs_for([0, 20], [50, 50], rng)
    segs = dec.decode_ctc(out, FPS, math.inf, t0=10.0, final=False)
    assert segs[0].start == 10.0 and segs[-1].end == pytest.approx(10.0 + 100 / FPS)


def _seg(a: float, b: float, label: str) -> dec.Segment:
    return dec.Segment(a, b, parse(label).index, 0.9)


def test_beat_sync_snaps_boundaries_and_drops_sub_beat_chords() -> None:
    beats = [0.5 * k for k in range(1, 20)]
    segs = [_seg(0.0, 1.06, "C:maj"), _seg(1.06, 1.3, "F:maj"), _seg(1.3, 2.43, "G:maj"),
            _seg(2.43, 2.75, "N"), _seg(2.75, 4.0, "A:min")]
    out = dec.beat_sync(segs, beats, tolerance=0.12)
    labels = [s.label for s in out]
    # F (a quarter of a beat after snapping) goes; the short N is kept
    assert labels == ["C:maj", "G:maj", "N", "A:min"]
    assert out[0].end == 1.0  # 1.06 snapped onto the beat at 1.0
    assert out[1].end == 2.5  # 2.43 snapped
    assert out[-1].end == 4.0 and out[0].start == 0.0
    for a, b in itertools.pairwise(out):
        assert a.end == b.start
    # no beats: unchanged
    assert dec.beat_sync(segs, []) == segs


def test_segment_label_spells_the_inversion() -> None:
    s = dec.Segment(0, 1, parse("A:min7").index, 0.8, bass=0)
    assert s.label == "A:min7/b3"
    assert dec.Segment(0, 1, N_INDEX, 1.0).label == "N"
    assert from_index(s.index).label() == "A:min7"


def test_a_chord_starts_at_the_end_of_a_quiet_gap_not_inside_it() -> None:
    rng = np.random.default_rng(9)
    c, g = parse("C:maj").index, parse("G:maj").index
    out = outputs_for([c, g], [50, 50], rng, noise=0.3)
    quiet = np.zeros(100, bool)
    quiet[50:60] = True  # the gap before G's first note, labelled G by the model
    for decoder in (dec.decode_hmm, dec.decode_frames, dec.decode_ctc):
        plain = decoder(out, FPS, 100 / FPS)
        assert plain[1].start == pytest.approx(50 / FPS, abs=1.5 / FPS)
        snapped = decoder({**out, "quiet": quiet}, FPS, 100 / FPS)
        assert [s.index for s in snapped] == [c, g]
        assert snapped[1].start == pytest.approx(60 / FPS)
    # no-chord starts where the silence starts
    starts = dec.snap_out_of_gaps(np.array([0, 50]), np.array([c, N_INDEX]), quiet)
    assert starts.tolist() == [0, 50]


def test_a_late_chord_start_moves_back_to_the_bass_onset_before_it() -> None:
    rng = np.random.default_rng(11)
    c, g = parse("C:maj").index, parse("G:maj").index
    out = outputs_for([c, g, N_INDEX], [50, 50, 30], rng, noise=0.3)
    onset = np.full(130, 0.5, np.float32)
    onset[47] = 9.0  # G's bass note starts three frames before the model names G
    onset[80] = 12.0  # a strong onset inside G: a strum of the same chord
    onset[98] = 7.0  # and one just before the release: no-chord does not snap to it
    for decoder in (dec.decode_hmm, dec.decode_frames, dec.decode_ctc):
        plain = decoder(out, FPS, 130 / FPS)
        assert [s.index for s in plain] == [c, g, N_INDEX]
        snapped = decoder({**out, "onset": onset}, FPS, 130 / FPS)
        assert [s.index for s in snapped] == [c, g, N_INDEX]
        assert snapped[1].start == pytest.approx(47 / FPS)
        assert snapped[2].start == plain[2].start
        off = decoder({**out, "onset": onset}, FPS, 130 / FPS,
                      options=dec.DecodeOptions(onset_snap_frames=0))
        assert [s.start for s in off] == [s.start for s in plain]
    # never further back than the window, nor past the chord before
    s = dec.snap_to_onsets(np.array([0, 50]), np.array([c, g]), onset, 2)
    assert s.tolist() == [0, 50]  # frame 47 is 3 back: out of a 2-frame window
    s = dec.snap_to_onsets(np.array([0, 46, 50]), np.array([N_INDEX, c, g]), onset, 4)
    assert s.tolist() == [0, 46, 47]
    s = dec.snap_to_onsets(np.array([0, 48, 50]), np.array([N_INDEX, c, g]), onset, 4)
    assert s.tolist() == [0, 47, 50]  # C takes 47; G cannot reach it, and stays put
    flat = np.ones(60, np.float32)
    assert dec.snap_to_onsets(np.array([0, 50]), np.array([c, g]), flat, 4).tolist() == [0, 50]
