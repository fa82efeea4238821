"""One model from two branches trained apart.

    python -m models.chords.train --out build/chords-off --offline-only ... &
    python -m models.chords.train --out build/chords-live --live-only ... &
    python -m models.chords.merge --offline build/chords-off/best.pt \
        --live build/chords-live/best.pt --out build/chords-merged/best.pt

With the live branch on a causal trunk of its own (``--live-lookahead 0``) the two
branches share no weight, and a joint run's loss is the sum of theirs: so they can
train at once in two processes, one core each, and be put back together here. The
offline checkpoint gives everything that is not the live branch (trunk, BiLSTM, CTC,
frame and bass heads, so the catalogue embedding), the live one gives every ``live_``
weight. Prints a JSON summary as its last line; exit 1 with a message when the two do
not fit together (another shape, a shared trunk, an unreadable file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.chords.model import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    config_dict,
    load_checkpoint,
    meta,
)
from models.chords.train import save_atomic

LIVE_PREFIX = "live_"


class MergeError(RuntimeError):
    """Two checkpoints that do not make one model."""


def _part(ck: dict[str, Any], key: str) -> dict[str, Any]:
    """A checkpoint's dict entry (``state``, ``args``), empty when absent or foreign."""
    value = ck.get(key)
    return value if isinstance(value, dict) else {}


def _is_smoke(ck: dict[str, Any]) -> bool:
    args = _part(ck, "args")
    return bool(ck.get("smoke")) or str(args.get("smoke", "")).lower() in ("true", "1")


def merge(offline_path: Path, live_path: Path, out: Path) -> dict[str, Any]:
    """Write the merged checkpoint to ``out`` (train.py's format, no optimizer) and
    return its summary."""
    try:
        off_model, off_ck = load_checkpoint(offline_path)
        live_model, live_ck = load_checkpoint(live_path)
    except CheckpointError as e:
        raise MergeError(str(e)) from e
    except (KeyError, TypeError, RuntimeError) as e:  # weights that do not fit the config
        raise MergeError(f"a checkpoint's model does not load from its config "
                         f"({type(e).__name__}: {str(e)[:300]})") from e
    off_cfg, live_cfg = config_dict(off_model.cfg), config_dict(live_model.cfg)
    if off_cfg != live_cfg:
        diff = sorted(k for k in off_cfg if off_cfg[k] != live_cfg.get(k))
        raise MergeError(f"the two models have other shapes ({', '.join(diff)})")
    if off_model.live_trunk is None:
        raise MergeError("the live branch shares the offline trunk (live_lookahead 1): "
                         "its weights are not its own to merge")
    state = off_model.state_dict()
    live_state = live_model.state_dict()
    taken = 0
    for name, value in live_state.items():
        if name.startswith(LIVE_PREFIX):
            state[name] = value
            taken += 1
    off_model.load_state_dict(state)

    def summary(ck: dict[str, Any], path: Path) -> dict[str, Any]:
        st = _part(ck, "state")
        # the branch's own training arguments and best validation travel with the
        # merged model into chords.json, so the model card's recipe can be checked
        return {"checkpoint": str(path), "step": st.get("step"),
                "elapsed_s": st.get("elapsed_s"), "best": st.get("best"),
                "args": {str(k): str(v) for k, v in _part(ck, "args").items()}}

    branches = {"offline": summary(off_ck, offline_path), "live": summary(live_ck, live_path)}
    off_state = _part(off_ck, "state")
    ck = {"format": CHECKPOINT_FORMAT, "config": off_cfg, "model": off_model.state_dict(),
          "meta": meta(off_model),
          "state": {"step": off_state.get("step", 0),
                    "elapsed_s": off_state.get("elapsed_s", 0.0),
                    "audio_s": off_state.get("audio_s", 0.0), "best": None, "log": [],
                    "merged": branches},
          "args": {"merged": "offline and live branches trained apart (merge.py)"},
          # a smoke model stays marked as one (export tags its version "smoke")
          "smoke": any(_is_smoke(c) for c in (off_ck, live_ck))}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(ck, out)
    return {"out": str(out), "live_tensors": taken, **branches}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--offline", type=Path, required=True,
                    help="checkpoint whose offline branch (and trunk) to keep")
    ap.add_argument("--live", type=Path, required=True,
                    help="checkpoint whose live branch to keep")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    try:
        res = merge(args.offline, args.live, args.out)
    except MergeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
