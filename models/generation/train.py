"""Train the generation transformer on melodies and chord progressions (issue #6).

    python -m models.generation.train --config cpu --minutes 110 --out build/gen-cpu
    python -m models.generation.train --config cpu --minutes 60 --out build/gen-cpu --resume
    python -m models.generation.train --smoke --out build/gen-smoke      # CI, ~1 minute

One model, both streams: each training window starts with a task token and the
stream's header (model.PREFIX_LENGTH tokens), then a stretch of the piece. Each epoch
visits every piece once per `max_len`-sized stretch of its tokens, each time moved by
a random transposition (Piece.transposed, re-encoded). Validation NLL is in nats per
note / per chord change exactly as streams.py and ngram.nll_per_event define it, on the
same (absolute) streams the n-gram is scored on; pieces longer than the context are
scored in header-anchored sliding windows (`window_plan`).

Writes to --out: last.pt and best.pt (atomic; model, optimizer, schedule, data position
and RNG state, so --resume continues exactly), log.json and loss.png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models.generation import dataset_cache, tokens
from models.generation.model import (
    CONFIGS,
    GPT,
    PREFIX_LENGTH,
    TASK_CHORDS,
    TASK_LEAD,
    TASK_MELODY,
    GPTConfig,
)
from models.generation.piece import Piece
from models.generation.streams import Stream, chord_stream, lead_stream, melody_stream

# The n-gram yardstick (ngram_baseline.json): validation figures of the chosen
# n-grams, and the test targets.
NGRAM_VALID = {"melody": 2.6151, "chords": 3.2771}
TARGETS_TEST = {"melody": 2.402, "chords": 3.263}
IGNORE = -100
LEAD_WEIGHT = 0.4  # share of lead sheets per epoch: most time goes to the scored streams


@dataclass
class TrainOptions:
    config: str = "cpu"
    out: Path = Path("build/generation-train")
    steps: int | None = None  # total optimizer steps (the cosine's length)
    minutes: float | None = None  # wall budget of this invocation
    resume: bool = False
    init: Path | None = None  # fine-tune: start from this checkpoint's weights
    stream_weights: dict[str, float] = field(default_factory=dict)  # melody/chords/lead
    fixed_key: tuple[str, ...] = ()  # streams trained in their own keys only (no transposing)
    seed: int = 6
    batch_size: int = 16
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup: int = 200
    weight_decay: float = 0.1
    clip: float = 1.0
    evals: int = 8  # validations over the run (and one at the end)
    eval_every: int | None = None
    eval_pieces: int | None = None  # validate on the first N pieces per stream (None: all)
    threads: int = 2
    device: str = ""  # "" = cuda when available, else cpu
    log_every: int = 10
    test: bool = True  # score best.pt on the test split at the end
    stop_at: int | None = None  # stop (with a checkpoint) at this step: resume tests
    key_relative_eval: bool = False  # also score melodies moved to C
    save_every_s: float = 300.0  # also write last.pt this often between validations
    data: Path = dataset_cache.DEFAULT_PATH
    model_overrides: dict[str, Any] = field(default_factory=dict)

    def model_config(self) -> GPTConfig:
        return replace(CONFIGS[self.config], **self.model_overrides)


# ---------------------------------------------------------------- data


@dataclass
class StreamData:
    """One stream's pieces for training: how to encode them and how long they are."""

    task: int
    pieces: list[Piece]
    notes: bool
    chords: bool
    lengths: np.ndarray  # tokens per piece (transposition does not change it)
    shifts: list[list[int]]  # transpositions that keep each piece's notes in range
    weight: float = 1.0  # the share of this stream's items drawn in each epoch

    @classmethod
    def build(cls, task: int, pieces: list[Piece], stream: Stream,
              weight: float = 1.0, transpose: bool = True) -> StreamData:
        notes, chords = task in (TASK_MELODY, TASK_LEAD), task in (TASK_CHORDS, TASK_LEAD)
        lo, hi = tokens.PITCH_RANGE
        shifts = []
        for p in pieces:
            if not transpose:
                shifts.append([0])
            elif notes and len(p.notes):
                pmin, pmax = int(p.notes[:, 2].min()), int(p.notes[:, 2].max())
                shifts.append([s for s in range(-6, 6) if lo <= pmin + s and pmax + s <= hi]
                              or [0])
            else:
                shifts.append(list(range(-6, 6)))
        lengths = np.array([len(s) for s in stream.sequences])
        return cls(task, pieces, notes, chords, lengths, shifts, weight)

    def encode(self, i: int, shift: int) -> np.ndarray:
        piece = self.pieces[i].transposed(shift) if shift else self.pieces[i]
        return tokens.encode(piece, notes=self.notes, chords=self.chords)


class Batches:
    """Deterministic training batches. Each epoch shuffles every item (a piece once per
    `max_len` stretch of its tokens), sorts runs of 32 batches' worth by length so a
    batch pads little, and shuffles the batches; the order, each item's transposition
    and window all come from seeds (seed, epoch[, batch, row]), so (epoch, batch) is
    all a checkpoint needs to continue the same sequence of batches."""

    SORT_RUN = 32  # batches per length-sorted run

    def __init__(self, streams: list[StreamData], max_len: int, batch_size: int,
                 seed: int) -> None:
        self.streams, self.max_len, self.batch_size, self.seed = (
            streams, max_len, batch_size, seed)
        self.body = max_len - PREFIX_LENGTH
        items, lengths, weights = [], [], []
        for si, st in enumerate(streams):
            for pi, n in enumerate(st.lengths.tolist()):
                windows = max(1, math.ceil((n - tokens.HEADER_LENGTH) / self.body))
                items += [(si, pi)] * windows
                lengths += [min(n + 1, max_len)] * windows
                weights += [st.weight] * windows
        self.items = np.array(items, dtype=np.int64)
        self.lengths = np.array(lengths, dtype=np.int64)
        self.weights = np.array(weights, dtype=np.float64)
        self.epoch, self.pos = 0, 0
        self._plan = self._epoch_plan(0)
        self._memo: dict[tuple[int, int, int], np.ndarray] = {}

    def _epoch_plan(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.items))
        # A stream of weight w gives each item floor(w) times, plus once more with
        # probability frac(w), drawn afresh each epoch (w < 1: a random share w).
        w = self.weights[order]
        reps = np.floor(w).astype(np.int64) + (rng.random(len(order)) < w - np.floor(w))
        order = np.repeat(order, reps)
        if (w > 1).any():  # spread an item's copies over the epoch
            order = order[rng.permutation(len(order))]
        run = self.SORT_RUN * self.batch_size
        batches = []
        for r in range(0, len(order), run):
            chunk = order[r:r + run]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size]
                        for i in range(0, len(chunk), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def tokens_per_epoch(self) -> int:
        return int(sum(st.weight * int(st.lengths.sum()) for st in self.streams))

    def batches_per_epoch(self) -> int:
        return len(self._plan)

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state(self, state: dict[str, int]) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._plan = self._epoch_plan(self.epoch)

    def _window(self, item: int, j: int) -> np.ndarray:
        si, pi = (int(v) for v in self.items[item])
        rng = np.random.default_rng([self.seed, self.epoch, self.pos, j])
        st = self.streams[si]
        shift = int(rng.choice(st.shifts[pi]))
        key = (si, pi, shift)
        seq = self._memo.get(key)
        if seq is None:
            seq = self._memo[key] = st.encode(pi, shift).astype(np.int16)
        x = np.concatenate([[st.task], seq.astype(np.int64)])
        if len(x) <= self.max_len:
            return x
        start = int(rng.integers(PREFIX_LENGTH, len(x) - self.body + 1))
        return np.concatenate([x[:PREFIX_LENGTH], x[start:start + self.body]])

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, targets), each (B, T); targets IGNORE on the prefix and padding."""
        rows = [self._window(int(item), j) for j, item in enumerate(self._plan[self.pos])]
        self.pos += 1
        if self.pos == len(self._plan):
            self.epoch, self.pos = self.epoch + 1, 0
            self._plan = self._epoch_plan(self.epoch)
        t = max(len(r) for r in rows) - 1
        inp = np.full((len(rows), t), tokens.PAD, np.int64)
        tgt = np.full((len(rows), t), IGNORE, np.int64)
        for b, r in enumerate(rows):
            inp[b, :len(r) - 1] = r[:-1]
            tgt[b, :len(r) - 1] = r[1:]
            tgt[b, :PREFIX_LENGTH - 1] = IGNORE  # the header is given, never learned
        return torch.from_numpy(inp), torch.from_numpy(tgt)


# ---------------------------------------------------------------- evaluation


def window_plan(length: int, max_len: int) -> list[tuple[int, int, int]]:
    """How a sequence x of `length` tokens (task token first) is scored: windows
    (a, b, first) meaning "x[:PREFIX_LENGTH] + x[a:b] is the input (just x[:b] for the
    first window) and its targets x[first:b] are scored". Every target from x[2]
    (the Key) on is scored exactly once; after the first window each target sees at
    least half a window of the piece before it as well as the header."""
    if length <= max_len:
        return [(PREFIX_LENGTH, length, 2)]
    body = max_len - PREFIX_LENGTH
    stride = max(1, body // 2)
    plan = [(PREFIX_LENGTH, max_len, 2)]
    nxt = max_len
    while nxt < length:
        b = min(length, nxt + stride)
        plan.append((b - body, b, nxt))
        nxt = b
    return plan


def windowed_logprobs(logprobs_of: Callable[[np.ndarray], np.ndarray], task: int,
                      sequences: Sequence[np.ndarray], max_len: int,
                      max_tokens: int = 8192) -> list[np.ndarray]:
    """Per sequence, ln P of each token after its first (BOS), lp[k] scoring seq[k + 1]
    (KneserNeyLM.token_logprobs' convention), with the task token first, for any
    `logprobs_of(ids [B, T] int64) -> log-probabilities [B, T, V]` (torch here, ONNX in
    export.py). Windows (`window_plan`) are batched by length; only entries from the
    header's end on are used by `nll_per_event`, which is all the model scores fully."""
    out = [np.zeros(len(s) - 1) for s in sequences]
    jobs = []  # (input ids, seq index, first target in x, end in x)
    for si, seq in enumerate(sequences):
        x = np.concatenate([[task], np.asarray(seq, np.int64)])
        for a, b, first in window_plan(len(x), max_len):
            inp = np.concatenate([x[:PREFIX_LENGTH], x[a:b]])
            jobs.append((inp, si, first, b))
    jobs.sort(key=lambda j: len(j[0]))
    i = 0
    while i < len(jobs):
        group = [jobs[i]]
        i += 1
        while i < len(jobs) and len(jobs[i][0]) * (len(group) + 1) <= max_tokens:
            group.append(jobs[i])
            i += 1
        t = max(len(g[0]) for g in group)
        inp = np.full((len(group), t), tokens.PAD, np.int64)
        for r, g in enumerate(group):
            inp[r, :len(g[0])] = g[0]
        logp = logprobs_of(inp)
        for r, (ids, si, first, b) in enumerate(group):
            n = b - first  # targets x[first:b] sit at the input's last n positions
            pos = np.arange(len(ids) - n, len(ids))
            out[si][first - 2:b - 2] = logp[r, pos - 1, ids[pos]]  # x[k + 2] = seq[k + 1]
    return out


@torch.no_grad()
def stream_logprobs(model: GPT, task: int, sequences: Sequence[np.ndarray],
                    max_tokens: int = 8192) -> list[np.ndarray]:
    """`windowed_logprobs` of the torch model."""
    model.eval()
    dev = model.embed.weight.device

    def logprobs_of(inp: np.ndarray) -> np.ndarray:
        logits = model(torch.from_numpy(inp).to(dev)).float()
        return torch.log_softmax(logits, dim=-1).cpu().numpy()

    return windowed_logprobs(logprobs_of, task, sequences, model.config.max_len, max_tokens)


def nll_per_event(logprobs: Sequence[np.ndarray], events: Sequence[int],
                  skip: int = tokens.HEADER_LENGTH) -> float:
    """ngram.nll_per_event's accounting on precomputed per-token log-probabilities:
    -sum of lp[skip - 1:] over the pieces / their events."""
    total = 0.0
    for lp in logprobs:
        total -= float(lp[skip - 1:].sum())
    return total / max(1, sum(events))


def evaluate(model: GPT, streams: dict[str, Stream], limit: int | None = None
             ) -> dict[str, float]:
    """Validation (or test) NLL per event for each stream, nats."""
    out = {}
    for name, st in streams.items():
        seqs, ev = st.sequences[:limit], st.events[:limit]
        task = TASK_MELODY if name.startswith("melody") else TASK_CHORDS
        out[name] = nll_per_event(stream_logprobs(model, task, seqs), ev)
    return out


# ---------------------------------------------------------------- training


def lr_at(step: int, opts: TrainOptions, total: int) -> float:
    """Linear warm-up (at most a tenth of the run), then cosine from lr down to
    lr * min_lr_ratio at `total`."""
    warmup = max(1, min(opts.warmup, total // 10))
    if step < warmup:
        return opts.lr * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return opts.lr * (opts.min_lr_ratio + (1 - opts.min_lr_ratio)
                      * 0.5 * (1 + math.cos(math.pi * frac)))


def make_optimizer(model: GPT, opts: TrainOptions) -> torch.optim.AdamW:
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": opts.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=opts.lr, betas=(0.9, 0.95))


def save_atomic(obj: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint, or a clear error naming the file."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises several kinds for damaged files
        raise RuntimeError(f"checkpoint {path} cannot be read ({exc}); delete it or "
                           "start without --resume") from exc
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise RuntimeError(f"{path} is not a generation-model checkpoint")
    return ckpt


def load_model(path: Path) -> GPT:
    """The trained model of a checkpoint, in eval mode."""
    ckpt = load_checkpoint(path)
    model = GPT(GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model.eval()


def _streams(ds: dataset_cache.Dataset, split: str, key_relative: bool = False
             ) -> tuple[dict[str, Stream], dict[str, list[Piece]]]:
    """The absolute streams (what the model is compared on), plus with `key_relative`
    the melodies moved to C as well (the n-gram's chosen melody variant; one-to-one
    given the Key token, so it is also a model of the original pieces)."""
    mel, ch = ds.melodies(split), ds.chord_pieces(split)
    streams = {"melody": melody_stream(mel), "chords": chord_stream(ch)}
    if key_relative:
        streams["melody_key_relative"] = melody_stream(mel, key_relative=True)
    return streams, {"melody": mel, "chords": ch}


def write_plot(log: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    tr = log["train"]
    if tr:
        ax1.plot([r["step"] for r in tr], [r["loss"] for r in tr], lw=0.8)
    ax1.set(xlabel="step", ylabel="train loss (nats/token)", title="training")
    va = log["valid"]
    for name, color in (("melody", "C0"), ("chords", "C1")):
        if va:
            ax2.plot([r["step"] for r in va], [r[name] for r in va], "o-", color=color,
                     label=f"{name} (model)")
        ax2.axhline(NGRAM_VALID[name], color=color, ls="--", lw=0.8,
                    label=f"{name} n-gram (valid)")
    ax2.set(xlabel="step", ylabel="valid NLL (nats per note / chord change)",
            title="validation")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def write_json(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def train(opts: TrainOptions, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Train (or continue) a run; returns its log (also written to out/log.json)."""
    t_start = time.monotonic()
    torch.set_num_threads(opts.threads)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    ckpt = load_checkpoint(last) if opts.resume and last.exists() else None
    if opts.resume and ckpt is None:
        say(f"no checkpoint in {out}: starting a new run")
    ds = dataset_cache.load(opts.data)
    train_streams, train_pieces = _streams(ds, "train")
    valid_streams, _ = _streams(ds, "valid", opts.key_relative_eval)
    lead = [p for p in train_pieces["melody"] if len(p.chords)]
    weights = {"melody": 1.0, "chords": 1.0, "lead": LEAD_WEIGHT, **opts.stream_weights}
    fixed = set(opts.fixed_key)
    data = [StreamData.build(TASK_MELODY, train_pieces["melody"], train_streams["melody"],
                             weights["melody"], "melody" not in fixed),
            StreamData.build(TASK_CHORDS, train_pieces["chords"], train_streams["chords"],
                             weights["chords"], "chords" not in fixed),
            StreamData.build(TASK_LEAD, lead, lead_stream(lead), weights["lead"],
                             "lead" not in fixed)]
    init = load_checkpoint(Path(opts.init)) if opts.init and not ckpt else None
    config = (GPTConfig(**ckpt["config"]) if ckpt else GPTConfig(**init["config"]) if init
              else opts.model_config())
    torch.manual_seed(opts.seed)
    device = torch.device(opts.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = GPT(config).to(device)
    optim = make_optimizer(model, opts)
    batches = Batches(data, config.max_len, opts.batch_size, opts.seed)
    log: dict[str, Any] = {"config": config.to_dict(), "options": _jsonable(opts),
                           "parameters": model.num_parameters(),
                           "tokens_per_epoch": batches.tokens_per_epoch(),
                           "train": [], "valid": [], "runs": []}
    step, total = 0, opts.steps
    best = math.inf
    if ckpt:
        model.load_state_dict(ckpt["model"])
        optim.load_state_dict(ckpt["optimizer"])
        batches.load_state(ckpt["data"])
        torch.set_rng_state(ckpt["torch_rng"])
        step, total, best, log = ckpt["step"], ckpt["total_steps"], ckpt["best"], ckpt["log"]
        say(f"resumed at step {step} of {total}")
    elif init:
        # Fine-tuning: the weights only; a fresh optimizer, schedule and data order.
        model.load_state_dict(init["model"])
        log["init"] = {"from": str(opts.init), "step": init["step"]}
        say(f"fine-tuning from {opts.init} (step {init['step']})")
    say(f"{config} on {device}: {model.num_parameters():,} parameters, "
        f"{batches.tokens_per_epoch():,} tokens per epoch")

    def checkpoint(path: Path) -> None:
        save_atomic({"model": model.state_dict(), "optimizer": optim.state_dict(),
                     "data": batches.state(), "torch_rng": torch.get_rng_state(),
                     "step": step, "total_steps": total, "best": best,
                     "config": config.to_dict(), "log": log}, path)

    def validate() -> None:
        nonlocal best
        t0 = time.monotonic()
        res = evaluate(model, valid_streams, opts.eval_pieces)
        score = sum(res[k] / NGRAM_VALID[k] for k in NGRAM_VALID) / len(NGRAM_VALID)
        rec = {"step": step, **{k: round(v, 4) for k, v in res.items()},
               "score": round(score, 4), "seconds": round(time.monotonic() - t0, 1)}
        log["valid"].append(rec)
        say(f"valid step {step} (nats per note / chord change): "
            + ", ".join(f"{k} {v:.4f}" for k, v in res.items()) + f" ({rec['seconds']} s)")
        if score < best:
            best = score
            checkpoint(out / "best.pt")
        model.train()

    deadline = t_start + opts.minutes * 60 if opts.minutes else math.inf
    run = {"start_step": step, "threads": opts.threads, "tokens": 0, "seconds": 0.0}
    log["runs"].append(run)
    model.train()
    tokens_seen, losses = 0, []
    t_loop = last_save = time.monotonic()
    calib_at = step + 12
    stop = _StopFlag()
    try:
        while total is None or step < total:
            if total is None and step == calib_at:
                # Fit the cosine to the time budget: measured step time, minus validations
                # (forward only: measured at about a quarter of a training token each).
                per_step = (time.monotonic() - t_loop) / 12
                valid_tokens = sum(len(s) for st in valid_streams.values()
                                   for s in st.sequences[:opts.eval_pieces])
                per_token = per_step / max(1, tokens_seen / 12)
                reserve = (opts.evals + 2) * valid_tokens * per_token * 0.3 + 30
                total = max(step + 1, int((deadline - time.monotonic() - reserve) / per_step))
                say(f"{per_step:.3f} s/step: {total} steps fit in the budget")
            if (time.monotonic() > deadline or stop.raised
                    or (opts.stop_at is not None and step >= opts.stop_at)):
                if stop.raised:
                    say("interrupted: saving the checkpoint (resume with --resume)")
                break
            lr = lr_at(step, opts, total or 10**9)
            for g in optim.param_groups:
                g["lr"] = lr
            inp, tgt = batches.next()
            inp, tgt = inp.to(device), tgt.to(device)
            logits = model(inp)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1),
                                   ignore_index=IGNORE)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), opts.clip)
            optim.step()
            step += 1
            n = int((tgt != IGNORE).sum())
            tokens_seen += int((inp != tokens.PAD).sum())
            losses.append(float(loss.detach()))
            if step % opts.log_every == 0:
                rec = {"step": step, "loss": round(sum(losses) / len(losses), 4),
                       "lr": lr, "epoch": round(batches.epoch + batches.pos
                                                / batches.batches_per_epoch(), 3)}
                log["train"].append(rec)
                losses = []
                say(f"step {step}: loss {rec['loss']:.4f} lr {lr:.2e} epoch {rec['epoch']}"
                    f" ({n} targets)")
            every = opts.eval_every or max(1, (total or 10**9) // max(1, opts.evals))
            if total is not None and step % every == 0 and step < total:
                validate()
                checkpoint(last)
                last_save = time.monotonic()
            elif time.monotonic() - last_save > opts.save_every_s:
                checkpoint(last)
                last_save = time.monotonic()
    finally:
        stop.restore()
    elapsed = time.monotonic() - t_loop
    run.update(tokens=tokens_seen, seconds=round(elapsed, 1), end_step=step,
               steps_per_s=round((step - run["start_step"]) / max(elapsed, 1e-9), 3),
               tokens_per_s=round(tokens_seen / max(elapsed, 1e-9), 1))
    finished = total is not None and step >= total
    if not log["valid"] or log["valid"][-1]["step"] != step:
        validate()
    if finished and opts.test and (out / "best.pt").exists():
        test_streams, _ = _streams(ds, "test", opts.key_relative_eval)
        best_model = load_model(out / "best.pt").to(device)
        res = evaluate(best_model, test_streams, opts.eval_pieces)
        log["test"] = {"step": load_checkpoint(out / "best.pt")["step"],
                       **{k: round(v, 4) for k, v in res.items()},
                       "targets": TARGETS_TEST}
        say(f"test (best.pt): {log['test']}")
    log["finished"] = finished
    checkpoint(last)
    write_json(log, out / "log.json")
    write_plot(log, out / "loss.png")
    return log


class _StopFlag:
    """SIGINT / SIGTERM end the training loop at the next step (the run then saves
    its checkpoint) instead of killing it mid-write; the main thread only."""

    def __init__(self) -> None:
        self.raised = False
        self._old: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self.raised = True

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _jsonable(opts: TrainOptions) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}


def _weights(text: str) -> dict[str, float]:
    """"chords=3,lead=0.4" -> {"chords": 3.0, "lead": 0.4}."""
    out: dict[str, float] = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        if name not in ("melody", "chords", "lead") or not value:
            raise argparse.ArgumentTypeError(f"expected melody|chords|lead=NUMBER, got {part!r}")
        try:
            out[name] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
        if out[name] < 0:
            raise argparse.ArgumentTypeError(f"{part!r}: a weight cannot be negative")
    return out


# About a minute on this machine (CI): enough to see the loss fall and a validation.
SMOKE = {"config": "smoke", "steps": 3000, "batch_size": 8, "lr": 3e-3, "warmup": 100,
         "evals": 2, "eval_pieces": 40, "threads": 1, "log_every": 50}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", choices=sorted(CONFIGS), default="cpu")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--minutes", type=float, help="wall budget of this invocation")
    ap.add_argument("--steps", type=int, help="total steps (default: fit --minutes)")
    ap.add_argument("--resume", action="store_true", help="continue out/last.pt")
    ap.add_argument("--smoke", action="store_true", help="tiny model, ~1 minute (CI)")
    ap.add_argument("--init", type=Path,
                    help="fine-tune: start from this checkpoint's weights (new schedule)")
    ap.add_argument("--stream-weights", type=_weights, default={},
                    help="share of each stream per epoch, e.g. chords=3,lead=0.4 "
                         f"(default melody=1,chords=1,lead={LEAD_WEIGHT:g})")
    ap.add_argument("--fixed-key", default="",
                    help="streams trained in their own keys only, e.g. chords (no "
                         "transposition: the corpus's keys and modes carry information)")
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--evals", type=int)
    ap.add_argument("--eval-pieces", type=int, help="validate on N pieces per stream")
    ap.add_argument("--no-test", action="store_true", help="skip the final test scoring")
    ap.add_argument("--key-relative-eval", action="store_true",
                    help="also score the melodies moved to C (the n-gram's variant)")
    a = ap.parse_args(argv)
    kw: dict[str, Any] = dict(SMOKE) if a.smoke else {"config": a.config}
    for name in ("steps", "minutes", "batch_size", "lr", "threads", "evals", "eval_pieces",
                 "device", "warmup"):
        if getattr(a, name) is not None:
            kw[name] = getattr(a, name)
    if not a.smoke and kw.get("steps") is None and kw.get("minutes") is None:
        ap.error("give --minutes or --steps")
    fixed = tuple(x for x in a.fixed_key.split(",") if x)
    if set(fixed) - {"melody", "chords", "lead"}:
        ap.error(f"--fixed-key takes melody, chords or lead, not {a.fixed_key!r}")
    opts = TrainOptions(out=a.out, resume=a.resume, init=a.init,
                        stream_weights=a.stream_weights, fixed_key=fixed, seed=a.seed,
                        test=not a.no_test,
                        key_relative_eval=a.key_relative_eval, **kw)
    try:
        train(opts, say=lambda s: print(s, flush=True))
    except (RuntimeError, dataset_cache.DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
