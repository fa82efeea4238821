"""Token n-gram model with interpolated modified Kneser-Ney smoothing (Chen & Goodman).

    P_n(w|h) = max(c(hw) - D_n(c(hw)), 0) / c(h•) + gamma(h) P_{n-1}(w|h')
    gamma(h) = (D_n1 N1(h•) + D_n2 N2(h•) + D_n3+ N3+(h•)) / c(h•)

with raw counts at the highest order, continuation counts N1+(•hw) below it, the
three discounts per order from counts of counts (D_k = k - (k+1) Y n_{k+1}/n_k,
Y = n1/(n1 + 2 n2)), and a uniform distribution over the vocabulary under the
unigrams, so every token of the vocabulary has a probability and they sum to 1.

Vectorised with numpy: the n-grams of each order get integer ids by extending the id
of their (n-1)-gram prefix by one token (a sorted key array per order), so a model of
order 8 over a few million tokens fits in a few hundred MB and trains in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.generation.tokens import BOS


@dataclass
class _OrderStats:
    """Smoothing statistics of one order under one kind of count."""

    counts: np.ndarray  # per n-gram type
    total: np.ndarray  # per context id (an (n-1)-gram id): sum of counts
    gamma_num: np.ndarray  # per context: D1 N1 + D2 N2 + D3 N3+
    discounts: tuple[float, float, float]


def _discounts(counts: np.ndarray) -> tuple[float, float, float]:
    n = [int((counts == k).sum()) for k in (1, 2, 3, 4)]
    if n[0] == 0 or n[1] == 0:
        return 0.5, 0.5, 0.5
    y = n[0] / (n[0] + 2 * n[1])
    d1 = 1 - 2 * y * n[1] / n[0]
    d2 = 2 - 3 * y * n[2] / n[1]
    d3 = 3 - 4 * y * n[3] / n[2] if n[2] else 3.0
    # Keep them in (0, k]: tiny corpora can give odd ratios.
    return (min(max(d1, 1e-3), 1.0), min(max(d2, 1e-3), 2.0), min(max(d3, 1e-3), 3.0))


def _stats(counts: np.ndarray, prefix: np.ndarray, n_contexts: int) -> _OrderStats:
    d = _discounts(counts[counts > 0])
    total = np.bincount(prefix, weights=counts, minlength=n_contexts)
    disc = np.select([counts == 1, counts == 2, counts >= 3], list(d), 0.0)
    gamma_num = np.bincount(prefix, weights=disc, minlength=n_contexts)
    return _OrderStats(counts.astype(np.float64), total, gamma_num, d)


class KneserNeyLM:
    """Interpolated modified Kneser-Ney over token ids; `max_order` from 1 to 8+."""

    def __init__(self, max_order: int, vocab_size: int) -> None:
        if max_order < 1:
            raise ValueError("max_order must be at least 1")
        self.max_order = max_order
        self.vocab_size = vocab_size
        self._keys: list[np.ndarray] = []  # per order n (index n-1): sorted prefix*V + token
        self._raw: list[_OrderStats] = []
        self._cont: list[_OrderStats | None] = []

    def pad(self, seq: np.ndarray) -> np.ndarray:
        """Leading BOS so that every real token has a full context."""
        return np.concatenate([np.full(self.max_order - 1, BOS, np.int64),
                               np.asarray(seq, np.int64)])

    def fit(self, sequences: list[np.ndarray]) -> KneserNeyLM:
        """Count every token after each sequence's first (BOS) token."""
        m, v = self.max_order, self.vocab_size
        padded = [self.pad(s) for s in sequences if len(s) > 1]
        tok = np.concatenate(padded)
        predicted = np.zeros(len(tok), dtype=bool)
        at = 0
        for p in padded:
            predicted[at + m:at + len(p)] = True  # after the m-1 pads and the BOS
            at += len(p)
        prev_ids = np.zeros(len(tok), dtype=np.int64)  # the empty (0-gram) id
        raw_counts: list[np.ndarray] = []
        prefixes: list[np.ndarray] = []
        suffixes: list[np.ndarray] = []
        n_types: list[int] = []
        for n in range(1, m + 1):
            shifted = np.concatenate([[0], prev_ids[:-1]]) if n > 1 else prev_ids
            keys = shifted * v + tok
            ukeys, first, ids = np.unique(keys, return_index=True, return_inverse=True)
            self._keys.append(ukeys)
            raw_counts.append(np.bincount(ids[predicted], minlength=len(ukeys)))
            prefixes.append(ukeys // v)
            # The (n-1)-gram ending where this n-gram ends: whose continuation it counts.
            suffixes.append(prev_ids[first] if n > 1 else np.zeros(len(ukeys), np.int64))
            n_types.append(len(ukeys))
            prev_ids = ids.astype(np.int64)
        for n in range(1, m + 1):
            n_ctx = 1 if n == 1 else n_types[n - 2]
            self._raw.append(_stats(raw_counts[n - 1], prefixes[n - 1], n_ctx))
            if n < m:
                seen = raw_counts[n] > 0
                cont = np.bincount(suffixes[n][seen], minlength=n_types[n - 1])
                self._cont.append(_stats(cont, prefixes[n - 1], n_ctx))
            else:
                self._cont.append(None)
        return self

    def _lookup(self, n: int, prefix_ids: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """Ids of n-grams (prefix id, token); -1 where unseen or the prefix is unknown."""
        keys = self._keys[n - 1]
        want = prefix_ids * self.vocab_size + tokens
        pos = np.searchsorted(keys, want)
        pos_c = np.minimum(pos, len(keys) - 1)
        found = (prefix_ids >= 0) & (pos < len(keys)) & (keys[pos_c] == want)
        return np.where(found, pos_c, -1)

    def prob_windows(self, windows: np.ndarray, order: int | None = None) -> np.ndarray:
        """P(last token | the tokens before it) for each row of `windows` (B, >= order),
        under the model cut at `order` (default: max_order)."""
        order = order or self.max_order
        if not 1 <= order <= self.max_order:
            raise ValueError(f"order {order} outside 1..{self.max_order}")
        w = np.asarray(windows, np.int64)[:, -order:]
        b = len(w)
        target = w[:, -1]
        p = np.full(b, 1.0 / self.vocab_size)
        for n in range(1, order + 1):
            # Context: the n-1 tokens before the target, chained left to right.
            ctx = np.zeros(b, np.int64)
            for j in range(order - n, order - 1):
                ctx = self._lookup(j - (order - n) + 1, ctx, w[:, j])
            gram = self._lookup(n, ctx, target)
            st = self._raw[n - 1] if n == order else self._cont[n - 1]
            assert st is not None
            known = ctx >= 0
            total = np.where(known, st.total[np.maximum(ctx, 0)], 0.0)
            ok = total > 0
            c = np.where(gram >= 0, st.counts[np.maximum(gram, 0)], 0.0)
            d1, d2, d3 = st.discounts
            disc = np.select([c == 1, c == 2, c >= 3], [d1, d2, d3], 0.0)
            safe = np.where(ok, total, 1.0)
            gamma = np.where(ok, st.gamma_num[np.maximum(ctx, 0)] / safe, 1.0)
            p = np.where(ok, np.maximum(c - disc, 0.0) / safe + gamma * p, p)
        return p

    def token_logprobs(self, seq: np.ndarray, order: int | None = None) -> np.ndarray:
        """Natural-log probability of each token of `seq` after its first (BOS)."""
        padded = self.pad(seq)
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.max_order)
        return np.log(self.prob_windows(windows[1:], order))


def nll_per_event(model: KneserNeyLM, sequences: list[np.ndarray], events: list[int],
                  skip: int, order: int | None = None) -> float:
    """Summed negative log-likelihood (nats) of every token after the first `skip`
    tokens of each sequence (the given header), divided by the summed event counts
    (notes for melodies, chord changes for progressions)."""
    total = 0.0
    for seq in sequences:
        lp = model.token_logprobs(seq, order)
        total -= float(lp[skip - 1:].sum())  # lp[k] scores seq[k + 1]
    return total / max(1, sum(events))
