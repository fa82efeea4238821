"""Kneser-Ney: a proper distribution over the whole vocabulary, and the textbook
estimates on a corpus small enough to count by hand."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.generation.ngram import KneserNeyLM, nll_per_event
from models.generation.tokens import BOS

V = 10
EOS_T = 2


def _corpus(seed: int, n: int = 40) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    # A second-order chain over tokens 3..9 (the step depends on the last two tokens,
    # usually), so one token of context helps and two help more.
    seqs = []
    for _ in range(n):
        s = [BOS, 3, 4]
        for _ in range(int(rng.integers(3, 30))):
            step = (1, 2, 5)[(s[-1] + s[-2]) % 3] if rng.random() < 0.85 else \
                int(rng.integers(0, 7))
            s.append(3 + (s[-1] - 3 + step) % 7)
        seqs.append(np.array([*s, EOS_T]))
    return seqs


@settings(max_examples=25)
@given(seed=st.integers(0, 1000), max_order=st.integers(1, 6),
       ctx_seed=st.integers(0, 1000))
def test_probabilities_sum_to_one_for_random_contexts(seed: int, max_order: int,
                                                      ctx_seed: int) -> None:
    lm = KneserNeyLM(max_order, V).fit(_corpus(seed))
    rng = np.random.default_rng(ctx_seed)
    contexts = rng.integers(0, V, size=(8, max_order - 1))
    contexts[:4] = np.array(_corpus(seed)[0].tolist() * 10)[: max_order - 1]  # seen ones
    for order in range(1, max_order + 1):
        for ctx in contexts:
            windows = np.column_stack([np.tile(ctx, (V, 1)), np.arange(V)])
            p = lm.prob_windows(windows, order)
            assert (p > 0).all()
            assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-9)


def test_bigram_matches_hand_computed_modified_kneser_ney() -> None:
    seqs = [np.array([BOS, 3, 4, 3, 5, EOS_T]), np.array([BOS, 3, 4, 4, EOS_T])]
    lm = KneserNeyLM(2, V).fit(seqs)
    # Hand count. Bigrams after BOS (with one BOS of padding the context of the first
    # token is BOS): (B,3)x2 (3,4)x2 (4,3) (3,5) (5,E) (4,4) (4,E).
    bigrams = Counter({(1, 3): 2, (3, 4): 2, (4, 3): 1, (3, 5): 1, (5, 2): 1, (4, 4): 1,
                       (4, 2): 1})
    n1 = sum(c == 1 for c in bigrams.values())
    n2 = sum(c == 2 for c in bigrams.values())
    y = n1 / (n1 + 2 * n2)
    d1, d2 = 1 - 2 * y * n2 / n1, 2 - 3 * y * 0 / n2
    # Continuation counts of unigrams: distinct left neighbours.
    cont = Counter(w for (_, w) in bigrams)
    c1 = Counter(cont.values())
    y1 = c1[1] / (c1[1] + 2 * c1[2])
    e1 = 1 - 2 * y1 * c1[2] / c1[1]
    e2 = 2 - 3 * y1 * c1[3] / c1[2]
    total = sum(cont.values())
    disc = {1: e1, 2: e2}
    gamma1 = sum(disc[c] for c in cont.values()) / total

    def p_uni(w: int) -> float:
        return max(cont[w] - disc.get(cont[w], 0.0), 0.0) / total + gamma1 / V

    # P(4 | 3): context 3 has (3,4)x2 and (3,5)x1: c(3.)=3, N1=1, N2=1.
    gamma3 = (d1 + d2) / 3
    expected = (2 - d2) / 3 + gamma3 * p_uni(4)
    got = lm.prob_windows(np.array([[3, 4]]))[0]
    assert got == pytest.approx(expected, rel=1e-12)
    # An unseen continuation of a seen context gets only the back-off mass.
    assert lm.prob_windows(np.array([[3, 9]]))[0] == pytest.approx(gamma3 * p_uni(9))
    # An unseen context backs off completely.
    assert lm.prob_windows(np.array([[9, 4]]))[0] == pytest.approx(p_uni(4))


def test_higher_orders_fit_a_deterministic_pattern_better() -> None:
    train = _corpus(1, 200)
    test = _corpus(2, 30)
    lm = KneserNeyLM(4, V).fit(train)
    events = [len(s) - 2 for s in test]
    nll = [nll_per_event(lm, test, events, skip=1, order=o) for o in (1, 2, 3)]
    assert nll[0] > nll[1] > nll[2]


def test_nll_per_event_sums_tokens_after_the_header() -> None:
    lm = KneserNeyLM(2, V).fit(_corpus(3))
    seq = _corpus(4, 1)[0]
    lp = lm.token_logprobs(seq)
    assert len(lp) == len(seq) - 1
    skip = 3
    got = nll_per_event(lm, [seq], [5], skip=skip)
    assert got == pytest.approx(-lp[skip - 1:].sum() / 5)
