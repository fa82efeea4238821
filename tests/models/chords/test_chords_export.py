"""The ONNX export: graphs equal to torch within tolerance, int8 and pruned variants that
load and run, the variant choice, chords.json, and clear failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from chords_export_support import labelled_set, tiny_checkpoint

from models.chords import export
from models.chords import features as feats
from models.chords.model import config_dict
from models.chords.session import ChordNet, LiveNet

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("export")
    ckpt = root / "tiny.pt"
    model = tiny_checkpoint(ckpt)
    valid = labelled_set(root / "valid")
    record = export.export_all(ckpt, root / "artifacts", root / "work", valid, None,
                               log=lambda _msg: None)
    return {"root": root, "model": model, "record": record, "ckpt": ckpt}


def test_fp32_graphs_equal_torch_on_short_and_long_clips(exported: dict[str, Any]) -> None:
    measured = exported["record"]["tolerance"]["measured"]
    for branch in ("plain", "pruned"):
        for graph in ("offline", "live"):
            assert max(measured[branch][graph].values()) < export.FP32_TOLERANCE
    # and once more here, on lengths the export did not try
    work = exported["root"] / "work"
    worst = export.verify_offline(exported["model"], work / "plain-fp32.onnx", (1, 4, 999), seed=7)
    assert max(worst.values()) < export.FP32_TOLERANCE
    worst = export.verify_live(exported["model"], work / "plain-fp32-live.onnx", (1, 5), seed=8)
    assert max(worst.values()) < export.FP32_TOLERANCE


def test_every_variant_loads_runs_and_stays_near_torch(exported: dict[str, Any]) -> None:
    work = exported["root"] / "work"
    x = np.abs(np.random.default_rng(0).normal(size=(120, feats.N_BINS))).astype(np.float32)
    for name in export.VARIANTS:
        path = work / ("plain-fp32.onnx" if name == "fp32" else f"{name}.onnx")
        out = ChordNet.load(path).offline(x)
        assert out["ctc_logprobs"].shape == (120, 158)
        assert out["frame_logprobs"].shape == (120, 157)
        assert np.allclose(np.exp(out["frame_logprobs"]).sum(axis=1), 1.0, atol=1e-4)
        live = LiveNet.load(work / ("plain-fp32-live.onnx" if name == "fp32"
                                    else f"{name}-live.onnx"))
        frame, bass = live.push(x)
        assert frame.shape == (120 - live.lookahead, 157) and bass.shape[1] == 13
    # int8 rounds the weights: close to torch, not equal
    worst = export.verify_offline(exported["model"], work / "int8.onnx", (50,))
    assert max(worst.values()) < 0.5


def test_chords_json_describes_the_artifacts(exported: dict[str, Any]) -> None:
    art = exported["root"] / "artifacts"
    meta = json.loads((art / "chords.json").read_text())
    assert meta == exported["record"]
    assert meta["num_classes"] == 157 and meta["blank"] == 157 and meta["bass_classes"] == 13
    assert meta["embedding_dim"] == exported["model"].cfg.embedding_dim
    assert meta["features"]["n_bins"] == feats.N_BINS
    assert meta["live"]["state_shape"] == [2, 1, exported["model"].cfg.live_hidden]
    assert meta["model_version"].endswith("-smoke")
    assert set(meta["variants"]) == set(export.VARIANTS)
    assert meta["variant"] in export.VARIANTS
    for v in meta["variants"].values():
        assert {"bytes", "xrt_one_thread", "majmin", "sevenths", "drop"} <= set(v)
    assert meta["evaluation"]["clips"] == 2 and "live" in meta["evaluation"]
    for name, f in meta["files"].items():
        assert (art / name).stat().st_size == f["bytes"] < 25 * 2**20
    # the kept graphs load through the public API with the merged metadata
    net = ChordNet.load(art / "chords.onnx")
    assert net.meta["variant"] == meta["variant"]


def test_choice_keeps_the_smallest_fast_variant_within_a_point() -> None:
    ref = {"root": 0.9, "majmin": 0.9, "sevenths": 0.8}

    def v(name: str, size: int, xrt: float, majmin: float, sevenths: float) -> export.Variant:
        out = export.Variant(name, Path(name), Path(name), bytes=size, xrt=xrt)
        out.scores = {"root": 0.9, "majmin": majmin, "sevenths": sevenths}
        return out

    fp32 = v("fp32", 100, 500, 0.9, 0.8)
    int8 = v("int8", 30, 520, 0.895, 0.795)
    conv = v("int8-conv", 29, 150, 0.9, 0.8)  # smaller but much slower
    pruned = v("pruned-int8", 30, 510, 0.88, 0.79)  # drops 2 points of majmin
    assert export.choose([fp32, int8, conv, pruned], ref).name == "int8"
    worse = v("int8", 30, 520, 0.85, 0.8)
    assert export.choose([fp32, worse], ref).name == "fp32"


def test_pruning_zeroes_weights_and_leaves_the_original(exported: dict[str, Any]) -> None:
    model = exported["model"]
    pruned = export.pruned_copy(model, 0.5)
    w = pruned.trunk.proj.weight
    assert abs(float((w == 0).float().mean()) - 0.5) < 0.01
    assert float((model.trunk.proj.weight == 0).float().mean()) < 0.01
    assert not any(n.endswith("_orig") for n, _ in pruned.named_parameters())


@pytest.mark.parametrize(("shape", "channels"), [
    ({"stacked_harmonics": (0.5, 1, 2, 3, 4, 5)}, 6),
    ({"contrast_bins": 37}, 2),
])
def test_input_channels_export_equal_to_torch(tmp_path: Path, shape: dict[str, Any],
                                              channels: int) -> None:
    model = tiny_checkpoint(tmp_path / "h.pt", live_lookahead=0, **shape)
    assert model.trunk.conv1.in_channels == channels
    loaded = export.load_checkpoint(tmp_path / "h.pt")  # the config travels with it
    assert config_dict(loaded.model.cfg) == config_dict(model.cfg)
    export.export_offline(model, tmp_path / "h.onnx")
    export.export_live(model, tmp_path / "h-live.onnx")
    worst = export.verify_offline(model, tmp_path / "h.onnx", (1, 7, 300))
    assert max(worst.values()) < export.FP32_TOLERANCE
    worst = export.verify_live(model, tmp_path / "h-live.onnx", (1, 6))
    assert max(worst.values()) < export.FP32_TOLERANCE


def test_bad_checkpoint_is_refused_with_a_message(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(np.random.default_rng(0).bytes(4000))
    assert export.main([str(bad), "--out", str(tmp_path / "out")]) == 1
    assert "export failed" in capsys.readouterr().err
    assert not (tmp_path / "out" / "chords.onnx").exists()
    assert export.main([str(tmp_path / "missing.pt"), "--out", str(tmp_path / "out")]) == 1
    assert "missing.pt" in capsys.readouterr().err


def test_each_checkpoint_gets_its_own_default_work_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two runs' best.pt used to share build/chords/export: a second export started
    # while the first ran verified torch against the first one's graph.
    monkeypatch.setattr(export, "EXPORT_ROOT", tmp_path / "export")
    a, b = tmp_path / "runA" / "best.pt", tmp_path / "runB" / "best.pt"
    for seed, ckpt in enumerate((a, b)):
        ckpt.parent.mkdir()
        tiny_checkpoint(ckpt, seed=seed)
    assert export.default_work_dir(a) == tmp_path / "export" / "runA-best"
    assert export.default_work_dir(b) == tmp_path / "export" / "runB-best"
    for ckpt, out in ((a, tmp_path / "outA"), (b, tmp_path / "outB")):
        assert export.main([str(ckpt), "--out", str(out), "--no-eval"]) == 0
    graphs = {run: sorted(p.name for p in (tmp_path / "export" / run).glob("*.onnx"))
              for run in ("runA-best", "runB-best")}
    assert graphs["runA-best"] and graphs["runA-best"] == graphs["runB-best"]
    # each folder holds its own checkpoint's graph, not the other's
    fa = (tmp_path / "export" / "runA-best" / "plain-fp32.onnx").read_bytes()
    fb = (tmp_path / "export" / "runB-best" / "plain-fp32.onnx").read_bytes()
    assert fa != fb


def test_an_ensemble_exports_as_one_graph_with_the_first_members_live_branch(
        tmp_path: Path) -> None:
    from models.chords.model import ChordEnsemble

    first = tiny_checkpoint(tmp_path / "a.pt", seed=1, live_lookahead=0)
    second = tiny_checkpoint(tmp_path / "b.pt", seed=2)
    record = export.export_all(tmp_path / "a.pt", tmp_path / "artifacts", tmp_path / "work",
                               None, None, log=lambda _msg: None,
                               members=[tmp_path / "b.pt"])
    assert record["model_version"].startswith("chords-crnn2-")
    assert len(record["training"]["ensemble"]) == 2
    both = ChordEnsemble([first, second]).eval()
    worst = export.verify_offline(both, tmp_path / "work" / "plain-fp32.onnx", (3, 200))
    assert max(worst.values()) < export.FP32_TOLERANCE
    # the frame posteriors are the members' mean probability
    x = torch.rand(1, 30, feats.N_BINS) * 3
    with torch.no_grad():
        mixed = (first(x)[1].exp() + second(x)[1].exp()) / 2
        torch.testing.assert_close(both(x)[1], mixed.log(), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(both(x)[3], first(x)[3])
    # the live graph is the first member's causal branch: no look-ahead to wait for
    live = LiveNet.load(tmp_path / "artifacts" / "chords_live.onnx")
    assert live.lookahead == 0 and record["live"]["lookahead"] == 0
    frame, _ = live.push(np.ones((5, feats.N_BINS), np.float32))
    assert frame.shape == (5, 157)
