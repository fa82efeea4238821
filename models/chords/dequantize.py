"""A torch checkpoint rebuilt from the exported ONNX graphs (fp32 or dynamic int8).

    python -m models.chords.dequantize [--artifacts models/chords/artifacts] \
        --stats-from build/chords/train --out build/chords-shipped/best.pt

The shipped artifact is what every user runs, and the checkpoint it came from stays on
the machine that trained it. A fine-tune of the shipped model anywhere else (a new
data source, a new augmentation) starts from these weights: ``train.py --init OUT``.
Int8 weights come back as their dequantized values, so the rebuilt model computes what
the int8 graph computes up to the run-time rounding of activations.

The export folds the trunks' batch norm into their convolution. Eval mode needs no
statistics to undo that, but a fine-tune runs batch norm in training mode, on batch
statistics: so the norm is rebuilt around the mean and variance of the folded
convolution's output over ``--stats-from`` clips, which makes training mode start out
computing (nearly) what eval mode does. Prints a JSON summary as its last line (the
largest frame-probability difference to the ONNX graph and the frame argmax
agreement, on the statistics clips); exit 1 with a message on a graph it cannot read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.chords import features as feats
from models.chords.session import ARTIFACTS, LIVE_FILE, OFFLINE_FILE, ChordNet, ModelFileError

# torch's LSTM gates (input, forget, cell, output) from ONNX's (input, output, forget, cell)
TORCH_GATES_FROM_ONNX = (0, 2, 3, 1)
QUANTIZED = "_quantized"
STATS_CLIPS = 40


class DequantizeError(RuntimeError):
    """A graph this module cannot turn back into the model's weights."""


def _initializers(graph: Any) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    return {i.name: numpy_helper.to_array(i) for i in graph.initializer}


def _weight(inits: dict[str, np.ndarray], name: str, channel_axis: int) -> np.ndarray:
    """A float initializer, or a dynamic-int8 one dequantized: (q - zero) * scale, with
    scale and zero point per output channel (on ``channel_axis`` of q, whose other
    axes after the first are broadcast)."""
    if not name.endswith(QUANTIZED):
        return inits[name].astype(np.float32)
    base = name[: -len(QUANTIZED)]
    q = inits[name].astype(np.float32)
    scale = inits[base + "_scale"].astype(np.float32)
    zero = inits[base + "_zero_point"].astype(np.float32)
    shape = [1] * q.ndim
    shape[channel_axis] = q.shape[channel_axis]
    if scale.ndim == 2:  # LSTM: [directions, 4H]
        shape[0] = q.shape[0]
    return (q - zero.reshape(shape)) * scale.reshape(shape)


def _linears(graph: Any, inits: dict[str, np.ndarray], prefix: str = "") -> dict[str, Any]:
    """{module name: (weight [out, in], bias [out])} for every MatMul on an initializer,
    named by the bias that the next Add adds (``trunk.proj.bias`` -> ``trunk.proj``)."""
    consumers: dict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for x in node.input:
            consumers[x].append(node)
    out: dict[str, Any] = {}
    for node in graph.node:
        if node.op_type not in ("MatMul", "MatMulInteger") or node.input[1] not in inits:
            continue
        w = _weight(inits, node.input[1], channel_axis=1)  # [in, out]
        frontier, seen, bias = list(node.output), set(), None
        while frontier and bias is None:
            for c in consumers[frontier.pop(0)]:
                if id(c) in seen:
                    continue
                seen.add(id(c))
                named = [i for i in c.input if i in inits and i.endswith(".bias")]
                if c.op_type == "Add" and named:
                    bias = named[0]
                    break
                frontier.extend(c.output)
        if bias is None:
            raise DequantizeError(f"no bias follows the matrix {node.input[1]}")
        module = bias[: -len(".bias")].removeprefix(prefix)
        out[module] = (w.T.copy(), inits[bias].astype(np.float32))
    return out


def _lstms(graph: Any, inits: dict[str, np.ndarray]) -> list[tuple[np.ndarray, ...]]:
    """Each LSTM node in graph order as (W [dirs, 4H, in], R [dirs, 4H, H], B [dirs, 8H]),
    ONNX gate order."""
    out: list[tuple[np.ndarray, ...]] = []
    for node in graph.node:
        if node.op_type == "LSTM":
            w = _weight(inits, node.input[1], 1)
            r = _weight(inits, node.input[2], 1)
        elif node.op_type == "DynamicQuantizeLSTM":  # weights stored [dirs, in, 4H]
            w = _weight(inits, node.input[1], 2).transpose(0, 2, 1)
            r = _weight(inits, node.input[2], 2).transpose(0, 2, 1)
        else:
            continue
        out.append((w, r, inits[node.input[3]].astype(np.float32)))
    return out


def _convs(graph: Any, inits: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    if any(n.op_type == "ConvInteger" for n in graph.node):
        raise DequantizeError("an int8 convolution (the int8-conv variant) is not supported")
    return [(inits[n.input[1]], inits[n.input[2]]) for n in graph.node if n.op_type == "Conv"]


def _torch_gates(x: np.ndarray, hidden: int) -> np.ndarray:
    blocks = [x[k * hidden:(k + 1) * hidden] for k in range(4)]
    return np.concatenate([blocks[k] for k in TORCH_GATES_FROM_ONNX], 0)


def _put_lstm(state: dict[str, Any], name: str, lstm: tuple[np.ndarray, ...], layer: int,
              hidden: int) -> None:
    import torch

    w, r, b = lstm
    for d in range(w.shape[0]):
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        for key, value in (("weight_ih", w[d]), ("weight_hh", r[d]),
                           ("bias_ih", b[d, : 4 * hidden]), ("bias_hh", b[d, 4 * hidden:])):
            state[f"{name}.{key}{suffix}"] = torch.tensor(_torch_gates(value, hidden))


def _put_conv(state: dict[str, Any], trunk: str, conv: tuple[np.ndarray, np.ndarray],
              features: np.ndarray, eps: float) -> None:
    """The folded convolution, and a batch norm that adds its bias back in eval mode
    and normalizes by the statistics the data gives it (so training mode agrees)."""
    import torch
    import torch.nn.functional as F

    weight, bias = conv
    with torch.no_grad():
        u = F.conv2d(torch.tensor(features)[None, None], torch.tensor(weight),
                     stride=(1, feats.BINS_PER_SEMITONE), padding=(0, feats.BINS_PER_SEMITONE))
    mean = u.mean((0, 2, 3)).double().numpy()
    var = u.var((0, 2, 3), unbiased=False).double().numpy()
    state[f"{trunk}.conv1.weight"] = torch.tensor(weight)
    state[f"{trunk}.bn1.running_mean"] = torch.tensor(mean, dtype=torch.float32)
    state[f"{trunk}.bn1.running_var"] = torch.tensor(var, dtype=torch.float32)
    state[f"{trunk}.bn1.weight"] = torch.tensor(np.sqrt(var + eps), dtype=torch.float32)
    state[f"{trunk}.bn1.bias"] = torch.tensor(mean + bias, dtype=torch.float32)


def rebuild(offline: Path, live: Path, features: np.ndarray) -> tuple[Any, dict[str, Any]]:
    """(ChordCRNN in eval mode, the graphs' metadata) from an exported pair of graphs;
    ``features`` [T, n_bins]: representative clips for the batch-norm statistics."""
    import onnx
    import torch

    from models.chords.model import ChordCRNN, ModelConfig

    meta = ChordNet.load(offline).meta
    config = meta.get("model_config") or {}
    if "members" in config or not config:
        raise DequantizeError(f"{offline} is not a single model's graph (an ensemble, or "
                              "no model_config in its metadata)")
    known = ModelConfig.__dataclass_fields__
    kwargs: dict[str, Any] = {k: (tuple(v) if k == "stacked_harmonics" else v)
                              for k, v in config.items() if k in known}
    cfg = ModelConfig(**kwargs)
    if cfg.stacked_harmonics or cfg.contrast_bins:
        raise DequantizeError("models with extra input channels are not supported")
    model = ChordCRNN(cfg)
    state = dict(model.state_dict())
    off_graph, live_graph = onnx.load(str(offline)).graph, onnx.load(str(live)).graph
    off_inits, live_inits = _initializers(off_graph), _initializers(live_graph)

    # the offline graph leaves out the live bass head (only the live graph outputs it)
    linears = {**_linears(live_graph, live_inits, "model."), **_linears(off_graph, off_inits)}
    for name in ("trunk.proj", "ctc_head", "frame_head", "bass_head", "live_frame_head",
                 "live_bass_head") + (("live_trunk.proj",) if model.live_trunk else ()):
        if linears.get(name) is None:
            raise DequantizeError(f"{offline}: no weights for {name}")
        w, b = linears[name]
        if tuple(w.shape) != tuple(state[f"{name}.weight"].shape):
            raise DequantizeError(f"{name}: weight {w.shape} where the config makes "
                                  f"{tuple(state[f'{name}.weight'].shape)}")
        state[f"{name}.weight"], state[f"{name}.bias"] = torch.tensor(w), torch.tensor(b)

    lstms = _lstms(off_graph, off_inits)
    bidi = [x for x in lstms if x[0].shape[0] == 2]
    single = [x for x in lstms if x[0].shape[0] == 1]
    if len(bidi) != cfg.layers or len(single) != 1:
        raise DequantizeError(f"{offline}: {len(bidi)} bidirectional and {len(single)} "
                              f"causal LSTMs, where the config makes {cfg.layers} and 1")
    for layer, x in enumerate(bidi):  # graph order is layer order
        _put_lstm(state, "rnn", x, layer, cfg.hidden)
    _put_lstm(state, "live_rnn", single[0], 0, cfg.live_hidden)

    convs = _convs(off_graph, off_inits)
    eps = model.trunk.bn1.eps
    if model.live_trunk is None:
        if len(convs) != 1:
            raise DequantizeError(f"{offline}: {len(convs)} convolutions, expected 1")
        _put_conv(state, "trunk", convs[0], features, eps)
    else:
        if len(convs) != 2:
            raise DequantizeError(f"{offline}: {len(convs)} convolutions, expected 2")
        # the live graph holds only the live trunk's: the other one is the offline trunk's
        live_conv = _convs(live_graph, live_inits)[0][0]
        k = int(np.argmin([np.abs(c[0] - live_conv).max() for c in convs]))
        _put_conv(state, "live_trunk", convs[k], features, eps)
        _put_conv(state, "trunk", convs[1 - k], features, eps)
    model.load_state_dict(state)
    model.eval()
    return model, meta


def agreement(model: Any, offline: Path, clips: Sequence[np.ndarray]) -> dict[str, float]:
    """The rebuilt model against the ONNX graph: the largest frame-probability
    difference and the share of frames with the same argmax."""
    import torch

    net = ChordNet.load(offline)
    worst, same, frames = 0.0, 0, 0
    for x in clips:
        ref = net.offline(x)["frame_logprobs"]
        with torch.no_grad():
            got = model(torch.tensor(x[None]))[1][0].numpy()
        worst = max(worst, float(np.abs(np.exp(ref) - np.exp(got)).max()))
        same += int((ref.argmax(1) == got.argmax(1)).sum())
        frames += len(x)
    return {"max_prob_diff": round(worst, 5), "argmax_agreement": round(same / max(frames, 1), 5)}


def checkpoint(model: Any, meta: dict[str, Any], source: Path) -> dict[str, Any]:
    """train.py's checkpoint format (no optimizer: a start for ``--init``)."""
    import torch

    from models.chords.model import CHECKPOINT_FORMAT, config_dict
    from models.chords.model import meta as model_meta

    return {"format": CHECKPOINT_FORMAT, "config": config_dict(model.cfg),
            "model": model.state_dict(), "meta": model_meta(model),
            "state": {"step": 0, "elapsed_s": 0.0, "audio_s": 0.0, "best": {}, "log": []},
            "rng": None, "torch_rng": torch.get_rng_state(),
            "args": {"dequantized_from": str(source),
                     "model_version": str(meta.get("model_version"))}}


def stats_clips(set_dir: Path, count: int = STATS_CLIPS) -> list[np.ndarray]:
    """Features of ``count`` clips spread over a rendered set."""
    import soundfile as sf

    files = sorted((set_dir / "audio").glob("*.flac"))
    if not files:
        raise DequantizeError(f"{set_dir} holds no rendered clips (DATA.md)")
    pick = files[:: max(1, len(files) // count)][:count]
    out = []
    for f in pick:
        audio, sr = sf.read(f, dtype="float32", always_2d=False)
        out.append(feats.features(audio, sr))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.chords.dequantize",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", type=Path, default=ARTIFACTS,
                    help="folder with chords.onnx and chords_live.onnx")
    ap.add_argument("--stats-from", type=Path, required=True,
                    help="a rendered training set (batch-norm statistics)")
    ap.add_argument("--clips", type=int, default=STATS_CLIPS)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    offline, live = args.artifacts / OFFLINE_FILE, args.artifacts / LIVE_FILE
    try:
        clips = stats_clips(args.stats_from, args.clips)
        model, meta = rebuild(offline, live, np.concatenate(clips))
    except (DequantizeError, ModelFileError, OSError, ValueError) as e:
        print(f"dequantize: {e}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint(model, meta, offline), args.out)
    summary = {"out": str(args.out), "model_version": meta.get("model_version"),
               **agreement(model, offline, clips[:5])}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
