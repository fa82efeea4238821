"""Synthetic model outputs for the decoder tests: log-probabilities shaped like a
trained CTC model's (blank almost everywhere, one spike per chord, a frame head peaked
on the chord), with noise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.chords.decode import BLANK, NUM_BASS
from models.chords.vocabulary import N_INDEX, NUM_CLASSES


def log_softmax(x: np.ndarray) -> np.ndarray:
    return (x - np.logaddexp.reduce(x, axis=1, keepdims=True)).astype(np.float32)


def outputs_for(seq: Sequence[int], lengths: Sequence[int], rng: np.random.Generator,
                noise: float = 0.5, bass: Sequence[int] | None = None,
                bass_gain: float = 6.0) -> dict[str, np.ndarray]:
    """Outputs for chords ``seq`` lasting ``lengths`` frames; ``bass``: the bass pitch
    class per chord (default: the root; 12 for N)."""
    T = int(sum(lengths))
    frame = rng.normal(0, noise, (T, NUM_CLASSES))
    ctc = rng.normal(0, noise * 0.4, (T, BLANK + 1))
    ctc[:, BLANK] += 9.0
    b = rng.normal(0, noise, (T, NUM_BASS))
    t = 0
    for k, (c, n) in enumerate(zip(seq, lengths, strict=True)):
        frame[t: t + n, c] += 6.0
        ctc[t + n // 2, c] += 14.0
        pc = bass[k] if bass is not None else (c // 13 if c != N_INDEX else 12)
        b[t: t + n, pc] += bass_gain
        t += n
    return {"ctc_logprobs": log_softmax(ctc), "frame_logprobs": log_softmax(frame),
            "bass_logprobs": log_softmax(b)}
