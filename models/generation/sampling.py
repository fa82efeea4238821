"""Turning the model's logits into a token: temperature, the grammar's bias and
nucleus (top-p) over the tokens the grammar allows; and the acceptance rule of
speculative sampling, which keeps exactly that distribution while drafted tokens
are checked several at a time."""

from __future__ import annotations

import numpy as np


def probabilities(logits: np.ndarray, idx: np.ndarray, bias: np.ndarray | None,
                  temperature: float, top_p: float) -> np.ndarray:
    """The distribution (summing to 1) over the allowed ids `idx` (grammar.choices):
    one-hot on the best token when temperature <= 0."""
    z = logits[idx].astype(np.float64)
    z[~np.isfinite(z)] = -1e9
    if temperature <= 0:
        p = np.zeros(len(idx))
        p[int(np.argmax(z if bias is None else z + bias))] = 1.0
        return p
    z = z / temperature
    if bias is not None:
        z += bias
    z -= z.max()
    p = np.exp(z)
    p /= p.sum()
    if top_p < 1.0 and len(p) > 1:
        order = np.argsort(-p)
        sp = p[order]
        keep = np.cumsum(sp) - sp < top_p  # always keeps the most likely
        p = np.zeros_like(p)
        p[order[keep]] = sp[keep]
        p /= p.sum()
    return p


def pick(p: np.ndarray, idx: np.ndarray, rng: np.random.Generator) -> int:
    """One id of `idx` drawn from p (one random number)."""
    c = np.cumsum(p)
    k = int(np.searchsorted(c, rng.random() * c[-1], side="right"))
    return int(idx[min(k, len(idx) - 1)])


def accept_or_replace(p: np.ndarray, idx: np.ndarray, drafted: int,
                      rng: np.random.Generator) -> int | None:
    """Speculative sampling with a drafted token (a guess, not a distribution): None
    when it is accepted, which happens with its probability p(drafted); otherwise a
    token drawn from p without it. Either way the token that results follows p
    exactly (Leviathan et al. 2023, with a one-hot draft)."""
    where = np.flatnonzero(idx == drafted)
    q = float(p[where[0]]) if len(where) else 0.0
    if rng.random() < q:
        return None
    rest = p.copy()
    if len(where):
        rest[where[0]] = 0.0
    if rest.sum() <= 0:  # p was one-hot on the draft: rejection had probability 0
        return drafted
    return pick(rest, idx, rng)
