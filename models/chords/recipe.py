"""The whole training recipe in one command, on two cores, within the issue's 2 hours.

Measured on this 2-core machine (MODEL.md): in float32, 107 minutes and a model 1.2
points of majmin below the shipped one on validation ("Two branches trained apart, on
two cores"); with ``--bf16``, the previous model's step counts and a tune stage
twice as long, 98 minutes in one command and the shipped model,
``chords-crnn-20261129-223a9572``, rebuilt bit for bit ("The shipped schedule in
bfloat16", How to rebuild). The previous model's recipe, three float32 stages one
after another, took 177 minutes of one core.

    python -m models.chords.recipe --out build/chords-recipe
    python -m models.chords.recipe --out build/chords-bf16 --bf16 --export build/chords-bf16/export
    python -m models.chords.recipe --out build/chords-smoke-recipe --smoke   # seconds, CI

Two chains of ``train.py`` runs, one process and one thread each, side by side: the
offline branch (``--offline-only``: from scratch, then with a tune over the chords)
and the live branch (``--live-only``: from scratch, then with the tune); then
``merge.py`` puts the two ``best.pt`` together into ``OUT/merged/best.pt`` and, with
``--export``, ``export.py`` writes the graphs. Each stage's folder is ``OUT/NAME``; run
again after a stop and a stage that has a ``last.pt`` resumes (a finished one just
validates again), so the recipe continues where it was. Data: the rendered sets of
DATA.md under ``--data`` (``train``, ``train_wide``, ``train_melody``, and the
validation sets). Prints a JSON summary as its last line (minutes per stage and in
all); exit 1 naming the stage that failed and its log.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Every stage: seed 0, one thread, a live branch on a causal trunk of its own (what
# lets the branches train apart), crops reaching a clip's ends as often as its middle.
COMMON = ("--threads", "1", "--seed", "0", "--crop-coverage", "frames",
          "--live-lookahead", "0")
MELODY_SHARE = "train_melody=0.3"


@dataclasses.dataclass(frozen=True)
class Stage:
    name: str
    branch: str  # "offline" or "live": the --BRANCH-only flag
    steps: int
    lr: float | None = None  # None: train.py's default peak (2e-3)
    init: str | None = None  # the stage whose best.pt it starts from
    melody: bool = False  # train_melody at MELODY_SHARE of the crops


CHAINS: dict[str, tuple[Stage, ...]] = {
    "offline": (Stage("offlineA", "offline", 8000),
                Stage("offlineB", "offline", 2700, lr=4e-4, init="offlineA", melody=True)),
    "live": (Stage("liveA", "live", 8000),
             Stage("liveB", "live", 8000, lr=1e-3, init="liveA", melody=True)),
}
# --bf16: the previous model's schedule, each step in bfloat16 (train.py --bf16):
# its offline branch 10,536 steps from scratch, then the tune stage twice its
# 2,700 (the 2,700 fell 1.1 points short with a tune; 5,400 fit the 2 hours and pass:
# MODEL.md); the live branch, which had 13,236 joint steps and 8,000 of its own in
# the previous model, 10,536 and 10,700 here.
BF16_CHAINS: dict[str, tuple[Stage, ...]] = {
    "offline": (Stage("offlineA", "offline", 10536),
                Stage("offlineB", "offline", 5400, lr=4e-4, init="offlineA", melody=True)),
    "live": (Stage("liveA", "live", 10536),
             Stage("liveB", "live", 10700, lr=1e-3, init="liveA", melody=True)),
}
SMOKE_STEPS = {"offlineA": 6, "offlineB": 3, "liveA": 6, "liveB": 3}


class RecipeError(RuntimeError):
    """A stage that failed (its log named)."""


def stage_args(stage: Stage, out: Path, data: Path, smoke: bool, bf16: bool = False
               ) -> list[str]:
    """train.py's arguments for ``stage`` (resuming when it has a last.pt)."""
    folder = out / stage.name
    args = ["--out", str(folder), f"--{stage.branch}-only", *COMMON]
    if bf16:
        args.append("--bf16")
    if smoke:
        args += ["--smoke", "--steps", str(SMOKE_STEPS[stage.name])]
    else:
        args += ["--steps", str(stage.steps),
                 "--train", str(data / "train"), "--train", str(data / "train_wide")]
        if stage.melody:
            args += ["--train", str(data / "train_melody"), "--share", MELODY_SHARE]
        args += ["--valid", str(data / "valid"), "--valid", str(data / "valid_freepats")]
    if stage.lr is not None:
        args += ["--lr", str(stage.lr)]
    if stage.init is not None:
        args += ["--init", str(out / stage.init / "best.pt")]
    if (folder / "last.pt").exists():
        args.append("--resume")
    return args


def run_chain(chain: Sequence[Stage], out: Path, data: Path, smoke: bool, bf16: bool,
              minutes: dict[str, float], errors: list[str]) -> None:
    for stage in chain:
        log = out / f"{stage.name}.log"
        t0 = time.monotonic()
        with log.open("a") as f:
            code = subprocess.call([sys.executable, "-m", "models.chords.train",
                                    *stage_args(stage, out, data, smoke, bf16)],
                                   stdout=f, stderr=subprocess.STDOUT)
        minutes[stage.name] = round((time.monotonic() - t0) / 60, 1)
        if code != 0:
            errors.append(f"stage {stage.name} failed (exit {code}): see {log}")
            return


def run(out: Path, data: Path, smoke: bool = False, export: Path | None = None,
        bf16: bool = False) -> dict[str, Any]:
    from models.chords.merge import MergeError, merge

    chains = BF16_CHAINS if bf16 else CHAINS
    out.mkdir(parents=True, exist_ok=True)
    minutes: dict[str, float] = {}
    errors: list[str] = []
    t0 = time.monotonic()
    threads = [threading.Thread(target=run_chain, args=(chain, out, data, smoke, bf16,
                                                        minutes, errors))
               for chain in chains.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RecipeError("; ".join(errors))
    last = {b: out / chain[-1].name / "best.pt" for b, chain in chains.items()}
    try:
        merged = merge(last["offline"], last["live"], out / "merged" / "best.pt")
    except MergeError as e:
        raise RecipeError(f"merge: {e}") from e
    summary: dict[str, Any] = {"merged": merged["out"], "bf16": bf16,
                               "stage_minutes": minutes,
                               "chain_minutes": {b: round(sum(minutes[s.name] for s in c), 1)
                                                 for b, c in chains.items()},
                               "training_minutes": round((time.monotonic() - t0) / 60, 1)}
    if export is not None:
        code = subprocess.call([sys.executable, "-m", "models.chords.export",
                                merged["out"], "--out", str(export)])
        if code != 0:
            raise RecipeError(f"export of {merged['out']} failed (exit {code})")
        summary["export"] = str(export)
    summary["total_minutes"] = round((time.monotonic() - t0) / 60, 1)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="a folder per stage under it")
    ap.add_argument("--data", type=Path, default=Path("build/chords"),
                    help="the rendered sets (DATA.md)")
    ap.add_argument("--export", type=Path, default=None,
                    help="export the merged model's graphs to this folder")
    ap.add_argument("--smoke", action="store_true",
                    help="each stage a few steps of train.py's smoke model and data")
    ap.add_argument("--bf16", action="store_true",
                    help="the shipped model's schedule, each step in bfloat16 (train.py "
                         "--bf16; MODEL.md)")
    args = ap.parse_args(argv)
    try:
        res = run(args.out, args.data, args.smoke, args.export, args.bf16)
    except RecipeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
