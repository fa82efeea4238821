"""Calibrate the chord-tone bias of melody-over-chords on the validation split.

    python -m benchmarks.generate_chord_tone_bias [--pieces 32] [--seeds 2]

For each bias (nats added to the logits of the sounding chord's pitches on a beat,
half of it off the beat; grammar.py), the `melody` task writes melodies over the
chords of validation lead sheets, and the chord-tone ratio on strong beats (the
benchmark's measure, generate_metrics.py) is compared with the human melodies of
the same pieces, along with how far the pitch-class and onset histograms move. The
shipped default (tasks.MELODY_CHORD_TONE_BIAS) is the bias whose ratio comes
closest to the human one here; the test split is never read. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from unittest import mock

from benchmarks import generate_metrics as gmx
from benchmarks.generate import BARS, lead_pieces, log
from models.generation import dataset_cache, tasks
from models.generation.backends import load_backend

BIASES = (0.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pieces", type=int, default=32)
    ap.add_argument("--seeds", type=int, default=2)
    a = ap.parse_args(argv)
    ds = dataset_cache.load(dataset_cache.DEFAULT_PATH)
    pieces = lead_pieces(ds, a.pieces, split="valid")
    backend = load_backend("onnx")
    human = [gmx.chord_tone_counts(p.notes, p.chords, p.bars) for p in pieces]
    hum_h = gmx.Histograms.empty()
    for p in pieces:
        hum_h.add(p.notes, p.bars, int(p.keys[0, 1]))
    result: dict[str, object] = {"split": "valid", "pieces": len(pieces), "seeds": a.seeds,
                                 "human": gmx.ratio(human), "bias": {}}
    table: dict[str, object] = {}
    for bias in BIASES:
        counts, gen_h = [], gmx.Histograms.empty()
        with mock.patch.object(tasks, "MELODY_CHORD_TONE_BIAS", bias):
            for p in pieces:
                key = (int(p.keys[0, 1]), int(p.keys[0, 2]))
                req = tasks.GenerationRequest(
                    task="melody", chords=gmx.chord_changes(p), key=tasks.key_name(*key),
                    time_signature=(int(p.bars[0, 1]), int(p.bars[0, 2])), bars=BARS,
                    seed=0, variations=a.seeds)
                for c in tasks.generate(req, backend):
                    counts.append(gmx.chord_tone_counts(c.notes, p.chords, p.bars))
                    gen_h.add(c.notes, c.bars, key[0])
        dist = gmx.distances(gen_h, hum_h)
        table[str(bias)] = {"chord_tone_ratio": gmx.ratio(counts),
                            "pitch_class_js": dist["pitch_class"]["js"],
                            "onset_js": dist["onset"]["js"]}
        log(f"bias {bias}: {table[str(bias)]}")
    result["bias"] = table
    human_ratio = float(gmx.ratio(human) or 0.0)
    result["chosen"] = min(BIASES, key=lambda b: abs(
        float(table[str(b)]["chord_tone_ratio"]) - human_ratio))  # type: ignore[index]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
