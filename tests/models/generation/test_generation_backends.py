"""Generation backends: the committed artifacts load and agree, torch and ONNX give the
same logits, bad input and damaged or foreign model files give clear errors, and an
allocation failure falls back to the CPU with a warning."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from models.generation import export, tokens
from models.generation.backends import (
    ARTIFACTS,
    META_NAME,
    ONNX_NAME,
    TORCH_NAME,
    Backend,
    FallbackBackend,
    ModelFileError,
    OnnxBackend,
    TorchBackend,
    is_out_of_memory,
    load_backend,
    load_torch_model,
    read_meta,
)
from models.generation.model import MODEL_VOCAB, NEVER_PREDICTED, TASK_CHORDS, TASK_MELODY

torch.set_num_threads(1)


def _prompt(batch: int = 1) -> np.ndarray:
    """Task, BOS, Key C, TimeSig 4/4, Bar: a real header."""
    ids = [TASK_MELODY, tokens.BOS, tokens.VOCAB.index()["Key_C"],
           tokens.VOCAB.index()["TimeSig_4/4"], tokens.BAR]
    return np.array([ids] * batch, np.int64)


def _greedy(backend: Backend, batch: int, steps: int) -> tuple[np.ndarray, list[np.ndarray]]:
    backend.start(batch)
    logits = backend.prefill(_prompt(batch))
    seen = [logits]
    out = []
    for _ in range(steps):
        tok = logits.argmax(-1)
        out.append(tok)
        logits = backend.step(tok)
        seen.append(logits)
    return np.stack(out, 1), seen


def test_committed_artifacts_load_with_their_metadata() -> None:
    meta = read_meta()
    assert meta is not None
    assert meta["vocab_size"] == MODEL_VOCAB
    assert meta["task_tokens"] == {"melody": TASK_MELODY, "chords": TASK_CHORDS,
                                   "lead": TASK_CHORDS + 1}
    for name in (ONNX_NAME, TORCH_NAME):
        assert (ARTIFACTS / name).stat().st_size == meta["files"][name]["bytes"]
        assert meta["files"][name]["bytes"] < 25 * 2**20
    backend = load_backend()  # CUDA torch where there is a GPU, else ONNX int8
    assert isinstance(backend, Backend)
    assert backend.name == ("torch-cuda" if torch.cuda.is_available() else "onnx-int8-cpu")
    assert (backend.vocab_size, backend.max_len) == (MODEL_VOCAB, meta["config"]["max_len"])
    assert backend.warnings == []
    ids, seen = _greedy(backend, 2, 8)
    assert backend.length == _prompt().shape[1] + 8
    assert np.array_equal(ids[0], ids[1])  # identical rows stay identical
    for logits in seen:
        assert logits.shape == (2, MODEL_VOCAB)
        assert np.all(np.isneginf(logits[:, list(NEVER_PREDICTED)]))
        assert np.isfinite(np.delete(logits, list(NEVER_PREDICTED), axis=1)).all()


def test_committed_int8_and_fp16_torch_weights_agree() -> None:
    onnx_b, torch_b = load_backend("onnx"), load_backend("torch")
    assert torch_b.name == ("torch-cuda" if torch.cuda.is_available() else "torch-cpu")
    for b in (onnx_b, torch_b):
        b.start(1)
    a, t = onnx_b.prefill(_prompt()), torch_b.prefill(_prompt())
    finite = np.isfinite(t)
    assert np.array_equal(finite, np.isfinite(a))
    assert np.abs(a[finite] - t[finite]).max() < 0.1 * (np.abs(t[finite]).max() + 1)


def test_torch_and_onnx_fp32_backends_agree_on_a_short_sequence(tmp_path: Path) -> None:
    model, _ = load_torch_model()
    path = tmp_path / "fp32.onnx"
    layout = export.export_onnx(model, path)
    export.stamp(path, export.graph_meta(model.config, "test", "fp32", layout))
    tb, ob = TorchBackend("cpu", model=model), OnnxBackend(path)
    assert ob.name == "onnx-fp32-cpu"
    rng = np.random.default_rng(2)
    rest = rng.integers(tokens.BAR, len(tokens.VOCAB), (2, 12))
    for b in (tb, ob):
        b.start(2)
    pairs = [(tb.prefill(_prompt(2)), ob.prefill(_prompt(2))),
             (tb.prefill(rest[:, :4]), ob.prefill(rest[:, :4]))]
    pairs += [(tb.step(rest[:, j]), ob.step(rest[:, j])) for j in range(4, 12)]
    assert tb.length == ob.length == 5 + 12
    for ref, got in pairs:
        finite = np.isfinite(ref)
        assert np.array_equal(finite, np.isfinite(got))
        assert np.abs(ref[finite] - got[finite]).max() < 1e-4


def test_a_new_start_forgets_the_cache() -> None:
    backend = load_backend("onnx")
    backend.start(1)
    first = backend.prefill(_prompt())
    backend.step(np.array([tokens.BAR]))
    backend.start(1)
    assert backend.length == 0
    again = backend.prefill(_prompt())
    assert np.array_equal(first, again)


@pytest.mark.parametrize("prefer", ["onnx", "torch"])
def test_bad_input_is_refused_and_leaves_the_cache_usable(prefer: str) -> None:
    backend = load_backend(prefer)
    backend.start(2)
    with pytest.raises(ValueError, match="batch 2"):
        backend.prefill(_prompt(1))
    with pytest.raises(ValueError, match="lie in"):
        backend.prefill(np.full((2, 3), MODEL_VOCAB))
    with pytest.raises(ValueError, match="integers"):
        backend.step(np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="shape"):
        backend.prefill(np.zeros((2, 0), np.int64))
    backend.prefill(_prompt(2))
    too_long = np.full((2, backend.max_len), tokens.BAR)
    with pytest.raises(ValueError, match="exceed"):
        backend.prefill(too_long)
    assert backend.length == _prompt().shape[1]
    assert backend.step(np.array([tokens.BAR, tokens.BAR])).shape == (2, MODEL_VOCAB)
    with pytest.raises(ValueError, match="at least 1"):
        backend.start(0)
    with pytest.raises(ValueError, match="prefer"):
        load_backend("tpu")


def _copy_artifacts(tmp_path: Path) -> Path:
    folder = tmp_path / "artifacts"
    shutil.copytree(ARTIFACTS, folder)
    return folder


@pytest.mark.parametrize(("prefer", "name"), [("onnx", ONNX_NAME), ("torch", TORCH_NAME)])
@pytest.mark.parametrize("damage", ["truncated", "random", "missing", "empty"])
def test_damaged_model_files_raise_model_file_error(tmp_path: Path, prefer: str, name: str,
                                                    damage: str) -> None:
    folder = _copy_artifacts(tmp_path)
    path = folder / name
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif damage == "random":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    elif damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"")
    with pytest.raises(ModelFileError, match=name):
        load_backend(prefer, directory=folder)
    # Without gen.json's checksums the loaders themselves must notice.
    (folder / META_NAME).unlink()
    with pytest.raises(ModelFileError, match=name):
        load_backend(prefer, directory=folder)


def test_foreign_files_raise_model_file_error(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    folder = _copy_artifacts(tmp_path)
    (folder / META_NAME).unlink()
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "foreign",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), str(folder / ONNX_NAME))
    with pytest.raises(ModelFileError, match="not a StrumSpace generation model"):
        OnnxBackend(folder / ONNX_NAME)
    torch.save({"weights": torch.zeros(3)}, folder / TORCH_NAME)
    with pytest.raises(ModelFileError, match="not StrumSpace generation weights"):
        TorchBackend("cpu", folder / TORCH_NAME)
    (folder / META_NAME).write_text("{ not json")
    with pytest.raises(ModelFileError, match="not readable JSON"):
        load_backend("onnx", directory=folder)
    (folder / META_NAME).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelFileError, match="not StrumSpace generation-model metadata"):
        load_backend("onnx", directory=folder)


def test_an_allocation_failure_falls_back_to_the_cpu_backend_with_a_warning() -> None:
    # A real torch allocator failure: a cache for 2**34 rows (far beyond any memory).
    primary = TorchBackend("cpu")
    backend = FallbackBackend(primary, lambda: OnnxBackend())
    assert backend.name == "torch-cpu"
    # The ONNX model's fixed-size cache cannot hold 2**34 rows either.
    with contextlib.suppress(MemoryError):
        backend.start(2**34)
    assert backend.name == "onnx-int8-cpu"
    assert len(backend.warnings) == 1 and "out of memory" in backend.warnings[0]
    assert "CPU" in backend.warnings[0]
    backend.start(1)
    assert backend.prefill(_prompt()).shape == (1, MODEL_VOCAB)
    assert backend.step(np.array([tokens.BAR])).shape == (1, MODEL_VOCAB)
    assert backend.length == _prompt().shape[1] + 1


def test_only_out_of_memory_errors_count_as_such() -> None:
    with pytest.raises(RuntimeError) as info:
        torch.empty(2**62, dtype=torch.uint8)
    assert is_out_of_memory(info.value)
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))
    # Other errors pass through the fallback untouched.
    backend = FallbackBackend(TorchBackend("cpu"), lambda: OnnxBackend())
    backend.start(1)
    with pytest.raises(ValueError):
        backend.prefill(np.full((1, 2), -1))
    assert backend.name == "torch-cpu" and backend.warnings == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this computer has CUDA")
def test_asking_for_cuda_without_it_gives_the_cpu_backend_with_a_warning() -> None:
    backend = load_backend("cuda")
    assert backend.name == "onnx-int8-cpu"
    assert backend.warnings == ["no CUDA GPU is available; generating on the CPU"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_steps_replay_a_graph_that_matches_the_cpu_model() -> None:
    # Steps on CUDA replay a captured graph (fp16); they must follow the fp32 CPU
    # model token by token, after a new start on the same batch (the cache and the
    # graph are reused), after a rewind, and with a second batch size.
    cpu, gpu = TorchBackend("cpu"), TorchBackend("cuda")
    rng = np.random.default_rng(5)
    for batch in (1, 1, 3):
        rest = rng.integers(tokens.BAR, len(tokens.VOCAB), (batch, 24))
        for b in (cpu, gpu):
            b.start(batch)
        pairs = [(cpu.prefill(_prompt(batch)), gpu.prefill(_prompt(batch)))]
        for i in range(12):
            pairs.append((cpu.step(rest[:, i]), gpu.step(rest[:, i])))
        for b in (cpu, gpu):
            b.rewind(b.length - 4)
        for i in range(8, 16):
            pairs.append((cpu.step(rest[:, i]), gpu.step(rest[:, i])))
        # extend (speculative decoding's scoring run): a graph per length
        for lo, hi in ((16, 19), (19, 20), (20, 24)):
            want, got = cpu.extend(rest[:, lo:hi]), gpu.extend(rest[:, lo:hi])
            assert want.shape == got.shape == (batch, hi - lo, cpu.vocab_size)
            pairs += list(zip(want.transpose(1, 0, 2), got.transpose(1, 0, 2), strict=True))
        assert cpu.length == gpu.length
        for want, got in pairs:
            finite = np.isfinite(want)
            assert np.array_equal(finite, np.isfinite(got))
            assert np.abs(got[finite] - want[finite]).max() < 0.05 * (
                np.abs(want[finite]).max() + 1)
    assert sorted(gpu._graphs) == [1, 3, 4] and gpu._graphs[1].batch == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_out_of_memory_falls_back_to_the_cpu() -> None:
    backend = load_backend("auto")
    assert backend.name == "torch-cuda"
    ref = load_backend("onnx")
    ref.start(1)
    expected = ref.prefill(_prompt())
    # Take the GPU's free memory, then ask for a cache that cannot fit any more.
    free, _ = torch.cuda.mem_get_info()
    hog = torch.empty(int(free * 0.97), dtype=torch.uint8, device="cuda")
    try:
        backend.start(4096)
    finally:
        del hog
    assert backend.name == "onnx-int8-cpu"
    assert backend.warnings
    backend.start(1)
    assert np.allclose(backend.prefill(_prompt()), expected, equal_nan=True)
