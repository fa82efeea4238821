"""Export the chord model to ONNX, verify it against torch, make smaller variants, and
keep the smallest and fastest one that loses under a point of accuracy.

    python -m models.chords.export CHECKPOINT --out models/chords/artifacts \
        [--valid-dir build/chords/valid] [--limit N] [--version-tag smoke]

Writes ``chords.onnx`` (offline graph), ``chords_live.onnx`` (live graph) and
``chords.json`` (metadata, every variant's size, speed and accuracy) into ``--out``;
the other variants go to ``--work`` (default ``build/chords/export/RUN-STEM``, one
folder per checkpoint, so two exports at once do not verify each other's graphs). The
exporter is
torch's TorchScript one (``dynamo=False``): it writes recurrent layers as ONNX ``GRU``
/ ``LSTM`` nodes with a dynamic time axis, where the dynamo exporter (torch 2.13)
specialised the sequence length. Prints a JSON summary as its last line; exit 1 with
a message on a bad checkpoint or a failed verification.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.checksums import sha256_file
from models.chords import features as feats
from models.chords.session import (
    LIVE_FILE,
    LIVE_INPUTS,
    LIVE_OUTPUTS,
    META_FILE,
    META_KEY,
    OFFLINE_FILE,
    OFFLINE_INPUTS,
    OFFLINE_OUTPUTS,
    ChordNet,
    LiveNet,
    ModelFileError,
)
from models.chords.vocabulary import N_INDEX, NUM_CLASSES, from_index

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VALID = ROOT / "build" / "chords" / "valid"
EXPORT_ROOT = ROOT / "build" / "chords" / "export"
OPSET = 17
BASS_CLASSES = 13
# fp32 ONNX against torch (max abs difference of log-probabilities): float reordering
# in conv and GRU kernels stays around 1e-5; more means a wrong graph.
FP32_TOLERANCE = 1e-3
VERIFY_LENGTHS = (1, 2, 3, 7, 50, 431)
# A variant is kept only if majmin and sevenths each drop less than this (WCSR points).
MAX_DROP = 0.01
PRUNE_AMOUNT = 0.4
# Frames per live call the runtime is expected to push (about 93 ms); any K >= 1 works.
LIVE_CHUNK = 4
# Variants in order of preference when size and speed tie (a pruned int8 graph is as
# big as an int8 one on disk, but compresses better).
VARIANTS = ("fp32", "int8", "int8-conv", "pruned-int8")
QUANT_OPS = {"int8": ["MatMul", "Gemm", "LSTM"], "int8-conv": ["MatMul", "Gemm", "LSTM", "Conv"],
             "pruned-int8": ["MatMul", "Gemm", "LSTM"]}


class ExportError(RuntimeError):
    """The checkpoint cannot be exported, or an exported graph disagrees with torch."""


# ------------------------------------------------------------------ the model side ---

@dataclass
class Loaded:
    """A checkpoint's model (eval mode, CPU) and what the export records about it."""

    model: Any
    config: dict[str, Any]
    info: dict[str, Any]
    smoke: bool = False


def default_work_dir(ckpt: Path) -> Path:
    """Where a checkpoint's variants go unless ``--work`` says: a folder named after its
    run folder and file (``build/chords-ftV2/best.pt`` -> ``.../chords-ftV2-best``).
    One shared folder let a second export, started while the first ran, verify torch
    against the first one's graph and fail."""
    resolved = ckpt.resolve()
    return EXPORT_ROOT / f"{resolved.parent.name}-{resolved.stem}"


def load_checkpoint(path: Path) -> Loaded:
    """The model of a ``train.py`` checkpoint; ExportError for anything else."""
    from models.chords import model as chords_model

    try:
        model, ck = chords_model.load_checkpoint(path)
    except chords_model.CheckpointError as exc:
        raise ExportError(str(exc)) from exc
    except Exception as exc:  # a checkpoint whose weights do not fit its config
        raise ExportError(f"{path}: the model does not load from its config "
                          f"({type(exc).__name__}: {str(exc)[:300]})") from exc
    raw_state, raw_args = ck.get("state"), ck.get("args")
    state: dict[str, Any] = raw_state if isinstance(raw_state, dict) else {}
    info: dict[str, Any] = {k: state[k] for k in ("step", "elapsed_s", "audio_s", "best",
                                                  "merged")
                            if k in state and _jsonable(state[k])}
    args: dict[str, Any] = raw_args if isinstance(raw_args, dict) else {}
    if _jsonable(args):
        info["args"] = args
    # train.py stores its arguments as strings ("True"/"False")
    smoke = bool(ck.get("smoke")) or str(args.get("smoke", "")).lower() in ("true", "1")
    return Loaded(model, chords_model.config_dict(model.cfg), info, smoke)


def load_ensemble(ckpt: Path, members: Sequence[Path]) -> Loaded:
    """``ckpt``'s model, or with ``members`` a ``ChordEnsemble`` of it and them (the
    first checkpoint gives the live branch, the CTC output and the embedding)."""
    from models.chords.model import ChordEnsemble

    first = load_checkpoint(ckpt)
    if not members:
        return first
    rest = [load_checkpoint(m) for m in members]
    model = ChordEnsemble([first.model, *(r.model for r in rest)]).eval()
    info = {**first.info, "ensemble": [
        {"checkpoint_sha256": sha256_file(p)[:16],
         **{k: v for k, v in r.info.items() if k in ("step", "elapsed_s", "best")}}
        for p, r in zip([ckpt, *members], [first, *rest], strict=True)]}
    return Loaded(model, first.config, info, first.smoke)


def _jsonable(x: Any) -> bool:
    try:
        json.dumps(x)
    except (TypeError, ValueError):
        return False
    return True


def offline_module(model: Any) -> Any:
    """nn.Module: features [1, T, F] -> (ctc, frame, bass log-probs, embedding)."""
    return model.eval()


def live_module(model: Any) -> Any:
    """nn.Module: (features [1, context + K + lookahead, F], state) -> (frame, bass,
    state_out), K frames out."""
    from models.chords.model import LiveGraph

    return LiveGraph(model).eval()


def live_params(model: Any) -> dict[str, Any]:
    """Context, look-ahead, nominal chunk and state shape of the live branch."""
    return {"context": model.live_context, "lookahead": model.cfg.live_lookahead,
            "chunk": LIVE_CHUNK, "state_shape": [int(d) for d in model.initial_state().shape]}


def embedding_dim(model: Any) -> int:
    return int(model.cfg.embedding_dim)


# ---------------------------------------------------------------- export & verify ---

def _export(module: Any, args: tuple[Any, ...], path: Path, inputs: Sequence[str],
            outputs: Sequence[str], dynamic: dict[str, dict[int, str]]) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), input_names=list(inputs),
                          output_names=list(outputs), dynamic_axes=dynamic,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)


def export_offline(model: Any, path: Path) -> None:
    import torch

    x = torch.zeros(1, 64, feats.N_BINS)
    t = {1: "frames"}
    _export(offline_module(model), (x,), path, OFFLINE_INPUTS, OFFLINE_OUTPUTS,
            {"features": t, "ctc_logprobs": t, "frame_logprobs": t, "bass_logprobs": t})


def export_live(model: Any, path: Path) -> None:
    import torch

    p = live_params(model)
    x = torch.zeros(1, p["context"] + p["chunk"] + p["lookahead"], feats.N_BINS)
    s = torch.zeros(*p["state_shape"])
    t_in, t_out = {1: "window"}, {1: "frames"}
    _export(live_module(model), (x, s), path, LIVE_INPUTS, LIVE_OUTPUTS,
            {"features": t_in, "frame_logprobs": t_out, "bass_logprobs": t_out})


def write_metadata(path: Path, meta: dict[str, Any]) -> None:
    """Store ``meta`` as JSON in the ONNX file's metadata_props (replacing an older one)."""
    import onnx

    m = onnx.load(str(path))
    keep = [p for p in m.metadata_props if p.key != META_KEY]
    del m.metadata_props[:]
    m.metadata_props.extend(keep)
    m.metadata_props.add(key=META_KEY, value=json.dumps(meta, sort_keys=True))
    m.producer_name = "strumspace models.chords.export"
    onnx.save(m, str(path))


def _ort(path: Path, threads: int = 1) -> Any:
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=o, providers=["CPUExecutionProvider"])


def verify_offline(model: Any, path: Path, lengths: Sequence[int] = VERIFY_LENGTHS,
                   seed: int = 0) -> dict[str, float]:
    """Max abs difference per output between torch and ONNX over random clips of the
    given lengths (features drawn like real ones: non-negative, sparse-ish)."""
    import torch

    sess = _ort(path)
    rng = np.random.default_rng(seed)
    worst = dict.fromkeys(OFFLINE_OUTPUTS, 0.0)
    mod = offline_module(model)
    for t in lengths:
        x = _random_features(rng, t)
        with torch.no_grad():
            ref = [r.numpy() for r in mod(torch.from_numpy(x[None]))]
        got = sess.run(list(OFFLINE_OUTPUTS), {"features": x[None]})
        for name, a, b in zip(OFFLINE_OUTPUTS, ref, got, strict=True):
            if a.shape != b.shape:
                raise ExportError(f"{path.name}: {name} has shape {b.shape}, torch {a.shape} "
                                  f"(T={t})")
            worst[name] = max(worst[name], float(np.abs(a - b).max()) if a.size else 0.0)
    return worst


def verify_live(model: Any, path: Path, lengths: Sequence[int] = VERIFY_LENGTHS,
                seed: int = 1) -> dict[str, float]:
    """As ``verify_offline`` for the live graph: windows of context + K + lookahead
    frames with a random state."""
    import torch

    p = live_params(model)
    sess = _ort(path)
    rng = np.random.default_rng(seed)
    worst = dict.fromkeys(LIVE_OUTPUTS, 0.0)
    mod = live_module(model)
    for k in lengths:
        x = _random_features(rng, p["context"] + k + p["lookahead"])
        s = (rng.standard_normal(p["state_shape"]) * 0.3).astype(np.float32)
        with torch.no_grad():
            ref = [r.numpy() for r in mod(torch.from_numpy(x[None]), torch.from_numpy(s))]
        got = sess.run(list(LIVE_OUTPUTS), {"features": x[None], "state": s})
        for name, a, b in zip(LIVE_OUTPUTS, ref, got, strict=True):
            if a.shape != b.shape:
                raise ExportError(f"{path.name}: {name} has shape {b.shape}, torch {a.shape} "
                                  f"(K={k})")
            worst[name] = max(worst[name], float(np.abs(a - b).max()) if a.size else 0.0)
    return worst


def _random_features(rng: np.random.Generator, t: int) -> np.ndarray:
    x = np.log1p(1000.0 * rng.exponential(0.002, size=(t, feats.N_BINS)))
    return x.astype(np.float32)


def _check(worst: dict[str, float], what: str, tol: float = FP32_TOLERANCE) -> None:
    bad = {k: v for k, v in worst.items() if v > tol}
    if bad:
        raise ExportError(f"{what} differs from torch beyond {tol}: {bad}")


# ----------------------------------------------------------------- variants --------

def quantize(src: Path, dst: Path, ops: Sequence[str]) -> None:
    """Dynamic int8 (weights per output channel, activations quantized at run time)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process, every call
    with tempfile.TemporaryDirectory() as tmp:
        # quantize_dynamic writes helper files beside its output; keep them out of dst's dir
        out = Path(tmp) / dst.name
        quantize_dynamic(src, out, op_types_to_quantize=list(ops), per_channel=True,
                         reduce_range=False, weight_type=QuantType.QInt8)
        shutil.copyfile(out, dst)
    logging.getLogger().setLevel(quiet)


def pruned_copy(model: Any, amount: float = PRUNE_AMOUNT) -> Any:
    """A copy with the smallest ``amount`` of each conv and linear weight set to zero
    (L1 magnitude, per layer), made permanent."""
    import torch
    from torch.nn.utils import prune

    m = copy.deepcopy(model)
    for mod in m.modules():
        if isinstance(mod, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)):
            prune.l1_unstructured(mod, "weight", amount=amount)
            prune.remove(mod, "weight")
    return m.eval()


# ---------------------------------------------------------------- evaluation -------

@dataclass
class Clip:
    id: str
    features: np.ndarray
    reference: tuple[np.ndarray, list[str]]  # intervals [n, 2], labels
    seconds: float


def load_clips(valid_dir: Path, limit: int | None) -> list[Clip]:
    """Features and reference labels of the set's clips (``limit``: that many, spread
    over the set so both clean and augmented clips are in)."""
    import soundfile as sf

    audio_dir, lab_dir = valid_dir / "audio", valid_dir / "labels"
    ids = sorted(p.stem for p in audio_dir.glob("*.flac") if (lab_dir / f"{p.stem}.lab").exists())
    if not ids:
        raise ExportError(f"no clips (audio/*.flac with labels/*.lab) under {valid_dir}")
    if limit is not None and limit < len(ids):
        ids = [ids[i * len(ids) // limit] for i in range(limit)]
    clips = []
    for cid in ids:
        try:
            audio, sr = sf.read(audio_dir / f"{cid}.flac", dtype="float32", always_2d=False)
            lines = (lab_dir / f"{cid}.lab").read_text().splitlines()
            rows = [ln.split() for ln in lines if ln.strip()]
            iv = np.array([[float(r[0]), float(r[1])] for r in rows])
            labels = [r[2] for r in rows]
            if not rows or len(audio) == 0:
                raise ValueError("no labels or no audio")
        except (OSError, RuntimeError, ValueError, IndexError) as exc:
            # one unreadable clip must not cost the export: it is left out and said so
            print(f"skipping {cid}: {exc}", file=sys.stderr)
            continue
        clips.append(Clip(cid, feats.features(audio, sr), (iv, labels), len(audio) / sr))
    if not clips:
        raise ExportError(f"no readable clip under {valid_dir}")
    return clips


def _frame_segments(frame_logprobs: np.ndarray, duration: float
                    ) -> tuple[np.ndarray, list[str]]:
    """Frame argmax, runs merged; frame i covers [i / fps, (i + 1) / fps)."""
    idx = frame_logprobs.argmax(axis=1) if len(frame_logprobs) else np.zeros(0, int)
    if len(idx) == 0:
        return np.array([[0.0, max(duration, 1e-3)]]), ["N"]
    change = np.flatnonzero(np.diff(idx)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(idx)]])
    iv = np.stack([starts / feats.FPS, ends / feats.FPS], axis=1)
    iv[-1, 1] = max(iv[-1, 1], duration)
    return iv, [from_index(int(idx[s])).label() for s in starts]


def score(clips: Sequence[Clip], outputs: Sequence[np.ndarray]) -> dict[str, float]:
    """WCSR over the whole set (durations pooled over clips) for root, majmin, sevenths."""
    import mir_eval

    num = dict.fromkeys(("root", "majmin", "sevenths"), 0.0)
    den = dict.fromkeys(num, 0.0)
    for clip, out in zip(clips, outputs, strict=True):
        ri, rl = clip.reference
        ei, el = _frame_segments(out, clip.seconds)
        ei, el = mir_eval.util.adjust_intervals(ei, el, ri.min(), ri.max(),
                                                mir_eval.chord.NO_CHORD, mir_eval.chord.NO_CHORD)
        iv, r, e = mir_eval.util.merge_labeled_intervals(ri, rl, ei, el)
        dur = mir_eval.util.intervals_to_durations(iv)
        for name in num:
            comp = getattr(mir_eval.chord, name)(r, e)
            ok = comp >= 0
            num[name] += float((comp[ok] * dur[ok]).sum())
            den[name] += float(dur[ok].sum())
    return {k: round(num[k] / den[k], 4) if den[k] else 0.0 for k in num}


def run_torch(model: Any, clips: Sequence[Clip]) -> tuple[list[np.ndarray], float]:
    """frame_logprobs per clip from torch (one thread) and the CPU seconds it took."""
    import torch

    mod = offline_module(model)
    out = []
    cpu = 0.0
    with torch.no_grad():
        for c in clips:
            t0 = time.process_time()
            r = mod(torch.from_numpy(c.features[None]))
            cpu += time.process_time() - t0
            out.append(r[1][0].numpy())
    return out, cpu


def run_torch_live(model: Any, clips: Sequence[Clip]) -> list[np.ndarray]:
    """The causal branch's frame log-probabilities per clip (torch, whole clip)."""
    import torch

    out = []
    with torch.no_grad():
        for c in clips:
            r = model.offline(torch.from_numpy(c.features[None]))["live_frame"]
            out.append(torch.log_softmax(r, -1)[0].numpy())
    return out


def run_live(path: Path, clips: Sequence[Clip]) -> tuple[list[np.ndarray], float]:
    """The live graph through LiveNet, each clip pushed in LIVE_CHUNK-frame chunks as
    the live recognizer would, and the CPU seconds it took."""
    net = LiveNet.load(path, threads=1)
    out = []
    cpu = 0.0
    for c in clips:
        net.reset()
        t0 = time.process_time()
        parts = [net.push(c.features[i:i + LIVE_CHUNK])[0]
                 for i in range(0, len(c.features), LIVE_CHUNK)]
        parts.append(net.flush()[0])
        cpu += time.process_time() - t0
        out.append(np.concatenate(parts))
    return out, cpu


def run_onnx(path: Path, clips: Sequence[Clip]) -> tuple[list[np.ndarray], float]:
    net = ChordNet.load(path, threads=1)
    net.offline(clips[0].features[:50])  # warm-up (allocations, kernel choice)
    out = []
    cpu = 0.0
    for c in clips:
        t0 = time.process_time()
        r = net.offline(c.features)
        cpu += time.process_time() - t0
        out.append(r["frame_logprobs"])
    return out, cpu


# ------------------------------------------------------------------- driver --------

@dataclass
class Variant:
    name: str
    offline: Path
    live: Path
    bytes: int = 0
    live_bytes: int = 0
    gzip_bytes: int = 0
    xrt: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)
    max_abs_vs_torch: float = 0.0

    def record(self, ref: dict[str, float]) -> dict[str, Any]:
        return {"bytes": self.bytes, "live_bytes": self.live_bytes,
                "gzip_bytes": self.gzip_bytes, "xrt_one_thread": round(self.xrt, 1),
                **self.scores,
                "drop": {k: round(ref[k] - self.scores[k], 4) for k in ("majmin", "sevenths")},
                "max_abs_logprob_diff_vs_torch": round(self.max_abs_vs_torch, 5)}


def _gzip_size(path: Path) -> int:
    import gzip

    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def choose(variants: Sequence[Variant], ref: dict[str, float]) -> Variant:
    """Among variants whose majmin and sevenths each drop under MAX_DROP: those within
    5 % of the smallest size, then within 10 % of the fastest of those, then the most
    accurate. fp32 is always admissible as a last resort."""
    ok = [v for v in variants
          if all(ref[k] - v.scores[k] < MAX_DROP for k in ("majmin", "sevenths"))]
    if not ok:
        return next(v for v in variants if v.name == "fp32")
    small = min(v.bytes for v in ok)
    ok = [v for v in ok if v.bytes <= small * 1.05]
    fast = max(v.xrt for v in ok)
    ok = [v for v in ok if v.xrt >= fast * 0.9]
    return max(ok, key=lambda v: (v.scores["majmin"] + v.scores["sevenths"],
                                  -VARIANTS.index(v.name)))


def model_version(ckpt: Path, loaded: Loaded, tag: str | None,
                  members: Sequence[Path] = ()) -> str:
    day = dt.datetime.fromtimestamp(max(p.stat().st_mtime for p in (ckpt, *members)),
                                    dt.UTC).strftime("%Y%m%d")
    import hashlib

    # one id for the set of checkpoints, in order
    digest = sha256_file(ckpt) if not members else hashlib.sha256(
        "".join(sha256_file(p) for p in (ckpt, *members)).encode()).hexdigest()
    parts = ["chords-crnn" if not members else f"chords-crnn{1 + len(members)}", day,
             digest[:8]]
    if tag or loaded.smoke:
        parts.append(tag or "smoke")
    return "-".join(parts)


def base_meta(loaded: Loaded, version: str) -> dict[str, Any]:
    import onnxruntime
    import torch

    m = loaded.model
    live = live_params(m)
    return {
        "model_version": version,
        "features": {"sample_rate": feats.SAMPLE_RATE, "hop": feats.HOP, "fps": feats.FPS,
                     "n_bins": feats.N_BINS, "bins_per_semitone": feats.BINS_PER_SEMITONE,
                     "lowest_midi": feats.LOWEST_MIDI, "highest_midi": feats.HIGHEST_MIDI,
                     "latency_s": feats.LATENCY_S},
        "num_classes": NUM_CLASSES, "no_chord": N_INDEX, "blank": NUM_CLASSES,
        "ctc_classes": NUM_CLASSES + 1, "bass_classes": BASS_CLASSES,
        "embedding_dim": embedding_dim(m),
        "live": {**live, "lookahead_s": round(live["lookahead"] / feats.FPS, 4),
                 # audio a frame's label waits for: the feature window's right half
                 # plus the model's look-ahead frames (compute time not included)
                 "algorithmic_latency_s": round(feats.LATENCY_S + live["lookahead"] * feats.HOP
                                                / feats.SAMPLE_RATE, 4)},
        "model_config": loaded.config,
        "training": loaded.info,
        "exporter": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                     "opset": OPSET, "method": "torch.onnx.export(dynamo=False)"},
    }


def export_all(ckpt: Path, out: Path, work: Path, valid_dir: Path | None, limit: int | None,
               tag: str | None = None, log: Callable[[str], None] = print,
               members: Sequence[Path] = ()) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    loaded = load_ensemble(ckpt, members)
    version = model_version(ckpt, loaded, tag, members)
    meta = base_meta(loaded, version)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)

    models = {"plain": loaded.model, "pruned": pruned_copy(loaded.model)}
    fp32: dict[str, tuple[Path, Path]] = {}
    tolerance: dict[str, Any] = {}
    for key, m in models.items():
        off, live = work / f"{key}-fp32.onnx", work / f"{key}-fp32-live.onnx"
        t0 = time.time()
        export_offline(m, off)
        export_live(m, live)
        w_off, w_live = verify_offline(m, off), verify_live(m, live)
        _check(w_off, f"{key} offline graph")
        _check(w_live, f"{key} live graph")
        tolerance[key] = {"offline": w_off, "live": w_live, "lengths": list(VERIFY_LENGTHS)}
        log(f"exported {key} fp32 in {time.time() - t0:.1f} s; max abs diff offline "
            f"{max(w_off.values()):.2e}, live {max(w_live.values()):.2e}")
        fp32[key] = (off, live)
        name = "fp32" if key == "plain" else "pruned-fp32"
        write_metadata(off, {**meta, "variant": name})
        write_metadata(live, {**meta, "variant": name})

    variants = [Variant("fp32", *fp32["plain"])]
    for name in ("int8", "int8-conv", "pruned-int8"):
        src_off, src_live = fp32["pruned" if name.startswith("pruned") else "plain"]
        v = Variant(name, work / f"{name}.onnx", work / f"{name}-live.onnx")
        try:
            quantize(src_off, v.offline, QUANT_OPS[name])
            quantize(src_live, v.live, QUANT_OPS[name])
            _ort(v.offline).run(None, {"features": np.zeros((1, 9, feats.N_BINS), np.float32)})
        except Exception as exc:  # a quantizer or runtime limit: the variant is left out
            log(f"variant {name} left out: {type(exc).__name__}: {str(exc)[:300]}")
            continue
        variants.append(v)
    for v in variants:
        write_metadata(v.offline, {**meta, "variant": v.name})
        write_metadata(v.live, {**meta, "variant": v.name})
        v.bytes, v.live_bytes = v.offline.stat().st_size, v.live.stat().st_size
        v.gzip_bytes = _gzip_size(v.offline)
        v.max_abs_vs_torch = max(verify_offline(
            models["pruned" if v.name.startswith("pruned") else "plain"], v.offline,
            lengths=(7, 431)).values()) if v.name != "fp32" else 0.0

    evaluation: dict[str, Any] = {"decoder": "frame argmax (frame_logprobs), runs merged"}
    ref: dict[str, float]
    if valid_dir is not None:
        t0 = time.time()
        clips = load_clips(valid_dir, limit)
        seconds = sum(c.seconds for c in clips)
        log(f"validation: {len(clips)} clips, {seconds / 60:.1f} min "
            f"(features {time.time() - t0:.1f} s)")
        outs, cpu = run_torch(loaded.model, clips)
        ref = score(clips, outs)
        evaluation.update(set=str(valid_dir), clips=len(clips), seconds=round(seconds, 1),
                          torch={**ref, "xrt_one_thread": round(seconds / max(cpu, 1e-9), 1)})
        log(f"torch: {ref} at {seconds / cpu:.0f} x real time")
        for v in variants:
            outs, cpu = run_onnx(v.offline, clips)
            v.scores, v.xrt = score(clips, outs), seconds / max(cpu, 1e-9)
            log(f"{v.name}: {v.bytes / 2**20:.2f} MiB, {v.xrt:.0f} x real time, {v.scores}")
    else:
        # No validation set: accuracy unknown; keep int8 only if its outputs stay close.
        ref = {"root": 1.0, "majmin": 1.0, "sevenths": 1.0}
        for v in variants:
            ok = v.max_abs_vs_torch < 0.5
            v.scores = {"root": 1.0, "majmin": 1.0 if ok else 0.0, "sevenths": 1.0 if ok else 0.0}
            v.xrt = _speed_only(v.offline)
        evaluation["note"] = "no validation set given: accuracy not measured"
    kept = choose(variants, ref)
    log(f"kept: {kept.name}")
    live_path, live_name = kept.live, kept.name
    if valid_dir is not None:
        live_ref = score(clips, run_torch_live(kept_model(models, kept), clips))
        outs, cpu = run_live(kept.live, clips)
        live_got = score(clips, outs)
        if any(live_ref[k] - live_got[k] >= MAX_DROP for k in ("majmin", "sevenths")):
            # the causal branch took the quantization worse: ship its fp32 graph
            live_path = fp32["pruned" if kept.name.startswith("pruned") else "plain"][1]
            live_name = "fp32"
            outs, cpu = run_live(live_path, clips)
            live_got = score(clips, outs)
        evaluation["live"] = {
            "torch": live_ref, "onnx": live_got,
            "xrt_one_thread_chunked": round(seconds / max(cpu, 1e-9), 1),
            "chunk_frames": LIVE_CHUNK, "variant": live_name}
        log(f"live ({live_name}, chunks of {LIVE_CHUNK}): {evaluation['live']}")

    shutil.copyfile(kept.offline, out / OFFLINE_FILE)
    shutil.copyfile(live_path, out / LIVE_FILE)
    record = {
        **meta,
        "variant": kept.name,
        "live_variant": live_name,
        "variants": {v.name: v.record(ref) for v in variants},
        "selection": f"majmin and sevenths drop < {MAX_DROP * 100:.0f} point against torch; "
                     "then smallest (within 5 %), fastest (within 10 %), most accurate",
        "prune_amount": PRUNE_AMOUNT,
        "tolerance": {"fp32_max_abs": FP32_TOLERANCE, "measured": tolerance},
        "evaluation": evaluation,
        "files": {name: {"bytes": (out / name).stat().st_size, "sha256": sha256_file(out / name)}
                  for name in (OFFLINE_FILE, LIVE_FILE)},
    }
    (out / META_FILE).write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    # The written artifacts must load through the public API.
    ChordNet.load(out / OFFLINE_FILE).offline(np.zeros((5, feats.N_BINS), np.float32))
    LiveNet.load(out / LIVE_FILE).push(np.zeros((5, feats.N_BINS), np.float32))
    return record


def kept_model(models: dict[str, Any], kept: Variant) -> Any:
    return models["pruned" if kept.name.startswith("pruned") else "plain"]


def _speed_only(path: Path, seconds: float = 60.0) -> float:
    rng = np.random.default_rng(0)
    x = _random_features(rng, int(seconds * feats.FPS))
    net = ChordNet.load(path)
    net.offline(x[:50])
    t0 = time.process_time()
    net.offline(x)
    return seconds / max(time.process_time() - t0, 1e-9)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.chords.export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--member", type=Path, action="append", default=[],
                    help="another checkpoint to average with the first in the offline "
                         "graph (repeatable; the first gives the live graph)")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "chords" / "artifacts")
    ap.add_argument("--work", type=Path, default=None,
                    help="where every variant is written (default "
                         "build/chords/export/RUN-STEM, one folder per checkpoint)")
    ap.add_argument("--valid-dir", type=Path, default=DEFAULT_VALID,
                    help="rendered validation set (audio/*.flac, labels/*.lab); default "
                         "build/chords/valid")
    ap.add_argument("--no-eval", action="store_true",
                    help="skip the evaluation (variants judged by their distance to fp32)")
    ap.add_argument("--limit", type=int, default=None, help="evaluate only N clips")
    ap.add_argument("--version-tag", default=None,
                    help="appended to the model version (a smoke checkpoint gets 'smoke')")
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        valid = None if args.no_eval else args.valid_dir
        if valid == DEFAULT_VALID and not valid.is_dir():
            log(f"{valid} is not rendered: no evaluation (render it with python -m "
                "models.chords.data render models/chords/manifests/valid.json --out "
                f"{valid})")
            valid = None
        work = args.work if args.work is not None else default_work_dir(args.checkpoint)
        record = export_all(args.checkpoint, args.out, work, valid, args.limit,
                            args.version_tag, log, members=args.member)
    except (ExportError, ModelFileError) as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    summary = {"model_version": record["model_version"], "variant": record["variant"],
               "files": record["files"], "variants": record["variants"],
               "torch": record["evaluation"].get("torch")}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
