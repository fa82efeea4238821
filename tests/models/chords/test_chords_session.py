"""ONNX Runtime sessions of the chord model: offline outputs, live streaming in any
chunking equal to the whole clip, and clear errors for bad model files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from chords_export_support import export_graphs, tiny_checkpoint
from hypothesis import given, settings
from hypothesis import strategies as st

from models.chords import features as feats
from models.chords.session import (
    LIVE_FILE,
    META_FILE,
    OFFLINE_FILE,
    ChordNet,
    LiveNet,
    ModelFileError,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("session")
    model = tiny_checkpoint(root / "tiny.pt")
    return {"model": model, "fp32": export_graphs(model, root / "fp32", int8=False),
            "int8": export_graphs(model, root / "int8", int8=True), "root": root}


def _clip(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.log1p(1000 * rng.exponential(0.002, (n, feats.N_BINS))).astype(np.float32)


def _stream(net: LiveNet, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    net.reset()
    out, i = [], 0
    for n in sizes:
        frame, bass = net.push(x[i:i + n])
        assert len(frame) == len(bass)
        out.append(frame)
        i += n
    frame, _ = net.push(x[i:])
    out.append(frame)
    out.append(net.flush()[0])
    return np.concatenate(out)


def _torch_live(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        logits = model.offline(torch.from_numpy(x[None]))["live_frame"]  # type: ignore[operator]
    return torch.log_softmax(logits, -1)[0].numpy()


def test_offline_outputs_drop_the_batch_and_accept_any_length(graphs: dict) -> None:
    net = ChordNet.load(graphs["fp32"][0])
    d = net.meta["embedding_dim"]
    for t in (1, 2, 37):
        out = net.offline(_clip(t))
        assert out["ctc_logprobs"].shape == (t, 158)
        assert out["frame_logprobs"].shape == (t, 157)
        assert out["bass_logprobs"].shape == (t, 13)
        assert out["embedding"].shape == (d,)
        assert np.allclose(np.exp(out["ctc_logprobs"]).sum(axis=1), 1.0, atol=1e-4)
    empty = net.offline(np.zeros((0, feats.N_BINS), np.float32))
    assert empty["frame_logprobs"].shape == (0, 157) and empty["embedding"].shape == (d,)
    with torch.no_grad():
        ref = graphs["model"](torch.from_numpy(_clip(37)[None]))
    assert np.abs(net.offline(_clip(37))["frame_logprobs"] - ref[1][0].numpy()).max() < 1e-4


def test_offline_refuses_features_of_the_wrong_shape(graphs: dict) -> None:
    net = ChordNet.load(graphs["int8"][0])
    with pytest.raises(ValueError, match="243"):
        net.offline(np.zeros((10, 100), np.float32))
    bad = _clip(10)
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.offline(bad)


def test_long_clips_run_in_windows_close_to_one_pass(graphs: dict) -> None:
    net = ChordNet.load(graphs["fp32"][0])
    x = _clip(2000, seed=6)
    whole = net.offline(x)
    net.window, net.overlap = 500, 100
    parts = net.offline(x)
    for key in ("ctc_logprobs", "frame_logprobs", "bass_logprobs"):
        assert parts[key].shape == whole[key].shape
        assert np.abs(parts[key] - whole[key]).max() < 1e-3
    assert np.abs(parts["embedding"] - whole["embedding"]).max() < 0.05


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=25))
def test_live_in_any_chunks_equals_the_whole_clip(graphs: dict, sizes: list[int]) -> None:
    net = LiveNet.load(graphs["fp32"][1])
    x = _clip(90, seed=3)
    whole = _stream(net, x, [])
    assert whole.shape == (90, 157)
    assert np.abs(_stream(net, x, sizes) - whole).max() < 1e-5


def test_live_stream_equals_the_torch_causal_branch(graphs: dict) -> None:
    x = _clip(150, seed=4)
    ref = _torch_live(graphs["model"], x)
    net = LiveNet.load(graphs["fp32"][1])
    assert np.abs(_stream(net, x, [1, 2, 3, 50]) - ref).max() < 1e-4
    # int8 quantizes activations per call, so chunking moves values a little
    q = LiveNet.load(graphs["int8"][1])
    a, b = _stream(q, x, []), _stream(q, x, [4] * 37)
    assert np.abs(a - b).max() < 0.1 and np.abs(a - ref).max() < 0.5


def test_live_output_trails_by_the_lookahead_and_reset_forgets(graphs: dict) -> None:
    net = LiveNet.load(graphs["fp32"][1])
    x = _clip(20, seed=5)
    first, _ = net.push(x[:1])
    assert len(first) == 1 - net.lookahead
    second, _ = net.push(x[1:])
    assert len(first) + len(second) == 20 - net.lookahead
    net.reset()
    again = np.concatenate([net.push(x)[0], net.flush()[0]])
    assert np.abs(again[:len(first) + len(second)]
                  - np.concatenate([first, second])).max() < 1e-6
    assert net.flush()[0].shape == (0, 157)  # nothing pending after a flush


def test_missing_damaged_and_foreign_files_raise_model_file_error(graphs: dict,
                                                                  tmp_path: Path) -> None:
    good = graphs["int8"][0]
    with pytest.raises(ModelFileError, match="does not exist"):
        ChordNet.load(tmp_path / "nothing.onnx")
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty"):
        ChordNet.load(tmp_path / "empty.onnx")
    data = good.read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"cut\.onnx"):
        ChordNet.load(tmp_path / "cut.onnx")
    (tmp_path / "noise.onnx").write_bytes(np.random.default_rng(0).bytes(50_000))
    with pytest.raises(ModelFileError, match="cannot be loaded"):
        ChordNet.load(tmp_path / "noise.onnx")
    with pytest.raises(ModelFileError, match="not the offline chord graph"):
        ChordNet.load(graphs["int8"][1])  # the live graph
    with pytest.raises(ModelFileError, match="not the live chord graph"):
        LiveNet.load(good)


def test_a_file_that_differs_from_chords_json_is_refused(graphs: dict, tmp_path: Path) -> None:
    for name in (OFFLINE_FILE, LIVE_FILE):
        shutil.copyfile(graphs["fp32"][0].parent / name, tmp_path / name)
    meta = {"model_version": "x", "files": {OFFLINE_FILE: {"sha256": "0" * 64}}}
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="SHA-256"):
        ChordNet.load(tmp_path / OFFLINE_FILE)
    LiveNet.load(tmp_path / LIVE_FILE)  # not listed: loads
    (tmp_path / META_FILE).write_text("{not json")
    with pytest.raises(ModelFileError, match=r"chords\.json"):
        LiveNet.load(tmp_path / LIVE_FILE)


def test_the_committed_artifacts_load_and_run() -> None:
    net = ChordNet.load()
    for key in ("model_version", "variant", "num_classes", "blank", "bass_classes",
                "embedding_dim", "live", "features", "variants"):
        assert key in net.meta
    assert net.meta["features"]["n_bins"] == feats.N_BINS
    out = net.offline(_clip(64))
    assert out["embedding"].shape == (net.meta["embedding_dim"],)
    live = LiveNet.load()
    frame, bass = live.push(_clip(64))
    assert frame.shape == (64 - live.lookahead, 157) and bass.shape == (len(frame), 13)
