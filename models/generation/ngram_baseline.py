"""The n-gram yardstick: interpolated modified Kneser-Ney, orders 2 to 8, tuned on the
validation split, scored on the test split in nats per event (see streams.py).

    python -m models.generation.ngram_baseline            # writes ngram_baseline.json

The transformer must reach an NLL at least 10 % below `best.test_nll_per_event` on
melodies and below it on chords (issue #6).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from models.generation import dataset_cache, tokens
from models.generation.ngram import KneserNeyLM, nll_per_event
from models.generation.streams import Stream, chord_stream, melody_stream

ORDERS = tuple(range(2, 9))
DEFAULT_OUT = Path(__file__).with_name("ngram_baseline.json")


def evaluate_stream(train: Stream, valid: Stream, test: Stream,
                    orders: tuple[int, ...] = ORDERS,
                    test_parts: dict[str, Stream] | None = None) -> dict[str, Any]:
    """Fit once at the highest order; score every order on valid and test (and the
    best order on each of `test_parts`, e.g. the test pieces of one source)."""
    t0 = time.process_time()
    lm = KneserNeyLM(max(orders), len(tokens.VOCAB)).fit(train.sequences)
    fit_s = time.process_time() - t0
    per_order = {}
    for order in orders:
        v = nll_per_event(lm, valid.sequences, valid.events, tokens.HEADER_LENGTH, order)
        t = nll_per_event(lm, test.sequences, test.events, tokens.HEADER_LENGTH, order)
        per_order[order] = {"valid_nll_per_event": round(v, 4), "test_nll_per_event": round(t, 4)}
    best = min(orders, key=lambda o: per_order[o]["valid_nll_per_event"])

    def scored_tokens(s: Stream) -> int:
        return sum(len(q) - tokens.HEADER_LENGTH for q in s.sequences)

    return {
        "pieces": {"train": len(train.sequences), "valid": len(valid.sequences),
                   "test": len(test.sequences)},
        "events": {"train": sum(train.events), "valid": sum(valid.events),
                   "test": sum(test.events)},
        "tokens": {"train": sum(len(q) for q in train.sequences),
                   "test_scored": scored_tokens(test)},
        "tokens_per_event_test": round(scored_tokens(test) / max(1, sum(test.events)), 3),
        "per_order": per_order,
        "best": {"order": best, **per_order[best],
                 "test_nll_per_token": round(per_order[best]["test_nll_per_event"]
                                             * sum(test.events) / max(1, scored_tokens(test)),
                                             4)},
        "test_by_source_at_best_order": {
            name: {"pieces": len(part.sequences), "events": sum(part.events),
                   "test_nll_per_event": round(nll_per_event(
                       lm, part.sequences, part.events, tokens.HEADER_LENGTH, best), 4)}
            for name, part in (test_parts or {}).items() if part.sequences},
        "fit_cpu_s": round(fit_s, 1),
    }


def run(dataset: dataset_cache.Dataset) -> dict[str, Any]:
    out: dict[str, Any] = {
        "definition": "nats per event: -ln P summed over every token after the header "
                      "(BOS Key TimeSig) through EOS, over all held-out pieces, divided by "
                      "their notes (melody) or chord changes (chords); see streams.py",
        "vocab_size": len(tokens.VOCAB),
    }
    for name, make, select in (("melody", melody_stream, dataset.melodies),
                               ("chords", chord_stream, dataset.chord_pieces)):
        variants: dict[str, dict[str, Any]] = {}
        for variant, rel in (("absolute", False), ("key_relative", True)):
            train, valid, test = (make(select(split), rel) for split in
                                  ("train", "valid", "test"))
            test_pieces = select("test")
            parts = {src: make([p for p in test_pieces if p.source == src], rel)
                     for src in sorted({p.source for p in test_pieces})}
            variants[variant] = evaluate_stream(train, valid, test, test_parts=parts)
            print(name, variant, json.dumps(variants[variant]["best"]), flush=True)
        chosen = min(variants, key=lambda v: variants[v]["best"]["valid_nll_per_event"])
        out[name] = {"best": {"variant": chosen, **variants[chosen]["best"]},
                     "variants": variants}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=dataset_cache.DEFAULT_PATH)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    os.nice(19)
    try:
        dataset = dataset_cache.load(args.dataset)
    except dataset_cache.DatasetError as exc:
        print(exc, file=sys.stderr)
        return 2
    result = run(dataset)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k]["best"] for k in ("melody", "chords")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
