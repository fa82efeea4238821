"""A fixed-length harmonic fingerprint of a clip, for the catalogue's similarity search.

``clip_embedding(audio, sr)`` returns an ``Embedding``: a unit-length float32 vector
(cosine similarity = dot product, so pgvector's cosine distance ``<=>`` or inner
product ``<#>`` can index it) with its dimension, the chord model's version and the
recipe version recorded beside it. Vectors are comparable only when ``version`` and
``key_invariant`` agree (``similarity`` refuses others).

The vector concatenates four parts, each unit-length and scaled by the square root of
its weight (``PART_WEIGHTS``), so the dot product of two vectors is the weighted mean of
the parts' cosines:

* ``transitions`` (48): how the harmony moves. For each change between consecutive
  chords, the interval between their roots (0..11 semitones) and both qualities (major
  or minor); a normalised histogram. Intervals do not depend on the key at all.
* ``chords`` (24): the duration-weighted histogram of chord roots (relative to the
  clip's key reference) times quality.
* ``chroma`` (24): mean and standard deviation of the beat-synchronous chroma (relative
  to the key reference).
* ``model`` (the model's ``embedding_dim``, 384 for the trained one): the chord
  network's clip embedding (mean and standard deviation over time of its penultimate
  layer, the ONNX ``embedding`` output), computed on features shifted so that the key
  reference sits at C.

The first three use no learned weights: chroma folded from the model's own
log-frequency features, chords from major/minor triad templates with Viterbi smoothing
over beats. They work whatever the network's quality; the model part adds what the
network learned (nothing useful from a smoke export).

Key invariance (the default): the key reference is the major tonic of the key
signature estimated from the clip's chroma (a minor key counts as its relative major,
so a major/minor confusion between two renders does not rotate anything), and every
key-dependent part is rotated (chroma, chord roots) or shifted (the network's input
features, by three bins per semitone) to put it at C. A transposed copy therefore gives
nearly the same vector. With ``key_invariant=False`` nothing is rotated: two clips in
different keys then differ in every part but ``transitions``.

Histograms are square-rooted before normalising (Hellinger), so the cosine of two
histogram parts is their Bhattacharyya coefficient and one frequent bin does not drown
the others. A part with nothing in it (silence: no chords, no chroma) is the uniform
unit vector, so every clip has a well-defined unit vector.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RECIPE = "chords-embed-1"
# Each part's share of the similarity (they sum to 1).
PART_WEIGHTS: dict[str, float] = {
    "transitions": 0.3, "chords": 0.25, "chroma": 0.25, "model": 0.2,
}
PART_ORDER = ("transitions", "chords", "chroma", "model")
_QUALITIES = ("maj", "min")
# Chord shapes (semitones above the root) per quality class: major (maj, 7, maj7),
# minor (min, min7).
_SHAPES = (((0, 4, 7), (0, 4, 7, 10), (0, 4, 7, 11)), ((0, 3, 7), (0, 3, 7, 10)))
# A beat whose chroma energy is below this fraction of the clip's loudest beat is silent.
_SILENT_FRACTION = 0.05
# Viterbi: cost of changing chord between beats, in units of template correlation.
_CHANGE_PENALTY = 0.25
# Without at least this many beats the clip is cut into fixed half-second steps.
_MIN_BEATS = 4
_GRID_S = 0.5


class EmbeddingError(ValueError):
    """Embeddings that cannot be compared (other recipe, model or key mode), or a
    vector that is not an embedding."""


@dataclass(frozen=True)
class Embedding:
    """``vector``: float32 [dim], unit length. ``model_version``: the chord model that
    made it; ``recipe``: this module's recipe; ``version`` joins both (a catalogue
    stores it beside the vector and recomputes when it changes). ``key_reference`` is
    the pitch class (C=0) that was rotated to C (0 when not key-invariant);
    ``parts`` maps each part's name to its slice of the vector."""

    vector: np.ndarray
    model_version: str
    key_invariant: bool
    recipe: str = RECIPE
    key_reference: int = 0
    parts: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.vector.shape[0])

    @property
    def version(self) -> str:
        return f"{self.recipe}+{self.model_version}"

    def part(self, name: str) -> np.ndarray:
        """The unit-length vector of one part (``PART_ORDER``)."""
        a, b = self.parts[name]
        v = self.vector[a:b].astype(np.float64)
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the vector as a list of floats and what it is comparable with."""
        return {"vector": [float(x) for x in self.vector], "dim": self.dim,
                "version": self.version, "model_version": self.model_version,
                "recipe": self.recipe, "key_invariant": self.key_invariant}


def _check(a: Embedding, b: Embedding) -> None:
    if (a.version, a.dim, a.key_invariant) != (b.version, b.dim, b.key_invariant):
        raise EmbeddingError(
            f"embeddings are not comparable: {a.version} ({a.dim}-d, key_invariant="
            f"{a.key_invariant}) vs {b.version} ({b.dim}-d, key_invariant={b.key_invariant})")


def similarity(a: Embedding, b: Embedding) -> float:
    """Cosine similarity (the dot product of the unit vectors), -1..1; 1 is the same
    harmony. Raises EmbeddingError for embeddings of another recipe, model or key mode."""
    _check(a, b)
    return float(np.dot(a.vector.astype(np.float64), b.vector.astype(np.float64)))


def part_similarities(a: Embedding, b: Embedding) -> dict[str, float]:
    """Each part's cosine (``similarity`` is their mean weighted by PART_WEIGHTS)."""
    _check(a, b)
    return {name: float(np.dot(a.part(name), b.part(name))) for name in a.parts}


# ------------------------------------------------------------------ features ---


def chroma(features: np.ndarray) -> np.ndarray:
    """[T, 12] pitch-class energy (C first) folded from the log-frequency features
    (three bins per semitone from MIDI ``LOWEST_MIDI``)."""
    from models.chords import features as feat

    f = np.asarray(features, dtype=np.float32)
    # Back to magnitudes (the features are log1p(LOG_GAIN * magnitude)): on the log
    # scale overtones are nearly as loud as fundamentals and triads get confused
    # (F major heard as A minor).
    mag = np.expm1(f) / feat.LOG_GAIN
    semis = mag.reshape(f.shape[0], feat.N_BINS // feat.BINS_PER_SEMITONE,
                        feat.BINS_PER_SEMITONE).sum(axis=2)
    pcs = (feat.LOWEST_MIDI + np.arange(semis.shape[1])) % 12
    out = np.zeros((f.shape[0], 12), np.float32)
    for pc in range(12):
        out[:, pc] = semis[:, pcs == pc].sum(axis=1)
    return out


def _steps(n_frames: int, beats_s: np.ndarray, fps: float) -> np.ndarray:
    """Frame boundaries of the analysis steps: beats when there are enough, else a
    fixed grid."""
    if beats_s.size >= _MIN_BEATS:
        inner = np.unique(np.clip(np.round(beats_s * fps).astype(int), 1, n_frames - 1))
    else:
        step = max(1, round(_GRID_S * fps))
        inner = np.arange(step, n_frames, step)
    return np.concatenate([[0], inner, [n_frames]]).astype(int)


def _beat_chroma(c: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean chroma per step [S, 12] and each step's length in frames [S]."""
    sums = np.add.reduceat(c, bounds[:-1], axis=0)
    lengths = np.diff(bounds)
    keep = lengths > 0
    return sums[keep] / lengths[keep, None], lengths[keep].astype(np.float64)


def _templates() -> tuple[np.ndarray, np.ndarray]:
    """Zero-mean unit chord templates [K, 12] and each one's triad class (root * 2 +
    quality: major or minor). Sevenths have their own templates so that, say, D:min7 is
    not heard as F major, but count as their triad."""
    rows, classes = [], []
    for root in range(12):
        for qi, shapes in enumerate(_SHAPES):
            for shape in shapes:
                t = np.zeros(12)
                t[[(root + iv) % 12 for iv in shape]] = 1.0
                rows.append(t)
                classes.append(root * 2 + qi)
    m = np.array(rows)
    m -= m.mean(axis=1, keepdims=True)
    return m / np.linalg.norm(m, axis=1, keepdims=True), np.array(classes)


def chord_sequence(beat_chroma: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Triad per step (root * 2 + quality, -1 for silent steps): template correlation
    with Viterbi smoothing (a change costs ``_CHANGE_PENALTY``)."""
    n = beat_chroma.shape[0]
    out = np.full(n, -1, int)
    idx = np.flatnonzero(voiced)
    if idx.size == 0:
        return out
    x = beat_chroma[idx].astype(np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    templates, classes = _templates()
    corr = x @ templates.T  # [S, K] correlations
    score = np.full((corr.shape[0], 24), -np.inf)
    for k, cls in enumerate(classes):
        score[:, cls] = np.maximum(score[:, cls], corr[:, k])
    best = score[0].copy()
    back = np.zeros(score.shape, int)
    for s in range(1, score.shape[0]):
        stay = best
        switch = best.max() - _CHANGE_PENALTY
        arg = int(best.argmax())
        back[s] = np.where(stay >= switch, np.arange(24), arg)
        best = np.maximum(stay, switch) + score[s]
    path = np.zeros(score.shape[0], int)
    path[-1] = int(best.argmax())
    for s in range(score.shape[0] - 1, 0, -1):
        path[s - 1] = back[s, path[s]]
    out[idx] = path
    return out


def key_reference(profile: np.ndarray) -> int:
    """The major tonic of the key signature that best fits a 12-bin pitch-class
    profile (a minor key counts as its relative major); 0 for a flat profile."""
    from models.chords.key_tempo import key_from_profile

    key = key_from_profile(profile)
    if key is None:
        return 0
    return key.tonic if key.mode == "major" else (key.tonic + 3) % 12


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(v))
    if n <= 1e-12 or not np.isfinite(n):
        return np.full(v.shape, 1.0 / np.sqrt(v.size))  # empty part: the uniform vector
    return v / n


def _hellinger(hist: np.ndarray) -> np.ndarray:
    total = float(hist.sum())
    return _unit(np.sqrt(hist / total) if total > 0 else np.zeros_like(hist))


def _shift_semitones(features: np.ndarray, semitones: int) -> np.ndarray:
    """Features transposed down by ``semitones`` (up when negative), zero-filled."""
    from models.chords import features as feat

    k = semitones * feat.BINS_PER_SEMITONE
    if k == 0:
        return features
    out = np.zeros_like(features)
    if k > 0:
        out[:, :-k] = features[:, k:]
    else:
        out[:, -k:] = features[:, :k]
    return out


# ------------------------------------------------------------------ the vector ---


def embedding_from_features(features: np.ndarray, *, key_invariant: bool = True,
                            net: Any = None) -> Embedding:
    """``clip_embedding`` of precomputed ``features.features`` frames [T, N_BINS]."""
    from models.chords import features as feat
    from models.chords import key_tempo
    from models.chords.runtime import SILENCE_LEVEL, load_net

    net = net if net is not None else load_net()
    f = np.asarray(features, dtype=np.float32)
    if f.ndim != 2 or f.shape[1] != feat.N_BINS:
        raise ValueError(f"features must be [frames, {feat.N_BINS}], got {list(f.shape)}")
    c = chroma(f)
    c[f.max(axis=1, initial=0.0) < SILENCE_LEVEL] = 0.0
    if f.shape[0] > 0:
        _, beats = key_tempo.track_beats(key_tempo.onset_envelope(f), feat.FPS)
        bounds = _steps(f.shape[0], beats, feat.FPS)
        bc, lengths = _beat_chroma(c, bounds)
    else:
        bc, lengths = np.zeros((0, 12)), np.zeros(0)
    energy = bc.sum(axis=1)
    voiced = energy > _SILENT_FRACTION * float(energy.max(initial=0.0)) if energy.size else \
        np.zeros(0, bool)
    voiced &= energy > 0
    chords = chord_sequence(bc, voiced)

    # key reference from the energy-normalised, duration-weighted chroma
    norm_bc = np.divide(bc, energy[:, None], out=np.zeros_like(bc), where=energy[:, None] > 0)
    profile = (norm_bc * lengths[:, None]).sum(axis=0)
    ref = key_reference(profile) if key_invariant else 0

    # chroma statistics over voiced steps, rotated so the reference is C
    w = lengths * voiced
    if w.sum() > 0:
        mean = (norm_bc * w[:, None]).sum(axis=0) / w.sum()
        std = np.sqrt((((norm_bc - mean) ** 2) * w[:, None]).sum(axis=0) / w.sum())
    else:
        mean = std = np.zeros(12)
    # centred: every clip has energy in every pitch class, the deviations tell them apart
    chroma_part = np.concatenate([_unit(np.roll(mean - mean.mean(), -ref)),
                                  _unit(np.roll(std - std.mean(), -ref))])

    # duration-weighted (root relative to the reference, quality) histogram
    hist = np.zeros(24)
    for ch, length in zip(chords, lengths, strict=True):
        if ch >= 0:
            root, q = divmod(int(ch), 2)
            hist[((root - ref) % 12) * 2 + q] += length
    chords_part = _hellinger(hist)

    # transitions: (root interval, quality from, quality to) between consecutive chords
    trans = np.zeros(48)
    seq = [int(x) for x in chords if x >= 0]
    for a, b in itertools.pairwise(seq):
        if a != b:
            (ra, qa), (rb, qb) = divmod(a, 2), divmod(b, 2)
            trans[((rb - ra) % 12) * 4 + qa * 2 + qb] += 1.0
    trans_part = _hellinger(trans)

    # the network on features with the reference at C (the shortest way round)
    shift = ref if ref <= 6 else ref - 12
    model_part = _unit(net.offline(_shift_semitones(f, shift))["embedding"])

    pieces = {"transitions": trans_part, "chords": chords_part,
              "chroma": _unit(chroma_part), "model": model_part}
    parts: dict[str, tuple[int, int]] = {}
    chunks: list[np.ndarray] = []
    pos = 0
    for name in PART_ORDER:
        v = pieces[name] * np.sqrt(PART_WEIGHTS[name])
        parts[name] = (pos, pos + v.size)
        pos += v.size
        chunks.append(v)
    vector = _unit(np.concatenate(chunks)).astype(np.float32)
    return Embedding(vector=vector, model_version=str(net.meta.get("model_version", "unknown")),
                     key_invariant=key_invariant, key_reference=ref, parts=parts)


def clip_embedding(audio: np.ndarray, sr: float, *, key_invariant: bool = True,
                   model: str | Path | None = None, threads: int = 1) -> Embedding:
    """The embedding of a clip: ``audio`` [n] or [n, channels] at any rate ``sr``.
    ``model`` is the offline chord model file (default: the committed artifact); a
    missing or damaged one raises ``session.ModelFileError``."""
    from models.chords import features as feat
    from models.chords.runtime import load_net

    x = np.asarray(audio)
    if x.ndim == 2 and x.shape[0] <= 8 < x.shape[1]:
        x = x.T  # [channels, n] given
    if not (sr > 0 and np.isfinite(sr)):
        raise ValueError(f"sample rate {sr} is not a positive number")
    net = load_net(model, threads)
    return embedding_from_features(feat.features(x, float(sr)), key_invariant=key_invariant,
                                   net=net)
