"""Xruns with JACK MIDI input by the engine's own JACK client (two Python JACK
callbacks in one process) against rtmidi's JACK input, under steady MIDI traffic.

`python -m benchmarks.jack_midi_xruns [--period 128] [--seconds 12]` starts a private
JACK server (dummy driver), runs the engine once per variant while a probe client
plays a note every 10 ms, and prints xruns per variant (and for an idle probe alone,
this machine's own baseline).
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks.jack_probe import JackProbe
from benchmarks.jack_server import JackServer
from strumspace_desktop.audio.client import EngineClient

JACK_API = "JACK Audio Connection Kit"


def run(period: int, seconds: float, variant: str) -> int:
    if variant == "rtmidi":
        os.environ["STRUMSPACE_JACK_MIDI_RTMIDI"] = "1"
    else:
        os.environ.pop("STRUMSPACE_JACK_MIDI_RTMIDI", None)
    probe = JackProbe(seconds=1.0)
    probe.xruns = 0
    if variant == "idle":
        probe.activate(None, None)
        time.sleep(seconds)
        probe.close()
        return probe.xruns
    client = EngineClient()
    client.start()
    try:
        client.open_stream(host_api=JACK_API, blocksize=period, set_jack_blocksize=False)
        probe.activate(None, "StrumSpace:midi_in")
        time.sleep(0.5)
        x0 = client.status().xruns
        start = probe.now() + probe.rate // 10
        step = probe.rate // 100
        n = int(seconds * 100)
        for i in range(n):
            probe.schedule(start + i * step, bytes([0x90, 60 + i % 12, 90]))
            probe.schedule(start + i * step + step // 2, bytes([0x80, 60 + i % 12, 0]))
        time.sleep(seconds + 0.3)
        return client.status().xruns - x0
    finally:
        probe.close()
        client.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--period", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=12.0)
    args = parser.parse_args()
    name = f"strumspace-midixrun-{os.getpid()}"
    with JackServer(name, period=args.period):
        os.environ["JACK_DEFAULT_SERVER"] = name
        for variant in ("idle", "rtmidi", "jack-client", "rtmidi", "jack-client"):
            print(f"{args.period} frames, {args.seconds:g} s, {variant}: "
                  f"{run(args.period, args.seconds, variant)} xruns", flush=True)


if __name__ == "__main__":
    main()
