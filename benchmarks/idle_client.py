"""The benchmark's baseline: a trivial sounddevice client on JACK that only writes
zeros, counting the xruns PortAudio reports to it. Prints one JSON object."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

os.environ.setdefault("JACK_NO_START_SERVER", "1")

import sounddevice as sd


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    jack = next(d["index"] for d in sd.query_devices()
            if "JACK" in sd.query_hostapis(d["hostapi"])["name"])
    counts = {"xruns": 0, "callbacks": 0}

    def callback(outdata: Any, frames: int, t: Any, status: Any) -> None:
        if status.output_underflow or status.output_overflow:
            counts["xruns"] += 1
        counts["callbacks"] += 1
        outdata.fill(0)

    with sd.OutputStream(device=jack, channels=2, dtype="float32", blocksize=0,
                         callback=callback):
        time.sleep(args.seconds)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
