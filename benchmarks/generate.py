"""Generation benchmark: python -m benchmarks.generate [--quick] [--checkpoint PATH]

Issue #6, item 8, on the held-out TEST split of models/generation/data/corpus.npz:

1. NLL in nats per note (melodies) and per chord change (chord progressions), as
   models/generation/streams.py defines it, for the shipped model (ONNX int8 on the
   CPU: the headline) and its torch fp32 weights (gen_fp16.pt, or --checkpoint), and
   for the n-gram yardstick (interpolated modified Kneser-Ney, ngram_baseline.py's
   code, fitted on the train split in this run, order 2..8 and key-relative or
   absolute chosen on validation).
2. Generated music (benchmarks/generate_metrics.py has the definitions): `melody` over
   the first 8 bars of test pieces' chords, several seeds, against the same pieces'
   human melodies: chord-tone ratio on strong beats, in-key fraction, key-estimate
   agreement, pitch-class / onset / duration histogram distances to the test melodies;
   valid_decode_frac over every output of every task (continue, melody, harmonize,
   chords, next-chord), and unconstrained sampling (no grammar) as a comparison.
3. Latency of 8 bars (benchmarks/generate_latency.py): ONNX int8 and torch on the
   CPU at 1 and 2 threads, wall and CPU time; `gpu` with CUDA (else null).

--quick: fewer pieces, seeds and runs (30 test pieces per stream for the NLL), and the
n-gram's order/variant taken from the last full run's cache
(build/gen-bench/ngram.json, else the committed ngram_baseline.json) instead of being
tuned again; its NLL is then scored on the same test subset as the model. The last
line printed is one JSON object (`seconds` wall, `cpu_seconds` of this process).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import generate_metrics as gmx
from models.generation import dataset_cache, tokens
from models.generation.piece import Piece

CACHE = Path("build/gen-bench")
NGRAM_JSON = Path(__file__).resolve().parent.parent / "models/generation/ngram_baseline.json"
BARS = 8
PROMPT_BARS = 4


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Sizes:
    nll_pieces: int | None  # per stream; None: the whole test split
    melody_pieces: int
    melody_seeds: int
    continue_prompts: int
    continue_seeds: int
    chord_prompts: int
    harmonize_pieces: int
    next_chord_prompts: int
    unconstrained_prompts: int
    latency_pieces: int
    latency_repeats: int


FULL = Sizes(None, 32, 4, 16, 2, 8, 6, 8, 16, 20, 3)
QUICK = Sizes(30, 6, 2, 4, 1, 2, 2, 2, 4, 3, 2)


# ---------------------------------------------------------------- NLL


def spread(items: list[Any], count: int | None) -> list[Any]:
    """`count` items evenly spaced over the list (the test split is ordered by source),
    or all of them."""
    if count is None or count >= len(items):
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count).round()]


def ngram_nll(ds: dataset_cache.Dataset, quick: bool, limit: int | None) -> dict[str, Any]:
    """The n-gram's test NLL per stream. Full: ngram_baseline.run (fit, tune order and
    variant on validation, score test), cached. Quick: the cached choice, one fit,
    scored on the first `limit` test pieces."""
    from models.generation import ngram_baseline
    from models.generation.ngram import KneserNeyLM, nll_per_event
    from models.generation.streams import chord_stream, melody_stream

    CACHE.mkdir(parents=True, exist_ok=True)
    cache = CACHE / "ngram.json"
    if not quick:
        t0 = time.process_time()
        res = ngram_baseline.run(ds)
        res["cpu_s"] = round(time.process_time() - t0, 1)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(res))
        os.replace(tmp, cache)
        out = {}
        for name in ("melody", "chords"):
            best = res[name]["best"]
            absolute = res[name]["variants"]["absolute"]["best"]
            out[name] = {"nll": best["test_nll_per_event"], "order": best["order"],
                         "variant": best["variant"],
                         "valid_nll": best["valid_nll_per_event"],
                         "absolute_nll": absolute["test_nll_per_event"],
                         "absolute_order": absolute["order"], "source": "fitted and tuned "
                         "in this run", "test_pieces": res[name]["variants"][
                             best["variant"]]["pieces"]["test"]}
        return out
    src = cache if cache.is_file() else NGRAM_JSON
    res = json.loads(src.read_text())
    out = {}
    for name, make, select in (("melody", melody_stream, ds.melodies),
                               ("chords", chord_stream, ds.chord_pieces)):
        best = res[name]["best"]
        rel = best["variant"] == "key_relative"
        train = make(select("train"), rel)
        test = make(spread(select("test"), limit), rel)
        lm = KneserNeyLM(best["order"], len(tokens.VOCAB)).fit(train.sequences)
        out[name] = {"nll": round(nll_per_event(lm, test.sequences, test.events,
                                                tokens.HEADER_LENGTH), 4),
                     "order": best["order"], "variant": best["variant"],
                     "source": f"order and variant from {src} (not tuned in this run)",
                     "test_pieces": len(test.sequences)}
    return out


def model_nll(ds: dataset_cache.Dataset, limit: int | None, checkpoint: Path | None,
              artifacts: Path | None, torch_too: bool) -> dict[str, Any]:
    """Test NLL of the ONNX int8 graph and (torch_too) the torch fp32 model."""
    from models.generation import export, train
    from models.generation.backends import ARTIFACTS, ONNX_NAME, load_torch_model
    from models.generation.streams import chord_stream, melody_stream

    streams = {"melody": melody_stream(spread(ds.melodies("test"), limit)),
               "chords": chord_stream(spread(ds.chord_pieces("test"), limit))}
    out: dict[str, Any] = {"test_pieces": {k: len(s.sequences) for k, s in streams.items()}}
    t0 = time.perf_counter()
    folder = artifacts or ARTIFACTS
    out["onnx_int8"] = {k: round(v, 4) for k, v in
                        export.onnx_nll(folder / ONNX_NAME, streams, limit or 10**9).items()}
    out["onnx_seconds"] = round(time.perf_counter() - t0, 1)
    if torch_too:
        import torch

        torch.set_num_threads(1)
        t0 = time.perf_counter()
        if checkpoint is not None:
            model, what = train.load_model(checkpoint), str(checkpoint)
        else:
            model, _ = load_torch_model(folder / "gen_fp16.pt")
            what = "gen_fp16.pt as fp32"
        out["torch_fp32"] = {k: round(v, 4) for k, v in train.evaluate(model, streams).items()}
        out["torch_weights"] = what
        out["torch_seconds"] = round(time.perf_counter() - t0, 1)
    return out


# ---------------------------------------------------------------- generation


def lead_pieces(ds: dataset_cache.Dataset, count: int, first: int = 0,
                bars: int = BARS, split: str = "test") -> list[Piece]:
    """`count` melodies with chords of `split` whose bars first..first+bars-1 are one meter,
    as clips of those bars (notes and chords): half with chords from the texture
    (chorales: all voices, per beat), half with weak chords (folk tunes: guessed from
    the melody itself, DATA.md), each half spread over the split (fewer texture pieces
    if there are not enough)."""
    clips: dict[str, list[Piece]] = {}
    for p in ds.melodies(split):
        if len(p.chords) and gmx.single_meter(p, first, bars):
            clip = gmx.bar_slice(p, first, bars)
            if len(clip.notes) and len(clip.chords):
                clips.setdefault(p.chord_kind, []).append(clip)
    texture = spread(clips.get("texture", []) + clips.get("human", []), count // 2)
    others = [c for kind, cs in clips.items() if kind not in ("texture", "human") for c in cs]
    return texture + spread(others, count - len(texture))


def melody_quality(ds: dataset_cache.Dataset, backend: Any, sizes: Sizes,
                   outputs: list[tuple[str, str | None]]) -> dict[str, Any]:
    """`melody` over test pieces' chords vs their human melodies."""
    from models.generation.tasks import GenerationRequest, generate, key_name

    pieces = lead_pieces(ds, sizes.melody_pieces)
    reference = gmx.Histograms.empty()
    for p in ds.melodies("test"):
        reference.add_piece(p)
    gen_h, hum_h = gmx.Histograms.empty(), gmx.Histograms.empty()
    stats: dict[str, dict[str, list[tuple[int, int]]]] = {
        who: {"ct": [], "key": [], "agree": []} for who in ("model", "human")}
    by_kind: dict[str, dict[str, list[tuple[int, int]]]] = {}
    t0 = time.perf_counter()
    for p in pieces:
        key = (int(p.keys[0, 1]), int(p.keys[0, 2]))
        meter = (int(p.bars[0, 1]), int(p.bars[0, 2]))
        req = GenerationRequest(task="melody", chords=gmx.chord_changes(p),
                                key=key_name(*key), time_signature=meter, bars=BARS,
                                seed=0, variations=sizes.melody_seeds)
        outs = generate(req, backend)
        kind = by_kind.setdefault(p.chord_kind or "none", {"model": [], "human": []})
        for who, clips in (("human", [p]), ("model", outs)):
            for c in clips:
                if who == "model":
                    melody = Piece(c.source, c.piece_id, notes=c.notes, bars=c.bars,
                                   keys=c.keys)
                    outputs.append(("melody", gmx.piece_problem(melody, "melody", BARS)))
                ct = gmx.chord_tone_counts(c.notes, p.chords, p.bars)
                stats[who]["ct"].append(ct)
                kind[who].append(ct)
                stats[who]["key"].append(gmx.in_key_counts(c.notes, key))
                stats[who]["agree"].append((int(gmx.key_agrees(c.notes, key)), 1))
                (gen_h if who == "model" else hum_h).add(c.notes, c.bars, key[0])
    out: dict[str, Any] = {
        "pieces": len(pieces), "seeds": sizes.melody_seeds,
        "chord_kinds": {k: sum(1 for p in pieces if (p.chord_kind or "none") == k)
                        for k in sorted({p.chord_kind or "none" for p in pieces})},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    for who in ("model", "human"):
        s = stats[who]
        out[who] = {"chord_tone_ratio": gmx.ratio(s["ct"]),
                    "strong_beat_notes": sum(t for _, t in s["ct"]),
                    "in_key_frac": gmx.ratio(s["key"]),
                    "key_estimate_agreement": gmx.ratio(s["agree"]),
                    "notes": sum(t for _, t in s["key"])}
    out["chord_tone_ratio_by_chord_kind"] = {
        k: {w: gmx.ratio(v[w]) for w in ("model", "human")} for k, v in by_kind.items()}
    out["histogram_distance_to_test_melodies"] = {
        "model": gmx.distances(gen_h, reference),
        "human_same_pieces": gmx.distances(hum_h, reference),
        "reference_notes": reference.notes,
    }
    out["histogram_distance_model_vs_human_same_pieces"] = gmx.distances(gen_h, hum_h)
    return out


def other_tasks(ds: dataset_cache.Dataset, backend: Any, sizes: Sizes,
                outputs: list[tuple[str, str | None]]) -> dict[str, Any]:
    """continue, chords, harmonize, next-chord on test material; validity of each output."""
    from models.generation.tasks import GenerationRequest, generate, key_name

    seconds: dict[str, float] = {}

    def run(task: str, req: GenerationRequest, stream: str, bars: int | None) -> None:
        t0 = time.perf_counter()
        for piece in generate(req, backend):
            outputs.append((task, gmx.piece_problem(piece, stream, bars)))
        seconds[task] = round(seconds.get(task, 0.0) + time.perf_counter() - t0, 1)

    prompts = [Piece(p.source, p.piece_id, notes=p.notes, bars=p.bars[:PROMPT_BARS],
                     keys=p.keys) for p in lead_pieces(ds, sizes.continue_prompts, 0,
                                                      PROMPT_BARS)]
    for i, p in enumerate(prompts):
        key = key_name(int(p.keys[0, 1]), int(p.keys[0, 2]))
        run("continue", GenerationRequest(task="continue", prompt=p, key=key, bars=BARS,
                                          seed=i, variations=sizes.continue_seeds),
            "melody", BARS)
    chord_pieces = [c for c in (gmx.bar_slice(p, 0, PROMPT_BARS) for p in ds.chord_pieces("test")
                                if gmx.single_meter(p, 0, PROMPT_BARS))
                    if gmx.chords_cover(c)]
    chord_pieces = spread(chord_pieces, max(sizes.chord_prompts, sizes.next_chord_prompts))
    for i, p in enumerate(chord_pieces):
        key = key_name(int(p.keys[0, 1]), int(p.keys[0, 2]))
        meter = (int(p.bars[0, 1]), int(p.bars[0, 2]))
        if i < sizes.chord_prompts:
            # Half from scratch (key and meter only), half continuing 4 bars of the piece.
            given = gmx.chord_changes(p) if i % 2 else None
            run("chords", GenerationRequest(task="chords", chords=given, key=key,
                                            time_signature=meter, bars=BARS, seed=i),
                "chords", BARS)
        if i < sizes.next_chord_prompts:
            run("next-chord", GenerationRequest(task="next-chord", chords=gmx.chord_changes(p),
                                                key=key, time_signature=meter, variations=5),
                "chords", None)
    for i, p in enumerate(lead_pieces(ds, sizes.harmonize_pieces, 0, PROMPT_BARS)):
        melody = Piece(p.source, p.piece_id, notes=p.notes, bars=p.bars, keys=p.keys)
        key = key_name(int(p.keys[0, 1]), int(p.keys[0, 2]))
        run("harmonize", GenerationRequest(task="harmonize", prompt=melody, key=key, seed=i),
            "lead", PROMPT_BARS)
    return {"seconds": seconds}


def unconstrained(ds: dataset_cache.Dataset, backend: Any, count: int, seeds: int = 2,
                  top_p: float = 0.95) -> dict[str, Any]:
    """Continue 4-bar prompts by plain top-p sampling (no grammar): the share of
    samples whose tokens the grammar would have accepted up to the end of the 8th new
    bar (or an EOS before it)."""
    from models.generation.model import TASK_MELODY

    prompts = [Piece(p.source, p.piece_id, notes=p.notes, bars=p.bars[:PROMPT_BARS],
                     keys=p.keys) for p in lead_pieces(ds, count, 0, PROMPT_BARS)]
    valid = finished = 0
    reasons: dict[str, int] = {}
    for i, p in enumerate(prompts):
        seq = [*tokens.encode(p, notes=True, chords=False).tolist()[:-1], tokens.BAR]
        if len(seq) + 1 >= backend.max_len // 2:
            continue  # the app would cut such a prompt (tasks._fit_prompt); not sampled
        for s in range(seeds):
            rng = np.random.default_rng([i, s])
            ids = [TASK_MELODY, *seq]
            new: list[int] = []
            backend.start(1)
            logits = backend.prefill(np.array([ids], np.int64))[0]
            while len(ids) < backend.max_len:
                z = logits.astype(np.float64)
                z = np.where(np.isfinite(z), z, -np.inf)
                pr = np.exp(z - z.max())
                pr /= pr.sum()
                order = np.argsort(-pr)
                keep = np.cumsum(pr[order]) - pr[order] < top_p
                pk = pr[order[keep]] / pr[order[keep]].sum()
                t = int(order[keep][rng.choice(len(pk), p=pk)])
                new.append(t)
                ids.append(t)
                if t == tokens.EOS or new.count(tokens.BAR) >= BARS:
                    break
                logits = backend.step(np.array([t]))[0]
            ended = new[-1] == tokens.EOS or new.count(tokens.BAR) >= BARS
            finished += int(ended)
            # A Bar opening a 9th bar stands for the end: grammar_check wants EOS there.
            # A sample cut off by the context is judged on what it wrote.
            checked = [*seq, *new] if new[-1] == tokens.EOS or not ended else \
                [*seq, *new[:-1], tokens.EOS]
            problem = gmx.grammar_check(checked, "melody", None, header=len(seq))
            if not ended and problem == "no EOS":
                problem = None
            if problem is None:
                valid += 1
            else:
                kind = problem.split(": ", 1)[-1].split(" not allowed")[0]
                kind = tokens.token_kind(tokens.VOCAB.index()[kind]) if kind in \
                    tokens.VOCAB.index() else kind
                reasons[kind] = reasons.get(kind, 0) + 1
    total = valid + sum(reasons.values())
    return {"samples": total, "valid_frac": round(valid / total, 4) if total else None,
            "finished": finished, "cut_off_by_context": total - finished,
            "top_p": top_p, "first_violation_by_token_kind": reasons}


# ---------------------------------------------------------------- latency


def latency(ds: dataset_cache.Dataset, sizes: Sizes, artifacts: Path | None,
            threads: tuple[int, ...], torch_threads: tuple[int, ...]) -> dict[str, Any]:
    """ONNX int8 at each of `threads`, torch fp32 on the CPU at each of `torch_threads`
    (torch with 2 threads on a busy 2-core machine takes tens of seconds for 8 bars:
    --quick leaves it out), and CUDA when there is one."""
    from benchmarks import generate_latency as gl
    from models.generation.backends import ARTIFACTS, ONNX_NAME, TORCH_NAME, OnnxBackend
    from models.generation.streams import melody_stream

    folder = artifacts or ARTIFACTS
    test = ds.melodies("test")
    prompts = [Piece(p.source, p.piece_id, notes=p.notes, bars=p.bars[:PROMPT_BARS],
                     keys=p.keys) for p in lead_pieces(ds, sizes.latency_pieces, 0,
                                                      PROMPT_BARS)]
    out: dict[str, Any] = {"prompt_bars": PROMPT_BARS, "new_bars": BARS, "batch": 1}
    seqs = melody_stream(test).sequences
    for n in threads:
        onnx = OnnxBackend(folder / ONNX_NAME, threads=n)
        pairs = gl.model_pairs(seqs, onnx.max_len, sizes.latency_pieces)
        log(f"latency: onnx int8, {n} thread(s)")
        out[f"onnx_int8_{n}thread"] = {
            "generate": gl.measure_generate(onnx, prompts, sizes.latency_repeats),
            "model": gl.measure_model(onnx, pairs, sizes.latency_repeats)}
    from models.generation.backends import TorchBackend

    for n in torch_threads:
        torch_b = TorchBackend("cpu", folder / TORCH_NAME, threads=n)
        pairs = gl.model_pairs(seqs, torch_b.max_len, max(2, sizes.latency_pieces // 2))
        log(f"latency: torch fp32 cpu, {n} thread(s)")
        out[f"torch_cpu_{n}thread"] = {
            "generate": gl.measure_generate(torch_b, prompts[:max(2, len(prompts) // 2)],
                                            max(1, sizes.latency_repeats - 1)),
            "model": gl.measure_model(torch_b, pairs, max(1, sizes.latency_repeats - 1))}
    import torch

    torch.set_num_threads(1)
    if torch.cuda.is_available():
        log("latency: torch cuda")
        cuda = TorchBackend("cuda", folder / TORCH_NAME)
        pairs = gl.model_pairs(seqs, cuda.max_len, sizes.latency_pieces)
        out["torch_cuda"] = {"generate": gl.measure_generate(cuda, prompts,
                                                             sizes.latency_repeats),
                             "model": gl.measure_model(cuda, pairs, sizes.latency_repeats)}
        out["gpu_larger_config"] = gl.gpu_per_token()
    else:
        out["torch_cuda"] = None
        out["gpu_larger_config"] = None
    return out


# ---------------------------------------------------------------- main


def _headline_ms(block: dict[str, Any] | None, what: str = "median_ms") -> float | None:
    gen = (block or {}).get("generate")
    return None if not gen else gen[what]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short run (a few minutes)")
    ap.add_argument("--checkpoint", type=Path,
                    help="a training checkpoint (best.pt) for the torch fp32 NLL instead "
                         "of the artifacts' gen_fp16.pt")
    ap.add_argument("--artifacts", type=Path, help="folder with gen.onnx, gen_fp16.pt, "
                    "gen.json (default: models/generation/artifacts)")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: "
                    "nll,quality,latency")
    args = ap.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    sizes = QUICK if args.quick else FULL
    from models.generation.backends import ModelFileError, OnnxBackend, read_meta

    try:
        ds = dataset_cache.load()
        meta = read_meta(args.artifacts) if args.artifacts else read_meta()
        backend = OnnxBackend(args.artifacts / "gen.onnx" if args.artifacts else None, 1)
    except (dataset_cache.DatasetError, ModelFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t_start, cpu_start = time.perf_counter(), time.process_time()
    result: dict[str, Any] = {"model_version": (meta or {}).get("version"),
                              "backend": backend.name, "quick": args.quick}
    if "nll" not in skip:
        log("NLL: n-gram")
        ng = ngram_nll(ds, args.quick, sizes.nll_pieces)
        log(f"NLL: model ({json.dumps(ng)})")
        mo = model_nll(ds, sizes.nll_pieces, args.checkpoint, args.artifacts, True)
        result["nll"] = {name: {"model": mo["onnx_int8"][name], "ngram": ng[name]["nll"],
                                "model_torch_fp32": mo.get("torch_fp32", {}).get(name),
                                "model_over_ngram": round(mo["onnx_int8"][name]
                                                          / ng[name]["nll"], 4)}
                         for name in ("melody", "chords")}
        result["nll_detail"] = {"model": mo, "ngram": ng,
                                "unit": "nats per note (melody) / per chord change "
                                        "(chords), test split"}
        log(json.dumps(result["nll"]))
    outputs: list[tuple[str, str | None]] = []
    if "quality" not in skip:
        log("generation: melody over test chords")
        quality = melody_quality(ds, backend, sizes, outputs)
        result["chord_tone_ratio"] = {w: quality[w]["chord_tone_ratio"]
                                      for w in ("model", "human")}
        result["key_consistency"] = {w: {k: quality[w][k] for k in
                                         ("in_key_frac", "key_estimate_agreement")}
                                     for w in ("model", "human")}
        result["histogram_distance"] = quality["histogram_distance_to_test_melodies"]
        log("generation: continue, chords, harmonize, next-chord")
        tasks_info = other_tasks(ds, backend, sizes, outputs)
        bad = [(t, why) for t, why in outputs if why is not None]
        result["valid_decode_frac"] = round(1 - len(bad) / len(outputs), 4) if outputs else None
        by_task: dict[str, list[int]] = {}
        for t, why in outputs:
            by_task.setdefault(t, [0, 0])[0 if why else 1] += 1
        result["valid_decode"] = {
            "outputs": len(outputs),
            "by_task": {t: {"outputs": a + b, "valid": b} for t, (a, b) in by_task.items()},
            "problems": bad[:10], "seconds": tasks_info["seconds"]}
        log("generation: unconstrained sampling")
        result["valid_decode"]["unconstrained"] = unconstrained(
            ds, backend, sizes.unconstrained_prompts, seeds=2 if not args.quick else 1)
        result["generation_detail"] = quality
    if "latency" not in skip:
        lat = latency(ds, sizes, args.artifacts, (1, 2), (1,) if args.quick else (1, 2))
        result["latency_8bars_ms"] = {
            "onnx_int8_cpu": _headline_ms(lat["onnx_int8_1thread"]),
            "torch_cpu": _headline_ms(lat["torch_cpu_1thread"]),
            "gpu": _headline_ms(lat.get("torch_cuda")),
            "gpu_larger_config_cpu_over_gpu_per_token": (
                lat["gpu_larger_config"] or {}).get("cpu_over_gpu_per_token"),
            "thread_cpu_ms": {"onnx_int8_cpu": _headline_ms(lat["onnx_int8_1thread"],
                                                            "median_thread_cpu_ms"),
                              "torch_cpu": _headline_ms(lat["torch_cpu_1thread"],
                                                        "median_thread_cpu_ms")},
            "what": "median wall time of generate(continue, 8 bars) after a 4-bar test "
                    "prompt, batch 1, one thread (thread_cpu_ms: its CPU time, what a quiet core "
                    "would need); 2 threads and the network alone in latency_detail",
        }
        result["latency_detail"] = lat
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    result["cpu_seconds"] = round(time.process_time() - cpu_start, 1)
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
