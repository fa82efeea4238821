"""Latency of 8 bars of generation for the generation benchmark.

Two measurements per backend, both batch 1, prompt = the first 4 bars of a test melody:

* `generate`: the app's path, `tasks.generate(continue, bars=8, variations=1)` (key
  given, so no estimate), grammar and sampling included: what a musician waits for;
* `model`: the prompt prefilled, then one step per token of the piece's own next 8
  bars (an argmax per step stands in for sampling): the network alone, the figure
  models/generation/EXPORT.md reports.

Each is timed as wall time, the calling thread's CPU time and the whole process's CPU
time (with 2 threads ONNX Runtime's second thread works, and spins while waiting,
outside the calling thread). On a machine that other processes keep busy the wall
time mostly measures waiting; the CPU times are what a quiet core would need.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from models.generation import tokens
from models.generation.piece import Piece
from models.generation.streams import continuation_pairs
from models.generation.task_tokens import TASK_MELODY


def _clock() -> tuple[float, float, float]:
    return time.perf_counter(), time.thread_time(), time.process_time()


def _summary(runs: list[tuple[float, float, float]], new_tokens: list[int]) -> dict[str, Any]:
    wall = [r[0] for r in runs]
    return {
        "median_ms": round(statistics.median(wall), 1),
        "p90_ms": round(float(np.percentile(wall, 90)), 1),
        "median_thread_cpu_ms": round(statistics.median(r[1] for r in runs), 1),
        "median_process_cpu_ms": round(statistics.median(r[2] for r in runs), 1),
        "runs": len(runs),
        "median_new_tokens": float(statistics.median(new_tokens)) if new_tokens else None,
        "wall_ms_per_new_token": round(sum(wall) / max(1, sum(new_tokens)), 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def timed(fn: Callable[[], int], repeats: int) -> tuple[list[tuple[float, float, float]],
                                                         list[int]]:
    """Run fn `repeats` times (after one untimed warm-up); (wall, thread CPU, process
    CPU) in ms per run, and fn's return value (new tokens) per run."""
    fn()
    runs, counts = [], []
    for _ in range(repeats):
        w0, t0, p0 = _clock()
        n = fn()
        w1, t1, p1 = _clock()
        runs.append(((w1 - w0) * 1e3, (t1 - t0) * 1e3, (p1 - p0) * 1e3))
        counts.append(n)
    return runs, counts


def model_pairs(melodies: Sequence[np.ndarray], max_len: int, count: int,
                prompt_bars: int = 4, new_bars: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    """(prompt ids with the task token, next 8 bars' ids) from melody token sequences."""
    return continuation_pairs(melodies, TASK_MELODY, max_len, prompt_bars, new_bars, count)


def measure_model(backend: Any, pairs: list[tuple[np.ndarray, np.ndarray]],
                  repeats: int) -> dict[str, Any] | None:
    if not pairs:
        return None
    runs: list[tuple[float, float, float]] = []
    counts: list[int] = []
    for prompt, cont in pairs:
        def once(prompt: np.ndarray = prompt, cont: np.ndarray = cont) -> int:
            backend.start(1)
            logits = backend.prefill(prompt[None, :])
            for tok in cont:
                int(np.argmax(logits[0]))
                logits = backend.step(np.array([tok]))
            return len(cont)

        r, c = timed(once, repeats)
        runs += r
        counts += c
    out = _summary(runs, counts)
    out["median_prompt_tokens"] = float(statistics.median(len(p) for p, _ in pairs))
    return out


def measure_generate(backend: Any, prompts: list[Piece], repeats: int,
                     bars: int = 8) -> dict[str, Any] | None:
    from models.generation.tasks import GenerationRequest, generate, key_name

    if not prompts:
        return None
    runs: list[tuple[float, float, float]] = []
    counts: list[int] = []
    for i, prompt in enumerate(prompts):
        key = key_name(int(prompt.keys[0, 1]), int(prompt.keys[0, 2]))

        def once(prompt: Piece = prompt, key: str = key, seed: int = i) -> int:
            piece = generate(GenerationRequest(task="continue", prompt=prompt, key=key,
                                               bars=bars, seed=seed), backend)[0]
            return len(tokens.encode(piece, notes=True, chords=False)) - 4  # header, EOS

        r, c = timed(once, repeats)
        runs += r
        counts += c
    return _summary(runs, counts)


def gpu_per_token(config_name: str = "gpu", prompt: int = 70, steps: int = 150,
                  cpu_threads: int = 1, repeats: int = 3) -> dict[str, Any] | None:
    """Per-token step time of the larger configuration on CUDA (fp16) and on the CPU
    (fp32 torch, `cpu_threads`), random weights (speed does not depend on them), batch
    1: prefill `prompt` tokens, then `steps` single steps. None without CUDA."""
    import torch

    if not torch.cuda.is_available():
        return None
    from models.generation.backends import TorchBackend
    from models.generation.model import CONFIGS, GPT

    torch.manual_seed(0)
    model = GPT(CONFIGS[config_name]).eval()
    ids = np.random.default_rng(0).integers(4, 700, prompt + steps)
    out: dict[str, Any] = {"config": config_name, "parameters": model.num_parameters(),
                           "prompt_tokens": prompt, "steps": steps,
                           "device_name": torch.cuda.get_device_name(0)}
    for name, backend in (("cuda_fp16", TorchBackend("cuda", model=model)),
                          ("cpu_fp32", TorchBackend("cpu", model=GPT(CONFIGS[config_name])
                                                    .eval(), threads=cpu_threads))):
        def once(backend: Any = backend, cuda: bool = name.startswith("cuda")) -> int:
            backend.start(1)
            backend.prefill(ids[None, :prompt])
            for t in ids[prompt:]:
                backend.step(np.array([t]))
            if cuda:
                torch.cuda.synchronize()
            return steps

        runs, _ = timed(once, repeats)
        out[name] = {"ms_per_token": round(min(r[0] for r in runs) / steps, 3),
                     "median_ms": round(statistics.median(r[0] for r in runs), 1)}
    out["cpu_over_gpu_per_token"] = round(out["cpu_fp32"]["ms_per_token"]
                                          / out["cuda_fp16"]["ms_per_token"], 2)
    out["cpu_threads"] = cpu_threads
    return out
