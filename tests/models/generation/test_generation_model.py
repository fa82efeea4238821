"""The generation transformer: KV-cached decoding, NLL accounting, training and resume."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from models.generation import tokens
from models.generation.model import (
    CONFIGS,
    GPT,
    PREFIX_LENGTH,
    TASK_CHORDS,
    TASK_MELODY,
    sample,
)
from models.generation.ngram import KneserNeyLM
from models.generation.ngram import nll_per_event as ngram_nll_per_event
from models.generation.piece import Piece
from models.generation.streams import chord_stream, melody_stream
from models.generation.train import (
    TrainOptions,
    load_model,
    main,
    nll_per_event,
    stream_logprobs,
    train,
    window_plan,
)

torch.set_num_threads(1)


def _model(seed: int = 0, **overrides: object) -> GPT:
    torch.manual_seed(seed)
    model = GPT(replace(CONFIGS["smoke"], **overrides))  # type: ignore[arg-type]
    return model.eval().requires_grad_(False)


def _toy_pieces() -> list[Piece]:
    """Two small tunes with chords: 4/4 in C, 3/4 in A minor with a pickup note."""
    a = Piece("toy", "a", notes=np.array([[0, 24, 60, 80], [24, 24, 62, 80], [48, 48, 64, 80],
                                          [96, 96, 67, 80], [192, 48, 65, 80]], np.int32),
              bars=np.array([[0, 4, 4], [96, 4, 4], [192, 4, 4]], np.int32),
              keys=np.array([[0, 0, 0]], np.int32),
              chords=np.array([[0, 96, 0, 0], [96, 96, 7, 0], [192, 96, 5, 0]], np.int32))
    b = Piece("toy", "b", notes=np.array([[0, 24, 57, 80], [24, 48, 60, 80],
                                          [72, 72, 64, 80], [144, 24, 62, 80]], np.int32),
              bars=np.array([[0, 3, 4], [72, 3, 4], [144, 3, 4]], np.int32),
              keys=np.array([[0, 9, 1]], np.int32),
              chords=np.array([[0, 72, 9, 1], [72, 72, 4, 0], [144, 72, 9, 1]], np.int32))
    return [a, b]


def test_kv_cached_decoding_equals_the_full_forward_pass() -> None:
    model = _model()
    x = torch.randint(3, tokens.EOS + 700, (2, 50))
    x[:, 0] = TASK_MELODY
    full = model(x)
    cache = model.new_cache(2)
    chunks = [model.prefill(x[:, :7], cache)[:, None]]
    chunks.append(model(x[:, 7:20], cache))  # a second prefill on top of a filled cache
    chunks += [model.generate_step(x[:, i], cache)[:, None] for i in range(20, 50)]
    inc = torch.cat([chunks[0], chunks[1][:, :], *chunks[2:]], dim=1)
    assert cache.length == 50
    ref = torch.cat([full[:, 6:7], full[:, 7:20], full[:, 20:50]], dim=1)
    finite = torch.isfinite(ref)
    assert torch.equal(finite, torch.isfinite(inc))  # the never-predicted tokens
    assert (inc[finite] - ref[finite]).abs().max() < 1e-5


def test_static_step_equals_the_cached_forward_at_every_position() -> None:
    # The step a CUDA graph replays: the position is a tensor, the whole cache is
    # attended with the later positions masked; it must give the same logits and
    # leave the same keys and values as the dynamic step.
    model = _model()
    x = torch.randint(3, tokens.EOS + 700, (2, 30))
    x[:, 0] = TASK_MELODY
    dyn, stat = model.new_cache(2), model.new_cache(2)
    with torch.no_grad():
        model.prefill(x[:, :9], dyn)
        model.prefill(x[:, :9], stat)
        stat.k[:, :, :, 9:] = 7.0  # stale positions from an earlier use are never read
        stat.v[:, :, :, 9:] = -7.0
        i = 9
        for t in (1, 1, 3, 1, 4, 2, 1, 8):  # one token, and several at once (extend)
            ref = model(x[:, i:i + t], dyn)
            got = model.static_step(x[:, i:i + t], torch.tensor([stat.length]), stat)
            stat.length += t
            i += t
            finite = torch.isfinite(ref)
            assert got.shape == ref.shape
            assert torch.equal(finite, torch.isfinite(got))
            assert (got[finite] - ref[finite]).abs().max() < 1e-5
        assert i == 30
    assert torch.allclose(stat.k[:, :, :, :30], dyn.k[:, :, :, :30], atol=1e-6)
    assert torch.allclose(stat.v[:, :, :, :30], dyn.v[:, :, :, :30], atol=1e-6)


def test_cache_refuses_more_than_max_len_and_sampling_stays_inside() -> None:
    model = _model(max_len=16)
    out = sample(model, [TASK_CHORDS, tokens.BOS], 100, temperature=1.0, top_p=0.9, seed=3)
    assert 1 <= len(out) <= 14
    assert not set(out) & {tokens.PAD, tokens.BOS, TASK_MELODY, TASK_CHORDS}
    assert out == sample(model, [TASK_CHORDS, tokens.BOS], 100, temperature=1.0,
                         top_p=0.9, seed=3)
    cache = model.new_cache(1)
    model.prefill(torch.zeros(1, 16, dtype=torch.long) + tokens.BAR, cache)
    with pytest.raises(ValueError, match="max_len"):
        model.generate_step(torch.tensor([tokens.BAR]), cache)


@pytest.mark.parametrize("length", [5, 40, 128, 129, 300, 1000])
def test_window_plan_scores_every_target_once(length: int) -> None:
    seen = np.zeros(length, int)
    for a, b, first in window_plan(length, 128):
        assert a >= PREFIX_LENGTH and 2 <= first < b <= length
        assert first >= a or a == PREFIX_LENGTH  # targets inside the window's input
        assert PREFIX_LENGTH + b - a <= 128  # the input fits the context
        seen[first:b] += 1
    assert seen[:2].sum() == 0 and (seen[2:] == 1).all()


def test_nll_accounting_agrees_with_the_ngram_code() -> None:
    """Same toy stream, same tokens scored, same division by notes / chord changes."""
    pieces = _toy_pieces()
    for stream in (melody_stream(pieces), chord_stream(pieces)):
        lm = KneserNeyLM(3, len(tokens.VOCAB)).fit(stream.sequences)
        lps = [lm.token_logprobs(s) for s in stream.sequences]
        ours = nll_per_event(lps, stream.events)
        assert ours == pytest.approx(
            ngram_nll_per_event(lm, stream.sequences, stream.events, tokens.HEADER_LENGTH),
            rel=1e-12)
    # The transformer's log-probabilities on the same accounting: lp[k] scores seq[k+1],
    # everything after the header is scored, from one full forward pass here.
    model = _model()
    stream = melody_stream(pieces)
    lps = stream_logprobs(model, TASK_MELODY, stream.sequences)
    total = 0.0
    for seq, lp in zip(stream.sequences, lps, strict=True):
        assert len(lp) == len(seq) - 1
        x = torch.tensor([[TASK_MELODY, *seq.tolist()]])
        logp = torch.log_softmax(model(x)[0], -1)
        k = np.arange(tokens.HEADER_LENGTH, len(seq))  # seq[k] sits at x[k + 1]
        ref = logp[k, torch.from_numpy(seq[k].astype(np.int64))].double().numpy()
        np.testing.assert_allclose(lp[tokens.HEADER_LENGTH - 1:], ref, atol=1e-5)
        total -= ref.sum()
    assert nll_per_event(lps, stream.events) == pytest.approx(
        total / sum(stream.events), rel=1e-6)
    assert sum(stream.events) == sum(len(p.notes) for p in pieces)


def test_long_pieces_are_scored_in_windows_like_a_forward_on_each_window() -> None:
    model = _model(max_len=32)
    seq = melody_stream(_toy_pieces() * 1).sequences[0]
    seq = np.concatenate([seq[:-1], seq[tokens.HEADER_LENGTH:]])  # > 32 tokens
    lp = stream_logprobs(model, TASK_MELODY, [seq])[0]
    x = np.concatenate([[TASK_MELODY], seq])
    for a, b, first in window_plan(len(x), 32):
        inp = torch.from_numpy(np.concatenate([x[:PREFIX_LENGTH], x[a:b]]))[None]
        logp = torch.log_softmax(model(inp)[0], -1)
        n = b - first
        pos = np.arange(inp.shape[1] - n, inp.shape[1])
        ref = logp[pos - 1, torch.from_numpy(x[first:b])].double().numpy()
        np.testing.assert_allclose(lp[first - 2:b - 2], ref, atol=1e-5)
    assert np.isfinite(lp).all()


def _opts(out: Path, **kw: object) -> TrainOptions:
    base = dict(config="smoke", out=out, steps=40, batch_size=8, lr=3e-3, warmup=8,
                evals=2, eval_pieces=6, threads=1, log_every=5, test=False)
    base.update(kw)
    return TrainOptions(**base)  # type: ignore[arg-type]


def test_smoke_training_learns_and_resumes_to_the_same_state(tmp_path: Path) -> None:
    quiet = lambda s: None  # noqa: E731
    straight = train(_opts(tmp_path / "straight"), say=quiet)
    losses = [r["loss"] for r in straight["train"]]
    assert losses[-1] < losses[0] - 1.0  # from ~ln(735) = 6.6 nats/token
    assert straight["finished"]
    assert math.isfinite(straight["valid"][-1]["melody"])

    part = train(_opts(tmp_path / "resumed", stop_at=15), say=quiet)
    assert not part["finished"]
    resumed = train(_opts(tmp_path / "resumed", resume=True), say=quiet)
    assert resumed["finished"]
    assert [r["loss"] for r in resumed["train"]] == losses
    a = load_model(tmp_path / "straight" / "last.pt").state_dict()
    b = load_model(tmp_path / "resumed" / "last.pt").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["valid"][-1]["melody"] == straight["valid"][-1]["melody"]
    assert (tmp_path / "resumed" / "loss.png").stat().st_size > 0
    assert (tmp_path / "resumed" / "log.json").exists()


def test_a_damaged_checkpoint_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="cannot be read"):
        train(_opts(tmp_path, resume=True), say=lambda s: None)
    assert (tmp_path / "last.pt").read_bytes() == b"not a checkpoint"


def test_command_line_trains_and_reports_bad_checkpoints(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--config", "smoke", "--steps", "6", "--threads", "1", "--evals", "1",
            "--eval-pieces", "3", "--out", str(tmp_path)]
    assert main(args) == 0
    log = json.loads((tmp_path / "log.json").read_text())
    assert log["finished"] and log["valid"][-1]["step"] == 6 and "test" in log
    (tmp_path / "last.pt").write_bytes(b"\0" * 10)
    assert main([*args, "--resume"]) == 1
    assert "cannot be read" in capsys.readouterr().err
