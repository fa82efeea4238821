"""The ONNX export of the generation transformer: graph == torch (prefill and single
steps, batch 1 and 2, both cache layouts), int8 quantization, the evaluation path and
the export command end to end."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from models.generation import export, tokens, train
from models.generation.backends import META_NAME, ONNX_NAME, TORCH_NAME, OnnxBackend, load_backend
from models.generation.model import CONFIGS, GPT, MODEL_VOCAB, NEVER_PREDICTED, TASK_MELODY

torch.set_num_threads(1)

# "concat": the smoke config (head size 12); "shared": head size 16, the smallest the
# fused attention kernel takes (the cpu and gpu configs have 64).
LAYOUT_CONFIGS = {"concat": replace(CONFIGS["smoke"], max_len=96),
                  "shared": replace(CONFIGS["smoke"], d_model=32, n_heads=2, max_len=96)}


def _model(layout: str, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    model = GPT(LAYOUT_CONFIGS[layout]).eval().requires_grad_(False)
    # Larger weights than the initialisation's, so the logits are not all near zero.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(4.0)
    return model


@pytest.fixture(scope="module", params=["concat", "shared"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[GPT, Path, Path]:
    """(model, fp32 graph, int8 per-channel graph) for one layout."""
    layout = request.param
    model = _model(layout)
    folder = tmp_path_factory.mktemp(f"gen-{layout}")
    fp32, int8 = folder / "fp32.onnx", folder / "int8.onnx"
    assert export.export_onnx(model, fp32) == layout
    export.stamp(fp32, export.graph_meta(model.config, "test", "fp32", layout))
    export.quantize(fp32, int8, per_channel=True)
    export.stamp(int8, export.graph_meta(model.config, "test", "int8", layout))
    return model, fp32, int8


def _rows(batch: int, length: int, seed: int = 1) -> np.ndarray:
    rows = np.random.default_rng(seed).integers(tokens.BAR, len(tokens.VOCAB), (batch, length))
    rows[:, 0] = TASK_MELODY
    rows[:, 1] = tokens.BOS
    return rows


@pytest.mark.parametrize("batch", [1, 2])
def test_fp32_graph_equals_torch_over_prefill_and_steps(
        exported: tuple[GPT, Path, Path], batch: int) -> None:
    model, fp32, _ = exported
    diff = export.check_steps(model, fp32, _rows(batch, 50), prompt=30, steps=20)
    assert diff < 1e-4


def test_graph_continues_a_filled_cache_with_a_second_prefill(
        exported: tuple[GPT, Path, Path]) -> None:
    model, fp32, _ = exported
    rows = _rows(2, 40)
    with torch.no_grad():
        full = model(torch.from_numpy(rows)).numpy()
    backend = OnnxBackend(fp32)
    backend.start(2)
    backend.prefill(rows[:, :10])
    got = [backend.prefill(rows[:, 10:25])]
    got += [backend.step(rows[:, j]) for j in range(25, 40)]
    assert backend.length == 40
    ref = full[:, 24:40]
    out = np.stack(got, axis=1)
    finite = np.isfinite(ref)
    assert np.array_equal(finite, np.isfinite(out))
    assert np.abs(out[finite] - ref[finite]).max() < 1e-4
    assert np.all(np.isneginf(out[..., list(NEVER_PREDICTED)]))


def test_int8_graph_loads_and_stays_close_to_fp32(exported: tuple[GPT, Path, Path]) -> None:
    _, fp32, int8 = exported
    rows = _rows(2, 60)
    a, b = OnnxBackend(fp32), OnnxBackend(int8)
    assert (a.name, b.name) == ("onnx-fp32-cpu", "onnx-int8-cpu")
    ref, got = a.forward(rows), b.forward(rows)
    finite = np.isfinite(ref)
    assert np.array_equal(finite, np.isfinite(got))
    spread = np.abs(ref[finite]).max()
    assert np.abs(got[finite] - ref[finite]).max() < 0.05 * spread
    # The distributions barely move: mean KL(fp32 || int8) per position.
    p, q = export.log_softmax(ref), export.log_softmax(got)
    kl = (np.exp(p) * np.where(finite, p - np.where(finite, q, 0.0), 0.0)).sum(-1)
    assert kl.mean() < 1e-2


def test_evaluation_path_matches_train_stream_logprobs(
        exported: tuple[GPT, Path, Path]) -> None:
    model, fp32, _ = exported
    rng = np.random.default_rng(5)
    # Lengths under and over the context (header-anchored windows), tokens after BOS.
    seqs = [np.concatenate([[tokens.BOS], rng.integers(tokens.BAR, len(tokens.VOCAB), n)])
            for n in (20, 70, 150, 33)]
    ref = train.stream_logprobs(model, TASK_MELODY, seqs)
    via_torch = export.stream_logprobs(
        lambda ids: model(torch.from_numpy(ids)).numpy(), TASK_MELODY, seqs,
        model.config.max_len, max_tokens=200)
    via_onnx = export.stream_logprobs(OnnxBackend(fp32).forward, TASK_MELODY, seqs,
                                      model.config.max_len, max_tokens=200)
    for r, t, o in zip(ref, via_torch, via_onnx, strict=True):
        assert np.abs(r[2:] - t[2:]).max() < 1e-5
        assert np.abs(r[2:] - o[2:]).max() < 1e-4


def test_quantize_keeps_the_rotary_turn_matrix_in_float(tmp_path: Path) -> None:
    import onnx

    model = _model("concat")
    fp32, int8 = tmp_path / "a.onnx", tmp_path / "b.onnx"
    export.export_onnx(model, fp32)
    export.quantize(fp32, int8, per_channel=False)
    ops = [n.op_type for n in onnx.load(str(int8)).graph.node]
    # Weight matrices: qkv, proj, two MLP layers per block and the tied output head.
    quantized = sum(op in ("MatMulInteger", "DynamicQuantizeMatMul") for op in ops)
    assert quantized == 4 * model.config.n_layers + 1
    assert "MatMul" in ops  # the turn matrix and the attention products stay float


def _checkpoint(path: Path, layout: str) -> GPT:
    model = _model(layout, seed=3)
    torch.save({"model": model.state_dict(), "config": model.config.to_dict(), "step": 7},
               path)
    return model


def test_export_command_writes_loadable_artifacts(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tmp_path / "best.pt"
    _checkpoint(ckpt, "shared")
    out = tmp_path / "artifacts"
    rc = export.main([str(ckpt), "--out", str(out), "--eval-pieces", "3",
                      "--latency-pieces", "1"])
    assert rc == 0, capsys.readouterr().err
    meta = json.loads((out / META_NAME).read_text())
    assert meta["version"] == "custom-step7"
    assert meta["vocab_size"] == MODEL_VOCAB
    assert meta["task_tokens"]["melody"] == TASK_MELODY
    assert meta["cache"] == "shared"
    assert max(meta["checks"]["fp32_vs_torch_max_abs"].values()) < export.STEP_CHECK_TOL
    for variant in ("torch_fp32", "int8_per_tensor", "int8_per_channel"):
        assert set(meta["nll"][variant]) == {"melody", "chords"}
    assert set(meta["latency_8bars_1thread"]) >= {"onnx_fp32", meta["quantization"]["chosen"]}
    assert meta["quantization"]["chosen"] in ("int8_per_tensor", "int8_per_channel")
    for name in (ONNX_NAME, TORCH_NAME):
        assert meta["files"][name]["bytes"] == (out / name).stat().st_size
    onnx_backend = load_backend("onnx", directory=out)
    torch_backend = load_backend("torch", directory=out)
    assert (onnx_backend.name, torch_backend.name) == ("onnx-int8-cpu", "torch-cpu")
    rows = _rows(1, 12)
    for b in (onnx_backend, torch_backend):
        b.start(1)
        logits = b.prefill(rows)
        assert logits.shape == (1, MODEL_VOCAB)
        assert np.isfinite(logits[0, tokens.EOS])


def test_export_command_refuses_a_damaged_checkpoint(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(b"not a checkpoint")
    out = tmp_path / "artifacts"
    assert export.main([str(ckpt), "--out", str(out)]) == 1
    assert "cannot be read" in capsys.readouterr().err
    assert not out.exists()
