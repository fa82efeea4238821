"""The clip embedding on real FluidSynth renders: a retrieval test (the same progression
on another instrument ranks first; a transposed copy ranks first with key-invariant
similarity), and the vector's contract (unit length, dimension and version recorded,
comparable only with its own kind).

The assertions hold whatever the committed network's quality: the chroma-and-chords
parts carry them (see models/chords/embedding.py); the rank tables are in the messages.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from chords_runtime_support import RATE, rendered

from models.chords.embedding import (
    PART_ORDER,
    PART_WEIGHTS,
    RECIPE,
    Embedding,
    EmbeddingError,
    clip_embedding,
    embedding_from_features,
    part_similarities,
    similarity,
)
from models.chords.session import ModelFileError

# Distinct progressions (axis and doo-wop share their chords in another order).
PROGRESSIONS = ("pop/axis", "pop/doo_wop", "rock/mixolydian", "jazz/ii_V_I",
                "classical/pachelbel", "folk/dorian")
# GM program and texture per instrument.
INSTRUMENTS = {"piano": (0, "block"), "guitar": (25, "strum"), "organ": (19, "hold")}
TRANSPOSE = 3


@cache
def embed(progression: str, instrument: str, tonic: int = 0,
          key_invariant: bool = True) -> Embedding:
    program, texture = INSTRUMENTS[instrument]
    audio, _ = rendered(progression, tonic, 2, 110.0, program, texture)
    return clip_embedding(audio, RATE, key_invariant=key_invariant)


Item = tuple[str, str, int]  # progression, instrument, tonic


def ranking(query: Embedding, library: list[Item], key_invariant: bool,
            part: str | None = None) -> list[tuple[float, Item]]:
    def score(item: Item) -> float:
        other = embed(*item, key_invariant=key_invariant)
        return similarity(query, other) if part is None else \
            part_similarities(query, other)[part]

    return sorted(((score(item), item) for item in library), key=lambda s: -s[0])


def first_rank(ranked: list[tuple[float, Item]], progression: str) -> int:
    return next(i for i, (_, item) in enumerate(ranked, 1) if item[0] == progression)


def table(ranked: list[tuple[float, Item]]) -> str:
    return ", ".join(f"{p}/{i}/{t}: {s:.3f}" for s, (p, i, t) in ranked)


@pytest.mark.parametrize("progression", PROGRESSIONS)
def test_the_same_progression_on_another_instrument_ranks_first(progression: str) -> None:
    query = embed(progression, "organ")
    library = [(p, i, 0) for p in PROGRESSIONS for i in ("piano", "guitar")]
    ranked = ranking(query, library, key_invariant=True)
    parts = {part: first_rank(ranking(query, library, True, part), progression)
             for part in PART_ORDER}
    assert ranked[0][1][0] == progression, (
        f"query {progression} on organ: {table(ranked)}; twin rank per part: {parts}")
    # both twins (piano and guitar) above every other progression
    assert {ranked[0][1][0], ranked[1][1][0]} == {progression}, table(ranked)


@pytest.mark.parametrize("progression", PROGRESSIONS)
def test_a_transposed_copy_ranks_first_when_key_invariant(progression: str) -> None:
    # The library holds the other progressions in the query's key and this one only
    # transposed; the query is on another instrument as well.
    library = [(p, "piano", 0) for p in PROGRESSIONS if p != progression]
    library.append((progression, "piano", TRANSPOSE))
    invariant = ranking(embed(progression, "guitar"), library, key_invariant=True)
    absolute = ranking(embed(progression, "guitar", key_invariant=False), library,
                       key_invariant=False)
    assert invariant[0][1] == (progression, "piano", TRANSPOSE), (
        f"key-invariant: {table(invariant)}; absolute: {table(absolute)}")
    twin_inv = next(s for s, item in invariant if item[0] == progression)
    twin_abs = next(s for s, item in absolute if item[0] == progression)
    assert twin_inv > twin_abs, f"key-invariant {twin_inv:.3f}, absolute {twin_abs:.3f}"


def test_transposition_moves_the_absolute_vector_but_not_the_key_invariant_one() -> None:
    for key_invariant in (True, False):
        a = embed("pop/axis", "piano", 0, key_invariant)
        b = embed("pop/axis", "piano", TRANSPOSE, key_invariant)
        parts = part_similarities(a, b)
        if key_invariant:
            assert a.key_reference == 0 and b.key_reference == TRANSPOSE
            assert min(parts["transitions"], parts["chords"]) > 0.9, parts
            # voicings move within the instrument's range when transposed
            assert parts["chroma"] > 0.8, parts
        else:
            assert a.key_reference == b.key_reference == 0
            # the root interval histogram is the only part that ignores the key
            assert parts["transitions"] > 0.9 and parts["chords"] < 0.5, parts


def test_vector_contract() -> None:
    e = embed("pop/axis", "piano")
    assert e.vector.dtype == np.float32 and e.vector.shape == (e.dim,)
    assert abs(float(np.linalg.norm(e.vector)) - 1.0) < 1e-5
    assert e.key_invariant and e.recipe == RECIPE
    assert e.model_version in e.version and RECIPE in e.version
    assert sum(b - a for a, b in e.parts.values()) == e.dim
    assert abs(similarity(e, e) - 1.0) < 1e-5
    # the similarity is the weighted mean of the parts' cosines
    other = embed("pop/doo_wop", "guitar")
    parts = part_similarities(e, other)
    weighted = sum(PART_WEIGHTS[p] * parts[p] for p in PART_ORDER)
    assert similarity(e, other) == pytest.approx(weighted, abs=1e-5)
    d = e.to_dict()
    assert d["dim"] == e.dim == len(d["vector"]) and d["version"] == e.version


def test_embeddings_of_another_kind_are_refused() -> None:
    with pytest.raises(EmbeddingError, match="key_invariant"):
        similarity(embed("pop/axis", "piano"), embed("pop/axis", "piano", 0, False))
    e = embed("pop/axis", "piano")
    other = Embedding(vector=e.vector, model_version="another-model", key_invariant=True,
                      parts=e.parts)
    with pytest.raises(EmbeddingError, match="another-model"):
        similarity(e, other)


def test_layout_and_sample_rate_do_not_matter() -> None:
    import soxr

    audio, _ = rendered("pop/axis", 0, 2, 110.0, 0, "block")
    base = embed("pop/axis", "piano")
    channels_first = clip_embedding(np.ascontiguousarray(audio.T), RATE)
    assert similarity(base, channels_first) > 0.999
    resampled = soxr.resample(audio, RATE, 44100)
    assert similarity(base, clip_embedding(resampled, 44100)) > 0.95


@pytest.mark.parametrize("seconds", [0.0, 0.01, 3.0])
def test_silence_and_tiny_clips_give_a_unit_vector(seconds: float) -> None:
    e = clip_embedding(np.zeros(int(seconds * RATE), np.float32), RATE)
    assert np.isfinite(e.vector).all()
    assert abs(float(np.linalg.norm(e.vector)) - 1.0) < 1e-5
    assert e.dim == embed("pop/axis", "piano").dim


def test_bad_input_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sample rate"):
        clip_embedding(np.zeros(100, np.float32), 0)
    with pytest.raises(ValueError, match="features must be"):
        embedding_from_features(np.zeros((10, 7), np.float32))
    damaged = tmp_path / "chords.onnx"
    damaged.write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        clip_embedding(np.zeros(RATE, np.float32), RATE, model=damaged)
