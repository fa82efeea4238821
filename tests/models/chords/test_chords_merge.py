"""Two branches trained apart, merged into one model (merge.py), and the training
modes that make them (train.py --offline-only / --live-only from scratch)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models.chords.export import load_checkpoint as export_load_checkpoint
from models.chords.merge import MergeError, main, merge
from models.chords.model import (
    CHECKPOINT_FORMAT,
    ChordCRNN,
    ModelConfig,
    config_dict,
    load_checkpoint,
    meta,
)
from models.chords.recipe import BF16_CHAINS, CHAINS, stage_args
from models.chords.recipe import main as recipe_main
from models.chords.train import main as train_main

REPO = Path(__file__).resolve().parents[3]
SPLIT = dataclasses.replace(ModelConfig.tiny(), live_lookahead=0)


def _save(model: ChordCRNN, path: Path, step: int = 5) -> Path:
    torch.save({"format": CHECKPOINT_FORMAT, "config": config_dict(model.cfg),
                "model": model.state_dict(), "meta": meta(model),
                "state": {"step": step, "elapsed_s": 1.0, "audio_s": 2.0,
                          "best": {"score": step / 10}},
                "args": {"steps": str(step * 100), "bf16": "True"}}, path)
    return path


def _model(seed: int, cfg: ModelConfig = SPLIT) -> ChordCRNN:
    torch.manual_seed(seed)
    return ChordCRNN(cfg)


def test_merge_takes_the_live_branch_from_one_and_the_rest_from_the_other(
        tmp_path: Path) -> None:
    off, live = _model(1), _model(2)
    out = tmp_path / "merged" / "best.pt"
    res = merge(_save(off, tmp_path / "off.pt", 7), _save(live, tmp_path / "live.pt", 9),
                out)
    merged, ck = load_checkpoint(out)
    assert res["offline"]["step"] == 7 and res["live"]["step"] == 9
    assert ck["state"]["merged"]["live"]["checkpoint"] == str(tmp_path / "live.pt")
    # Each branch's recipe reaches the exported model card (chords.json "training").
    info = export_load_checkpoint(out).info["merged"]
    assert info["offline"]["args"]["steps"] == "700" and info["live"]["best"]["score"] == 0.9
    assert json.loads(json.dumps(info)) == info
    got = merged.state_dict()
    names = {n for n in got if n.startswith("live_")}
    assert res["live_tensors"] == len(names) > 0
    for name, value in got.items():
        src = live if name in names else off
        assert torch.equal(value, src.state_dict()[name]), name
    # The merged model computes each branch as its source does.
    x = torch.randn(1, 40, SPLIT.n_bins)
    with torch.no_grad():
        a, b, c = merged.offline(x), off.eval().offline(x), live.eval().offline(x)
    assert torch.equal(a["frame"], b["frame"]) and torch.equal(a["live_frame"],
                                                               c["live_frame"])


def test_merge_refuses_other_shapes_a_shared_trunk_and_unreadable_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    off = _save(_model(1), tmp_path / "off.pt")
    wide = _save(_model(2, dataclasses.replace(SPLIT, hidden=SPLIT.hidden * 2)),
                 tmp_path / "wide.pt")
    with pytest.raises(MergeError, match="other shapes \\(hidden\\)"):
        merge(off, wide, tmp_path / "x.pt")
    shared = _save(_model(3, ModelConfig.tiny()), tmp_path / "shared.pt")
    shared2 = _save(_model(4, ModelConfig.tiny()), tmp_path / "shared2.pt")
    with pytest.raises(MergeError, match="shares the offline trunk"):
        merge(shared, shared2, tmp_path / "x.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert main(["--offline", str(off), "--live", str(tmp_path / "junk.pt"),
                 "--out", str(tmp_path / "x.pt")]) == 1
    assert "not a readable checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_one_branch_alone_needs_its_own_trunk_and_not_both_flags(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        train_main(["--out", str(tmp_path), "--live-only", "--offline-only"])
    assert stop.value.code == 2 and "one branch, or neither" in capsys.readouterr().err
    assert train_main(["--smoke", "--out", str(tmp_path / "r"), "--offline-only",
                       "--steps", "2"]) == 2
    assert "--live-lookahead 0" in capsys.readouterr().err


def test_recipe_stages_name_their_data_and_resume(tmp_path: Path) -> None:
    data = tmp_path / "data"
    off_b = CHAINS["offline"][1]
    args = stage_args(off_b, tmp_path, data, smoke=False)
    assert args[args.index("--out") + 1] == str(tmp_path / "offlineB")
    assert "--offline-only" in args and "--resume" not in args
    assert args[args.index("--steps") + 1] == "2700" and args[args.index("--lr") + 1] == "0.0004"
    assert args[args.index("--init") + 1] == str(tmp_path / "offlineA" / "best.pt")
    trains = [args[i + 1] for i, a in enumerate(args) if a == "--train"]
    assert trains == [str(data / n) for n in ("train", "train_wide", "train_melody")]
    assert args[args.index("--share") + 1] == "train_melody=0.3"
    assert args[args.index("--live-lookahead") + 1] == "0"
    live_a = stage_args(CHAINS["live"][0], tmp_path, data, smoke=False)
    assert "--live-only" in live_a and "--init" not in live_a and "--share" not in live_a
    (tmp_path / "liveA").mkdir()
    (tmp_path / "liveA" / "last.pt").write_bytes(b"")
    smoke = stage_args(CHAINS["live"][0], tmp_path, data, smoke=True)
    assert "--smoke" in smoke and "--train" not in smoke and smoke[-1] == "--resume"
    assert "--bf16" not in smoke and "--bf16" not in args
    # --bf16: every stage in bfloat16, with the shipped model's step counts.
    bf = [stage_args(s, tmp_path, data, smoke=False, bf16=True)
          for chain in BF16_CHAINS.values() for s in chain]
    assert all("--bf16" in a for a in bf)
    assert [a[a.index("--steps") + 1] for a in bf] == ["10536", "5400", "10536", "10700"]


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_recipe_trains_the_branches_apart_and_merges_them(tmp_path: Path) -> None:
    """The recipe's smoke run: each chain's first stage moves its own branch only (both
    start from the seed's weights), the merge has the trained half of each; a second
    run resumes every stage instead of starting again."""
    out = tmp_path / "recipe"
    r = subprocess.run([sys.executable, "-m", "models.chords.recipe", "--out", str(out),
                        "--smoke"], cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(summary["stage_minutes"]) == {"offlineA", "offlineB", "liveA", "liveB"}
    torch.manual_seed(0)
    init = ChordCRNN(SPLIT).state_dict()
    off, _ = load_checkpoint(out / "offlineA" / "last.pt")
    live, _ = load_checkpoint(out / "liveA" / "last.pt")
    for name, value in init.items():
        if "num_batches_tracked" in name:
            continue
        frozen = off if name.startswith("live_") else live
        assert torch.equal(frozen.state_dict()[name], value), name
    assert not torch.equal(off.state_dict()["rnn.weight_hh_l0"], init["rnn.weight_hh_l0"])
    assert not torch.equal(live.state_dict()["live_rnn.weight_hh_l0"],
                           init["live_rnn.weight_hh_l0"])
    merged, ck = load_checkpoint(out / "merged" / "best.pt")
    assert ck["smoke"]
    off_b, _ = load_checkpoint(out / "offlineB" / "best.pt")
    live_b, _ = load_checkpoint(out / "liveB" / "best.pt")
    for name, value in merged.state_dict().items():
        src = live_b if name.startswith("live_") else off_b
        assert torch.equal(value, src.state_dict()[name]), name
    again = subprocess.run([sys.executable, "-m", "models.chords.recipe", "--out", str(out),
                            "--smoke"], cwd=REPO, capture_output=True, text=True,
                           timeout=1200)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed at step 6" in (out / "offlineA.log").read_text()


def test_a_failed_stage_is_named_with_its_log(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # No rendered data: the first stage of each chain stops with train.py's message.
    assert recipe_main(["--out", str(tmp_path / "r"), "--data", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "stage offlineA failed" in err and "stage liveA failed" in err
    assert "is missing: render it first" in (tmp_path / "r" / "liveA.log").read_text()
