"""Speculative decoding: the acceptance rule keeps the sampling distribution exactly,
the grammar's guesses are what a plain line would write, backends rewind their cache
correctly, and a greedy generation is the same token for token with and without it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from generation_tasks_support import smoke_backend

from models.generation import grammar as gm
from models.generation import sampling, tokens
from models.generation.backends import FallbackBackend, OnnxBackend, TorchBackend
from models.generation.model import CONFIGS, GPT, TASK_MELODY
from models.generation.piece import Piece, bar_ticks
from models.generation.tasks import GenerationRequest, generate

_ID = tokens.VOCAB.index()


def test_probabilities_follow_temperature_bias_and_top_p() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05, 1e-9], np.float32))
    idx = np.arange(5)
    p = sampling.probabilities(logits, idx, None, 1.0, 1.0)
    assert p.sum() == pytest.approx(1.0)
    assert p[:4] == pytest.approx([0.5, 0.3, 0.15, 0.05], abs=1e-6)
    top = sampling.probabilities(logits, idx, None, 1.0, 0.7)  # keeps 0.5 and 0.3
    assert top == pytest.approx([0.625, 0.375, 0, 0, 0], abs=1e-6)
    greedy = sampling.probabilities(logits, idx, np.array([0, 5, 0, 0, 0.0]), 0.0, 1.0)
    assert greedy.tolist() == [0, 1, 0, 0, 0]  # the bias moves the argmax
    logits[2] = -np.inf  # masked by the model: never drawn
    assert sampling.probabilities(logits, idx, None, 1.0, 1.0)[2] == 0


@pytest.mark.parametrize("drafted", [0, 2, 9])  # likely, unlikely, not allowed at all
def test_accepting_or_replacing_a_draft_keeps_the_distribution(drafted: int) -> None:
    idx = np.array([0, 1, 2, 3])
    p = np.array([0.55, 0.25, 0.15, 0.05])
    rng = np.random.default_rng(1)
    n = 40_000
    counts = np.zeros(len(idx))
    for _ in range(n):
        other = sampling.accept_or_replace(p, idx, drafted, rng)
        counts[int(np.flatnonzero(idx == (drafted if other is None else other))[0])] += 1
    # four standard errors of a binomial proportion at most
    assert np.abs(counts / n - p).max() < 4 * np.sqrt(0.25 / n)


def test_a_certain_draft_is_always_accepted() -> None:
    idx = np.array([4, 7])
    rng = np.random.default_rng(0)
    one_hot = np.array([0.0, 1.0])
    assert all(sampling.accept_or_replace(one_hot, idx, 7, rng) is None for _ in range(100))
    assert all(sampling.accept_or_replace(one_hot, idx, 4, rng) == 7 for _ in range(100))


def _grammar(meter: tuple[int, int] = (4, 4), end_bar: int | None = None) -> gm.Grammar:
    g = gm.Grammar(gm.Constraints(stream="melody", end_bar=end_bar))
    return g.feed_all([tokens.BOS, gm.key_token(0, 0), gm.time_signature_token(*meter)])


def test_the_grammar_guesses_a_plain_line() -> None:
    bar = bar_ticks(3, 4)
    g = _grammar((3, 4), end_bar=2)
    g.feed(tokens.BAR)
    assert g.likely_next() == [_ID["Position_0"]]
    g.feed_all([_ID["Position_0"], _ID["Pitch_60"]])
    assert g.likely_next() == []  # no earlier note: no duration to repeat
    g.feed(_ID["Duration_24"])
    assert g.likely_next() == [_ID["Position_24"]]  # where the note ends
    g.feed_all([_ID["Position_24"], _ID["Pitch_62"]])
    assert g.likely_next() == [_ID["Duration_24"], _ID["Position_48"]]
    g.feed_all([_ID["Duration_24"], _ID["Position_48"], _ID["Pitch_64"]])
    # ends on the bar line: the next bar's first position
    assert g.likely_next() == [_ID["Duration_24"], tokens.BAR, _ID["Position_0"]]
    g.feed_all([_ID["Duration_24"], tokens.BAR, _ID["Position_0"], _ID["Pitch_60"]])
    g.feed(_ID[f"Duration_{bar}"])
    assert g.likely_next() == [tokens.EOS]  # the bar limit: the clip ends there
    g.feed(tokens.EOS)
    assert g.likely_next() == []


def _logits_after(backend: TorchBackend | OnnxBackend, ids: list[int]) -> np.ndarray:
    backend.start(1)
    return backend.prefill(np.array([ids], np.int64))[0]


def _header() -> list[int]:
    return [TASK_MELODY, tokens.BOS, _ID["Key_C"], _ID["TimeSig_4/4"], tokens.BAR,
            _ID["Position_0"], _ID["Pitch_60"], _ID["Duration_24"]]


def test_torch_backend_extend_then_rewind_equals_never_having_fed_the_rest() -> None:
    torch.manual_seed(0)
    be = TorchBackend("cpu", model=GPT(CONFIGS["smoke"]).eval())
    head = _header()
    guess = [_ID["Position_24"], _ID["Pitch_62"], _ID["Duration_12"]]
    be.start(1)
    be.prefill(np.array([head], np.int64))
    rows = be.extend(np.array([guess], np.int64))[0]
    assert rows.shape == (3, be.vocab_size) and be.length == len(head) + 3
    # every row is the next-token logits after its own prefix
    np.testing.assert_allclose(rows[1], _logits_after(be, head + guess[:2]), atol=1e-5)
    be.start(1)
    be.prefill(np.array([head], np.int64))
    be.extend(np.array([guess], np.int64))
    be.rewind(len(head) + 1)
    other = be.step(np.array([_ID["Pitch_64"]]))[0]
    np.testing.assert_allclose(other, _logits_after(be, [*head, guess[0], _ID["Pitch_64"]]),
                               atol=1e-5)
    with pytest.raises(ValueError, match="cannot rewind"):
        be.rewind(be.length + 1)


def test_onnx_backend_rewinds_its_shared_cache() -> None:
    be = OnnxBackend()
    assert be.layout == "shared"
    head = _header()
    guess = [_ID["Position_24"], _ID["Pitch_62"], _ID["Duration_12"]]
    be.start(1)
    be.prefill(np.array([head], np.int64))
    be.extend(np.array([guess], np.int64))
    be.rewind(len(head) + 1)
    got = be.step(np.array([_ID["Pitch_64"]]))[0]
    want = _logits_after(be, [*head, guess[0], _ID["Pitch_64"]])
    # int8 activations are quantized per run, so runs of other lengths differ a little
    finite = np.isfinite(want)
    assert np.array_equal(finite, np.isfinite(got))
    assert np.abs(got[finite] - want[finite]).max() < 0.15
    assert int(np.argmax(got)) == int(np.argmax(want))


def test_a_fallback_after_a_rewind_replays_only_the_kept_positions() -> None:
    class FailsOnSecondExtend:
        """A torch backend whose allocator gives out on its second `extend`."""

        def __init__(self) -> None:
            torch.manual_seed(0)
            self.inner = TorchBackend("cpu", model=GPT(CONFIGS["smoke"]).eval())
            self.extends = 0
            self.name, self.warnings = "torch-cuda", list[str]()

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

        def extend(self, ids: np.ndarray) -> np.ndarray:
            self.extends += 1
            if self.extends == 2:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 MiB")
            return self.inner.extend(ids)

    primary = FailsOnSecondExtend()
    torch.manual_seed(0)
    fallback = TorchBackend("cpu", model=GPT(CONFIGS["smoke"]).eval())
    be = FallbackBackend(primary, lambda: fallback)  # type: ignore[arg-type]
    head = _header()
    be.start(1)
    be.prefill(np.array([head], np.int64))
    be.extend(np.array([[_ID["Position_24"], _ID["Pitch_62"]]], np.int64))
    be.rewind(len(head) + 1)
    rows = be.extend(np.array([[_ID["Pitch_65"], _ID["Duration_12"]]], np.int64))
    assert be.name == "torch-cpu" and "out of memory" in be.warnings[0]
    assert be.length == len(head) + 3
    want = _logits_after(TorchBackend("cpu", model=fallback.model),
                         [*head, _ID["Position_24"], _ID["Pitch_65"], _ID["Duration_12"]])
    assert rows.shape == (1, 2, be.vocab_size)
    np.testing.assert_allclose(rows[0, -1], want, atol=1e-5)


def _tune(bars: int = 3) -> Piece:
    bar = bar_ticks(4, 4)
    pitches = [60, 62, 64, 65, 67, 65, 64, 62]
    notes = [[b * bar + i * (bar // 4), bar // 4, pitches[(b * 4 + i) % 8], 80]
             for b in range(bars) for i in range(4)]
    return Piece("test", "tune", notes=np.array(notes, np.int32),
                 bars=np.array([[b * bar, 4, 4] for b in range(bars)], np.int32))


@pytest.mark.parametrize("max_len", [128, 40])  # 40: the context slides on the way
def test_greedy_generation_is_the_same_with_and_without_speculation(max_len: int) -> None:
    req = GenerationRequest("continue", prompt=_tune(), key="C", bars=6, temperature=0)
    plain = smoke_backend(max_len=max_len, speculative=False)
    fast = smoke_backend(max_len=max_len)
    a = generate(req, plain)[0]
    b = generate(req, fast)[0]
    assert np.array_equal(a.notes, b.notes) and np.array_equal(a.bars, b.bars)
    assert fast.calls.get("extend", 0) > 0
    assert fast.calls["step"] + fast.calls.get("extend", 0) <= plain.calls["step"]


def test_sampled_generations_stay_valid_with_speculation() -> None:
    be = smoke_backend()
    for seed in range(4):
        piece = generate(GenerationRequest("continue", prompt=_tune(), key="C", bars=4,
                                           seed=seed, temperature=1.5), be)[0]
        tokens.encode(piece)
        assert len(piece.bars) == 4
    assert be.calls.get("extend", 0) > 0
