"""MIDI-to-audio latency, measured by a separate JACK client (its own process).

It sends a note every `--interval` seconds at a random frame inside a JACK cycle
to the engine's MIDI input (then All Sound Off, so that each note starts from
silence), records the engine's output, and reports for each note the frames from
its emission to the first output frame above -60 dBFS. Prints one JSON object."""

from __future__ import annotations

import argparse
import json
import random
import time

from benchmarks.jack_probe import JackProbe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--note-length", type=float, default=0.05)
    parser.add_argument("--audio-port", default="StrumSpace-audio:out_0")
    parser.add_argument("--midi-port", default="StrumSpace:midi_in")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    probe = JackProbe(seconds=args.seconds + 1.0)
    probe.activate(args.audio_port, args.midi_port)
    rate = probe.rate
    probe.start_recording()
    time.sleep(0.3)
    first = probe.now() + int(0.3 * rate)
    emitted = []
    n = int((args.seconds - 0.8) / args.interval)
    for k in range(n):
        at = first + int(k * args.interval * rate) + rng.randrange(probe.period)
        note = 60 + k % 12
        probe.schedule(at, bytes([0x90, note, 110]))
        probe.schedule(at + int(args.note_length * rate), bytes([0x80, note, 0]))
        # All Sound Off: cut the release tail so the next onset starts from silence.
        probe.schedule(at + int(2 * args.note_length * rate), bytes([0xB0, 120, 0]))
        emitted.append(at)
    deadline = time.monotonic() + args.seconds + 5.0
    while probe.recording and time.monotonic() < deadline:
        time.sleep(0.05)
    probe.stop_recording()
    window = int(0.1 * rate)
    latencies = []
    not_quiet = 0
    levels_before: list[float] = []  # why a note could not be measured
    for at in emitted:
        onset = probe.onset_after(at, window)
        if onset is None:
            not_quiet += 1
            i = at - probe.start_frame
            if 240 <= i <= probe.filled:
                levels_before.append(float(abs(probe.audio[i - 240:i]).max()))
        else:
            latencies.append(onset - at)
    print(json.dumps({"rate": rate, "period": probe.period, "latency_frames": latencies,
                      "notes_sent": len(emitted), "unmeasured": not_quiet,
                      "unmeasured_levels_before": levels_before[:20],
                      "late_events": probe.late_events, "server_xruns": probe.xruns}))
    probe.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
