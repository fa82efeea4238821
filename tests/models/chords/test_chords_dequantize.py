"""A torch checkpoint rebuilt from exported graphs: the same weights from fp32 graphs,
the dequantized ones from int8, a batch norm that trains from where eval mode is, a
checkpoint train.py can fine-tune from, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from chords_export_support import chord_clip, export_graphs, tiny_checkpoint

from models.chords import dequantize
from models.chords import features as feats
from models.chords.model import config_dict, load_checkpoint

torch.set_num_threads(1)


def _features() -> np.ndarray:
    clip = chord_clip([(0, 4, 7), (9, 0, 4), (5, 9, 0), (7, 11, 2)], 2.0)
    return feats.features(clip, 22050)


def _folded(model: torch.nn.Module, trunk: str) -> tuple[torch.Tensor, torch.Tensor]:
    t = getattr(model, trunk)
    scale = t.bn1.weight / torch.sqrt(t.bn1.running_var + t.bn1.eps)
    w = t.conv1.weight * scale[:, None, None, None]
    return w.detach(), (t.bn1.bias - t.bn1.running_mean * scale).detach()


@pytest.mark.parametrize("live_lookahead", [0, 1])
def test_fp32_graphs_give_back_the_weights(tmp_path: Path, live_lookahead: int) -> None:
    ref = tiny_checkpoint(tmp_path / "t.pt", seed=3, live_lookahead=live_lookahead)
    off, live = export_graphs(ref, tmp_path / "g", int8=False)
    x = _features()
    got, meta = dequantize.rebuild(off, live, x)
    mine, theirs = got.state_dict(), ref.state_dict()
    for k, v in theirs.items():
        if ".bn1." in k or ".conv1." in k:
            continue
        assert torch.allclose(mine[k], v, atol=1e-6), k
    for trunk in ("trunk",) + (("live_trunk",) if ref.live_trunk is not None else ()):
        w, b = _folded(ref, trunk)
        w2, b2 = _folded(got, trunk)
        assert torch.allclose(w, w2, atol=1e-5) and torch.allclose(b, b2, atol=1e-5)
    with torch.no_grad():
        a, b_ = ref(torch.tensor(x[None])), got(torch.tensor(x[None]))
    for u, v in zip(a, b_, strict=True):
        assert torch.allclose(u, v, atol=1e-4)
    assert meta["model_version"] == "chords-crnn-test-fp32"


def test_int8_graphs_give_the_dequantized_model(tmp_path: Path) -> None:
    ref = tiny_checkpoint(tmp_path / "t.pt", seed=4, live_lookahead=0)
    off, live = export_graphs(ref, tmp_path / "g", int8=True)
    x = _features()
    got, _ = dequantize.rebuild(off, live, x)
    for k, v in ref.state_dict().items():
        if k.endswith("weight") and ".bn1." not in k and ".conv1." not in k:
            err = float((got.state_dict()[k] - v).abs().max())
            # int8 per output channel: half a step of the largest weight in a row
            assert 0 < err <= float(v.abs().max()) / 127 * 0.51 + 1e-7, k
    near = dequantize.agreement(got, off, [x])
    assert near["argmax_agreement"] == 1.0
    assert near["max_prob_diff"] < 0.02


def test_training_mode_starts_where_eval_mode_is(tmp_path: Path) -> None:
    """The rebuilt norm's statistics are the data's, so a fine-tune's first batches
    (training mode, batch statistics) see the trunk the graph had."""
    ref = tiny_checkpoint(tmp_path / "t.pt", seed=5, live_lookahead=0)
    off, live = export_graphs(ref, tmp_path / "g", int8=False)
    x = _features()
    got, _ = dequantize.rebuild(off, live, x)
    xt = torch.tensor(x[None])
    with torch.no_grad():
        z_eval = got.trunk_padded(xt)
        got.train()
        got.trunk.drop.p = 0.0
        z_train = got.trunk_padded(xt)
        # a norm rebuilt without the data (unit scale, the folded bias) trains from elsewhere
        bn = got.trunk.bn1
        bn.bias.copy_(bn.bias - bn.running_mean)
        bn.weight.fill_(1.0)
        z_naive = got.trunk_padded(xt)
    top = float(z_eval.abs().max())
    # (the padding frames around the clip shift the batch statistics a little)
    assert float((z_eval - z_train).abs().max()) < 0.01 * top
    assert float((z_eval - z_naive).abs().max()) > 0.1 * top


def test_the_checkpoint_loads_for_a_fine_tune(tmp_path: Path) -> None:
    ref = tiny_checkpoint(tmp_path / "t.pt", seed=6, live_lookahead=0)
    export_graphs(ref, tmp_path / "g", int8=True)
    clips = tmp_path / "set" / "audio"
    clips.mkdir(parents=True)
    import soundfile as sf

    sf.write(clips / "00000.flac", chord_clip([(0, 4, 7), (2, 5, 9)], 4.0), 22050)
    out = tmp_path / "ck" / "best.pt"
    assert dequantize.main(["--artifacts", str(tmp_path / "g"), "--stats-from",
                            str(tmp_path / "set"), "--out", str(out)]) == 0
    model, ck = load_checkpoint(out)
    assert ck["state"]["step"] == 0 and ck["args"]["model_version"] == "chords-crnn-test-int8"
    assert config_dict(model.cfg) == config_dict(ref.cfg)


def test_unreadable_graphs_are_refused_with_a_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = tmp_path / "g"
    g.mkdir()
    (g / "chords.onnx").write_bytes(b"not a graph")
    (g / "chords_live.onnx").write_bytes(b"not a graph")
    clips = tmp_path / "set" / "audio"
    clips.mkdir(parents=True)
    import soundfile as sf

    sf.write(clips / "00000.flac", chord_clip([(0, 4, 7)], 2.0), 22050)
    rc = dequantize.main(["--artifacts", str(g), "--stats-from", str(tmp_path / "set"),
                          "--out", str(tmp_path / "o.pt")])
    assert rc == 1 and "dequantize:" in capsys.readouterr().err
    assert not (tmp_path / "o.pt").exists()
    empty = tmp_path / "empty"
    (empty / "audio").mkdir(parents=True)
    assert dequantize.main(["--artifacts", str(g), "--stats-from", str(empty),
                            "--out", str(tmp_path / "o.pt")]) == 1
