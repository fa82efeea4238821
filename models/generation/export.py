"""Export the generation transformer for the app (issue #6): ONNX with its KV cache,
int8-quantized for ONNX Runtime on the CPU, and fp16 torch weights for CUDA.

    python -m models.generation.export build/gen-cpu/best.pt --out models/generation/artifacts

One ONNX graph serves the prompt (prefill) and every single step: it takes the new
token ids and the cache of the positions before them, and returns logits for the new
positions and the cache grown by them (EXPORT.md has the I/O and the measurements).
The export is checked against torch (prefill, then 20 single steps, batch 1 and 2),
quantized (dynamic int8, MatMul weights), and each variant's validation NLL per note /
chord change is measured the way train.py defines it, on the first --eval-pieces
pieces of each stream. Writes gen.onnx (int8), gen_fp16.pt (torch weights + config)
and gen.json (version, vocabulary, task tokens, config, checks, NLL, latency).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn

from models.checksums import sha256_file
from models.generation import tokens, train
from models.generation.backends import (
    ARTIFACTS,
    FORMAT,
    META_KEY,
    META_NAME,
    ONNX_NAME,
    TORCH_NAME,
    OnnxBackend,
    TorchBackend,
)
from models.generation.model import (
    GPT,
    MODEL_VOCAB,
    NEVER_PREDICTED,
    PREFIX_LENGTH,
    TASK_CHORDS,
    TASK_LEAD,
    TASK_MELODY,
    Block,
    GPTConfig,
)
from models.generation.streams import continuation_pairs

FORMAT_VERSION = 1
OPSET = 18
STEP_CHECK_TOL = 2e-3  # fp32 ONNX vs torch, max |logit difference| after prefill + steps
STEP_CHECKS = 20
MAX_ARTIFACT_BYTES = 25 * 2**20


class ExportError(RuntimeError):
    """The export failed one of its checks (the artifacts are not written)."""


def cache_layout(config: GPTConfig) -> str:
    """"shared": ONNX Runtime's fused GroupQueryAttention on a fixed-size cache that the
    runtime binds as both input and output (written in place, nothing copied per
    step); it needs a head size that is a multiple of 16. "concat": plain ops, the
    cache grows by concatenation (any head size, e.g. the smoke model's 12)."""
    return "shared" if (config.d_model // config.n_heads) % 16 == 0 else "concat"


def input_names(n_layers: int, layout: str = "concat") -> list[str]:
    names = ["ids"] + (["past_length"] if layout == "shared" else [])
    for i in range(n_layers):
        names += [f"past_key_{i}", f"past_value_{i}"]
    return names


def output_names(n_layers: int) -> list[str]:
    names = ["logits"]
    for i in range(n_layers):
        names += [f"present_key_{i}", f"present_value_{i}"]
    return names


class _FusedAttention(torch.autograd.Function):
    """Exports as com.microsoft.GroupQueryAttention (rotary, causal attention and the
    in-place cache update in one kernel). Its torch forward only gives the outputs'
    shapes for tracing: the graph is checked against GPT.forward, not against this."""

    @staticmethod
    def forward(ctx: Any, qkv: Tensor, past_k: Tensor, past_v: Tensor, seqlens_k: Tensor,
                total: Tensor, cos: Tensor, sin: Tensor, query_lens: Tensor,
                heads: int) -> tuple[Tensor, Tensor, Tensor]:
        d = qkv.shape[-1] // 3
        return qkv[..., :d].clone(), past_k.clone(), past_v.clone()

    @staticmethod
    def symbolic(g: Any, qkv: Any, past_k: Any, past_v: Any, seqlens_k: Any, total: Any,
                 cos: Any, sin: Any, query_lens: Any, heads: int) -> Any:
        def none() -> Any:
            return g.op("prim::Constant").setType(torch._C.NoneType.get())

        # Inputs: query (packed QKV), key, value, past_key, past_value, seqlens_k,
        # total_sequence_length, cos_cache, sin_cache, position_ids, attention_bias,
        # head_sink, k_scale, v_scale, q_norm_weight, k_norm_weight, query_seqlens.
        out, key, value = g.op(
            "com.microsoft::GroupQueryAttention", qkv, none(), none(), past_k, past_v,
            seqlens_k, total, cos, sin, *(none() for _ in range(7)), query_lens,
            num_heads_i=heads, kv_num_heads_i=heads, do_rotary_i=1, rotary_interleaved_i=1,
            outputs=3)
        # Types for the exporter's shape inference (it has none for contrib ops).
        out.setType(qkv.type().with_sizes([None, None, None]))
        key.setType(past_k.type())
        value.setType(past_v.type())
        return out, key, value


class SharedCacheGPT(nn.Module):
    """The GPT for the "shared" layout: forward(ids [B, S], past_length [] int64,
    past_key_0, past_value_0, ... each [B, H, max_len, Dh]) -> (logits [B, S, V],
    present_key_0, present_value_0, ... each [B, H, max_len, Dh]). The new tokens
    sit at positions past_length .. past_length + S - 1 (rotary angles and causal
    mask) and their keys/values are written there; bound to the same buffers,
    present and past are one cache updated in place."""

    cos: Tensor
    sin: Tensor
    never_bias: Tensor

    def __init__(self, model: GPT) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("cos", model.rope_cos.clone(), persistent=False)
        self.register_buffer("sin", model.rope_sin.clone(), persistent=False)
        bias = torch.zeros(model.config.vocab_size).masked_fill(model.never, float("-inf"))
        self.register_buffer("never_bias", bias, persistent=False)

    def forward(self, ids: Tensor, past_length: Tensor, *past: Tensor) -> tuple[Tensor, ...]:
        m = self.model
        b, s = ids.shape
        start = past_length.to(torch.int32)
        total = start + s
        seqlens = (total - 1).expand(b).contiguous()
        query_lens = (total - start).expand(b).contiguous()
        x = m.embed(ids)
        presents: list[Tensor] = []
        for i, block in enumerate(cast(list[Block], list(m.blocks))):
            y, key, value = _FusedAttention.apply(
                block.attn.qkv(block.norm1(x)), past[2 * i], past[2 * i + 1], seqlens, total,
                self.cos, self.sin, query_lens, m.config.n_heads)
            presents += [key, value]
            x = x + block.attn.proj(y)
            x = x + block.mlp(block.norm2(x))
        return (m.norm(x) @ m.embed.weight.T + self.never_bias, *presents)


class CachedGPT(nn.Module):
    """The GPT with its cache as plain tensors, for export: forward(ids [B, S],
    past_key_0, past_value_0, ... each [B, H, P, Dh]) -> (logits [B, S, V],
    present_key_0, present_value_0, ... each [B, H, P + S, Dh]). The new tokens'
    positions (rotary tables, causal mask) start at P, the past's length.

    The same arithmetic as GPT.forward, written for a small graph (every node costs
    a few microseconds per step in ONNX Runtime): the rotary pairs turn by one
    constant [Dh, Dh] matrix instead of strided slices, the 1/sqrt(Dh) attention
    scale is folded into the query weights, and the causal mask is built once."""

    turn: Tensor
    cos: Tensor
    sin: Tensor

    def __init__(self, model: GPT) -> None:
        super().__init__()
        cfg = model.config
        self.model = model
        self.n_heads = cfg.n_heads
        head = cfg.d_model // cfg.n_heads
        # x @ turn maps each (even, odd) pair (x1, x2) to (-x2, x1).
        turn = torch.zeros(head, head)
        idx = torch.arange(0, head, 2)
        turn[idx + 1, idx] = -1.0
        turn[idx, idx + 1] = 1.0
        self.register_buffer("turn", turn, persistent=False)
        self.register_buffer("cos", model.rope_cos.repeat_interleave(2, dim=-1),
                             persistent=False)
        self.register_buffer("sin", model.rope_sin.repeat_interleave(2, dim=-1),
                             persistent=False)
        scale = torch.ones(3 * cfg.d_model)
        scale[:cfg.d_model] = head ** -0.5
        self.qkv_weights = nn.ParameterList(
            nn.Parameter(b.attn.qkv.weight.detach() * scale[:, None], requires_grad=False)
            for b in cast(list[Block], list(model.blocks)))

    def forward(self, ids: Tensor, *past: Tensor) -> tuple[Tensor, ...]:
        m = self.model
        s = ids.shape[1]
        p = past[0].shape[2]
        pos = torch.arange(s, device=ids.device) + p
        cos, sin = self.cos[pos], self.sin[pos]
        # Query i (absolute p + i) sees keys 0 .. p + i.
        allowed = torch.arange(p + s, device=ids.device)[None, :] <= pos[:, None]
        bias = torch.zeros(allowed.shape).masked_fill(~allowed, float("-inf"))
        x = m.embed(ids)
        presents: list[Tensor] = []
        blocks = cast(list[Block], list(m.blocks))
        for i, block in enumerate(blocks):
            h = block.norm1(x)
            b, t, c = h.shape
            qkv = (h @ self.qkv_weights[i].T).view(b, t, 3, self.n_heads, c // self.n_heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
            q = q * cos + (q @ self.turn) * sin
            k = k * cos + (k @ self.turn) * sin
            keys = torch.cat([past[2 * i], k], dim=2)
            values = torch.cat([past[2 * i + 1], v], dim=2)
            presents += [keys, values]
            att = torch.softmax(q @ keys.transpose(-1, -2) + bias, dim=-1)
            y = (att @ values).transpose(1, 2).reshape(b, t, c)
            x = x + block.attn.proj(y)
            x = x + block.mlp(block.norm2(x))
        logits = m.norm(x) @ m.embed.weight.T
        return (logits.masked_fill(m.never, float("-inf")), *presents)


def export_onnx(model: GPT, path: Path, layout: str | None = None) -> str:
    """The fp32 ONNX graph of `model` at `path` (TorchScript exporter, dynamic batch
    and new-token length; "concat" also a dynamic past length). Returns the layout."""
    model = model.float().cpu().eval()
    cfg = model.config
    layout = layout or cache_layout(cfg)
    head = cfg.d_model // cfg.n_heads
    ids = torch.randint(4, tokens.EOS + 100, (2, 3))
    axes: dict[str, dict[int, str]] = {"ids": {0: "batch", 1: "new"},
                                       "logits": {0: "batch", 1: "new"}}
    wrapper: nn.Module
    if layout == "shared":
        wrapper = SharedCacheGPT(model).eval()
        past_len = cfg.max_len
        extra: tuple[Tensor, ...] = (torch.tensor(5, dtype=torch.int64),)
    else:
        wrapper = CachedGPT(model).eval()
        past_len, extra = 5, ()
    past = tuple(torch.zeros(2, cfg.n_heads, past_len, head)
                 for _ in range(2 * cfg.n_layers))
    for i in range(cfg.n_layers):
        for kind in ("key", "value"):
            axes[f"past_{kind}_{i}"] = {0: "batch"} if layout == "shared" else {
                0: "batch", 2: "past"}
            axes[f"present_{kind}_{i}"] = {0: "batch"} if layout == "shared" else {
                0: "batch", 2: "total"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (ids, *extra, *past), str(path),
                          input_names=input_names(cfg.n_layers, layout),
                          output_names=output_names(cfg.n_layers), dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
    return layout


def stamp(path: Path, meta: dict[str, Any]) -> None:
    """Write `meta` (JSON) into the ONNX file's own metadata, so that the file alone
    says what it is and how to run it."""
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta)
    onnx.save(proto, str(path))


def graph_meta(config: GPTConfig, version: str, weights: str, layout: str
               ) -> dict[str, Any]:
    """What a runtime needs to drive the graph (embedded in the ONNX file)."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "version": version,
            "weights": weights, "config": config.to_dict(), "cache": layout,
            "inputs": input_names(config.n_layers, layout),
            "outputs": output_names(config.n_layers), **vocabulary_meta()}


def vocabulary_meta() -> dict[str, Any]:
    return {"vocab_size": MODEL_VOCAB, "data_vocab_size": len(tokens.VOCAB),
            "task_tokens": {"melody": TASK_MELODY, "chords": TASK_CHORDS,
                            "lead": TASK_LEAD},
            "special_tokens": {"pad": tokens.PAD, "bos": tokens.BOS, "eos": tokens.EOS,
                               "bar": tokens.BAR},
            "prefix_length": PREFIX_LENGTH, "never_predicted": list(NEVER_PREDICTED)}


def quantize(src: Path, dst: Path, per_channel: bool) -> None:
    """Dynamic int8 quantization of the weight matrices (MatMul with a constant
    weight; activations are quantized per call). The rotary turn matrix stays fp32:
    quantizing its input would only add error to a multiplication by +-1."""
    import onnx
    from onnx import numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    proto = onnx.load(str(src))
    turns = set()
    for init in proto.graph.initializer:
        if len(init.dims) == 2 and init.dims[0] == init.dims[1]:
            w = numpy_helper.to_array(init)
            if np.isin(w, (-1.0, 0.0, 1.0)).all() and (np.abs(w).sum(1) == 1).all():
                turns.add(init.name)
    exclude = [n.name for n in proto.graph.node
               if n.op_type == "MatMul" and any(x in turns for x in n.input)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import logging

        level = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing" noise
        try:
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8,
                             per_channel=per_channel, op_types_to_quantize=["MatMul"],
                             nodes_to_exclude=exclude,
                             extra_options={"MatMulConstBOnly": True})
        finally:
            logging.getLogger().setLevel(level)


# ---------------------------------------------------------------- checks


def check_steps(model: GPT, onnx_path: Path, rows: np.ndarray, prompt: int,
                steps: int = STEP_CHECKS) -> float:
    """Max |logit difference| between torch (model.py's KV cache) and the ONNX graph
    over a prefill of `prompt` tokens and then `steps` single steps of rows [B, T]
    (T >= prompt + steps). -inf logits must agree exactly (ExportError otherwise)."""
    tb = TorchBackend("cpu", model=model)
    ob = OnnxBackend(onnx_path)
    worst = 0.0
    for b in (tb, ob):
        b.start(rows.shape[0])
    pairs = [(tb.prefill(rows[:, :prompt]), ob.prefill(rows[:, :prompt]))]
    for j in range(prompt, prompt + steps):
        pairs.append((tb.step(rows[:, j]), ob.step(rows[:, j])))
    for ref, got in pairs:
        fin = np.isfinite(ref)
        if not np.array_equal(fin, np.isfinite(got)):
            raise ExportError("the ONNX graph's -inf / non-finite logits differ from torch's")
        worst = max(worst, float(np.abs(ref[fin] - got[fin]).max()))
    return worst


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    top = x.max(axis=-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=-1, keepdims=True))


def stream_logprobs(forward: Any, task: int, sequences: Sequence[np.ndarray],
                    max_len: int, max_tokens: int = 4096) -> list[np.ndarray]:
    """train.stream_logprobs for any forward(ids [B, T] int64) -> logits [B, T, V]
    (numpy): the same windows and convention, so train.nll_per_event applies."""
    return train.windowed_logprobs(lambda inp: log_softmax(forward(inp)), task, sequences,
                                   max_len, max_tokens)


def onnx_nll(onnx_path: Path, streams: dict[str, Any], limit: int,
             threads: int = 1) -> dict[str, float]:
    """Validation NLL per note / chord change of an ONNX graph (train.evaluate's
    definition) on the first `limit` pieces of each stream."""
    backend = OnnxBackend(onnx_path, threads=threads)
    res = {}
    for name, st in streams.items():
        task = TASK_MELODY if name.startswith("melody") else TASK_CHORDS
        lps = stream_logprobs(backend.forward, task, st.sequences[:limit], backend.max_len)
        res[name] = train.nll_per_event(lps, st.events[:limit])
    return res


def measure_latency(backend: Any, pieces: list[tuple[np.ndarray, np.ndarray]],
                    repeats: int = 3) -> dict[str, Any] | None:
    """Time to prefill each prompt and step through its continuation (an argmax per
    step stands in for sampling), batch 1: the best of `repeats` per piece, then the
    median over pieces. Wall time, and the calling thread's CPU time (what the wall
    time would be on an idle core: ONNX Runtime with one thread runs in the caller's
    thread; on this shared 2-core machine the wall time mostly measures waiting)."""
    if not pieces:
        return None
    times, cpu, counts = [], [], []
    for prompt, cont in pieces:
        best, best_cpu = float("inf"), float("inf")
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.thread_time()
            backend.start(1)
            logits = backend.prefill(prompt[None, :])
            for tok in cont:
                int(np.argmax(logits[0]))
                logits = backend.step(np.array([tok]))
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.thread_time() - c0)
        times.append(best * 1000)
        cpu.append(best_cpu * 1000)
        counts.append(len(cont))
    return {"median_ms": round(float(np.median(times)), 1),
            "p90_ms": round(float(np.percentile(times, 90)), 1),
            "median_cpu_ms": round(float(np.median(cpu)), 1),
            "ms_per_token": round(float(sum(times) / sum(counts)), 3),
            "median_new_tokens": float(np.median(counts)),
            "median_prompt_tokens": float(np.median([len(p) for p, _ in pieces])),
            "pieces": len(pieces), "load_average_1min": round(os.getloadavg()[0], 2)}


# ---------------------------------------------------------------- the whole export


def save_torch_fp16(model: GPT, path: Path, version: str) -> None:
    blob = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": version,
            "config": model.config.to_dict(),
            "state_dict": {k: v.detach().cpu().half().clone()
                           for k, v in model.state_dict().items()}}
    torch.save(blob, path)


NLL_SAME = 0.005  # nats (melody + chords): quantization variants this close are equal


def _version(ckpt: dict[str, Any], config: GPTConfig) -> str:
    from models.generation.model import CONFIGS

    name = next((k for k, c in CONFIGS.items() if c == config), "custom")
    init = (ckpt.get("log") or {}).get("init")
    if init:  # a fine-tune: the base run's step, then the fine-tune's
        return f"{name}-step{init.get('step', 0)}-ft{ckpt.get('step', 0)}"
    return f"{name}-step{ckpt.get('step', 0)}"


def check_rows(streams: dict[str, Any], batch: int, length: int) -> np.ndarray:
    """Rows [batch, length] of real token sequences (task token first) for the checks."""
    rows = []
    for seq in streams["melody"].sequences:
        if len(seq) + 1 >= length:
            rows.append(np.concatenate([[TASK_MELODY], seq])[:length])
        if len(rows) == batch:
            return np.stack(rows).astype(np.int64)
    raise ExportError(f"no {batch} validation melodies of {length} tokens for the checks")


def export(checkpoint: Path, out: Path, *, eval_pieces: int = 100, threads: int = 1,
           latency_count: int = 20, version: str | None = None,
           say: Any = print) -> dict[str, Any]:
    """Export, check and write the artifacts of a training checkpoint; returns gen.json."""
    t_start = time.monotonic()
    torch.set_num_threads(threads)
    ckpt = train.load_checkpoint(checkpoint)
    config = GPTConfig(**ckpt["config"])
    model = GPT(config)
    model.load_state_dict(ckpt["model"])
    model.eval()
    version = version or _version(ckpt, config)
    say(f"exporting {checkpoint} ({version}, {model.num_parameters():,} parameters)")
    from models.generation import dataset_cache

    streams, _ = train._streams(dataset_cache.load(), "valid")
    meta: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "version": version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "checkpoint": {"path": str(checkpoint), "step": ckpt.get("step"),
                       "sha256": sha256_file(checkpoint)},
        "parameters": model.num_parameters(), "config": config.to_dict(),
        **vocabulary_meta(), "opset": OPSET}
    with tempfile.TemporaryDirectory(prefix="gen-export-") as tmp:
        work = Path(tmp)
        fp32 = work / "gen_fp32.onnx"
        layout = export_onnx(model, fp32)
        meta["cache"] = layout
        stamp(fp32, graph_meta(config, version, "fp32", layout))
        # -- fp32 graph vs torch, prefill then single steps, batch 1 and 2
        prompt = min(40, config.max_len - STEP_CHECKS)
        checks = {}
        for batch in (1, 2):
            rows = check_rows(streams, batch, prompt + STEP_CHECKS)
            checks[f"batch{batch}"] = check_steps(model, fp32, rows, prompt)
        worst = max(checks.values())
        say(f"fp32 ONNX vs torch, prefill {prompt} + {STEP_CHECKS} steps: max |diff| "
            f"{worst:.2e}")
        if worst > STEP_CHECK_TOL:
            raise ExportError(f"the ONNX graph differs from torch by {worst:.3g} "
                              f"(tolerance {STEP_CHECK_TOL})")
        meta["checks"] = {"prefill_tokens": prompt, "steps": STEP_CHECKS,
                          "fp32_vs_torch_max_abs": {k: float(f"{v:.3g}")
                                                    for k, v in checks.items()},
                          "tolerance": STEP_CHECK_TOL}
        # -- int8 variants
        variants = {"int8_per_tensor": False, "int8_per_channel": True}
        # The fp32 graph's NLL is not measured: the step checks show it equal to
        # torch's within ~1e-5 per logit.
        paths = {"onnx_fp32": fp32}
        for name, per_channel in variants.items():
            paths[name] = work / f"{name}.onnx"
            quantize(fp32, paths[name], per_channel)
            stamp(paths[name], graph_meta(config, version, "int8", layout))
        # -- validation NLL of every variant
        t0 = time.monotonic()
        nll: dict[str, Any] = {"pieces_per_stream": eval_pieces,
                               "torch_fp32": train.evaluate(model, streams, eval_pieces)}
        for name in variants:
            nll[name] = onnx_nll(paths[name], streams, eval_pieces, threads)
        for name in variants:
            nll[name + "_minus_torch"] = {
                k: round(nll[name][k] - nll["torch_fp32"][k], 4) for k in nll["torch_fp32"]}
            nll[name] = {k: round(v, 4) for k, v in nll[name].items()}
        nll["torch_fp32"] = {k: round(v, 4) for k, v in nll["torch_fp32"].items()}
        say(f"NLL (nats per note / chord change, {eval_pieces} pieces per stream, "
            f"{time.monotonic() - t0:.0f} s): " + json.dumps(
                {k: v for k, v in nll.items() if not k.endswith("_minus_torch")}))
        drop = {name: sum(nll[name + "_minus_torch"].values()) for name in variants}
        # -- latency, batch 1, one thread
        pieces = continuation_pairs(streams["melody"].sequences, TASK_MELODY, config.max_len,
                                count=latency_count)
        lat = {name: measure_latency(OnnxBackend(paths[name], threads=1), pieces)
               for name in variants}
        # The faster variant among those within NLL_SAME of the smallest drop: a few
        # thousandths of a nat are noise, a fifth of the latency is not.
        close = [n for n in variants if drop[n] <= min(drop.values()) + NLL_SAME]
        chosen = min(close, key=lambda n: (lat[n] or {}).get("median_cpu_ms", math.inf))
        meta["nll"] = nll
        meta["quantization"] = {"method": "onnxruntime quantize_dynamic, MatMul weights "
                                "int8 (activations uint8 per call)",
                                "per_channel": variants[chosen], "chosen": chosen,
                                "rule": f"fastest within {NLL_SAME} nats of the "
                                        "smallest NLL increase"}
        lat["onnx_fp32"] = measure_latency(OnnxBackend(fp32, threads=1), pieces[:10], 2)
        lat["torch_fp32_cpu_1thread"] = measure_latency(TorchBackend("cpu", model=model),
                                                        pieces[:5], repeats=2)
        meta["latency_8bars_1thread"] = {
            "what": "prefill a 4-bar prompt (task + header + 4 bars of a validation "
                    "melody), then one step per token of its next 8 bars, batch 1",
            **lat}
        say(f"latency, 8 bars: {json.dumps(lat)}")
        # -- write: int8 graph, fp16 torch weights, gen.json
        out.mkdir(parents=True, exist_ok=True)
        staged = {ONNX_NAME: paths[chosen], TORCH_NAME: work / TORCH_NAME}
        save_torch_fp16(model, staged[TORCH_NAME], version)
        meta["files"] = {}
        for name, path in staged.items():
            size = path.stat().st_size
            if size > MAX_ARTIFACT_BYTES:
                raise ExportError(f"{name} is {size / 2**20:.1f} MiB, over the "
                                  f"{MAX_ARTIFACT_BYTES / 2**20:.0f} MiB limit")
            meta["files"][name] = {"bytes": size, "sha256": sha256_file(path)}
        for name, path in staged.items():
            tmp_dst = out / (name + ".tmp")
            shutil.copyfile(path, tmp_dst)
            os.replace(tmp_dst, out / name)
    meta["export_seconds"] = round(time.monotonic() - t_start, 1)
    tmp_meta = out / (META_NAME + ".tmp")
    tmp_meta.write_text(json.dumps(meta, indent=1) + "\n")
    os.replace(tmp_meta, out / META_NAME)
    say(f"wrote {', '.join(staged)} and {META_NAME} to {out} "
        f"({meta['export_seconds']} s)")
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", type=Path, help="a train.py checkpoint (best.pt)")
    ap.add_argument("--out", type=Path, default=ARTIFACTS)
    ap.add_argument("--eval-pieces", type=int, default=100,
                    help="validation pieces per stream for the NLL checks")
    ap.add_argument("--latency-pieces", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--version", help="model version string (default: config-step)")
    a = ap.parse_args(argv)
    try:
        export(a.checkpoint, a.out, eval_pieces=a.eval_pieces, threads=a.threads,
               latency_count=a.latency_pieces, version=a.version,
               say=lambda s: print(s, flush=True))
    except (RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
