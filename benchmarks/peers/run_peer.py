"""Run one chord-recognition peer on a list of clips, inside the peers' venv:

    /work/peers-venv/bin/python -m benchmarks.peers.run_peer PEER JOBS.json
    /work/peers-venv/bin/python -m benchmarks.peers.run_peer --versions

JOBS.json is a list of {"audio": FILE, "lab": OUT.lab, "meta": OUT.json}. Each clip
is converted to 16-bit WAV at 44.1 kHz first (soxr; madmom resamples other rates
through ffmpeg, which is not installed, and its CNN expects 44.1 kHz), outside the
timing. The peer's labels go to OUT.lab (MIREX: start, end, Harte label) and its
process CPU time for the clip to OUT.json, both written atomically, so an interrupted
run keeps every finished clip. One JSON line per clip on stdout; a failing clip
writes its error to OUT.json and the run goes on. Threads: one (set here unless the
caller already set them).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.peers.recognizers import PEERS, Segments, version  # noqa: E402


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text)
    tmp.replace(path)


def to_wav(audio: str, out: str) -> float:
    """Write `audio` as 16-bit 44.1 kHz mono WAV at `out`; returns its duration in s."""
    import numpy as np
    import soundfile as sf
    import soxr

    data, sr = sf.read(audio, dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    wav = soxr.resample(mono, sr, 44100) if sr != 44100 else mono
    sf.write(out, np.clip(wav, -1.0, 1.0), 44100, subtype="PCM_16")
    return len(mono) / sr


def lab_text(segments: Segments) -> str:
    return "".join(f"{a:.6f}\t{b:.6f}\t{lab}\n" for a, b, lab in segments)


def run(peer: str, jobs: list[dict[str, str]]) -> int:
    t0 = time.process_time()
    recognizer = PEERS[peer]()
    load_cpu = time.process_time() - t0
    ver = version(peer)
    print(json.dumps({"peer": peer, "version": ver, "load_cpu_s": round(load_cpu, 3)}),
          flush=True)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        wav = str(Path(tmp) / "clip.wav")
        for job in jobs:
            meta: dict[str, Any] = {"peer": peer, "version": ver, "audio": job["audio"]}
            try:
                meta["duration"] = to_wav(job["audio"], wav)
                c0, w0 = time.process_time(), time.perf_counter()
                segments = recognizer(wav, meta["duration"])
                meta["cpu_s"] = time.process_time() - c0
                meta["wall_s"] = time.perf_counter() - w0
                meta["load_cpu_s"] = load_cpu
                if not segments:
                    segments = [(0.0, meta["duration"], "N")]
                _write_atomic(Path(job["lab"]), lab_text(segments))
            except Exception as exc:  # one bad clip must not lose the others
                failures += 1
                meta["error"] = f"{type(exc).__name__}: {exc}"
                meta["trace"] = traceback.format_exc()[-800:]
            _write_atomic(Path(job["meta"]), json.dumps(meta))
            print(json.dumps({k: v for k, v in meta.items() if k != "trace"}), flush=True)
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    if argv == ["--versions"]:
        print(json.dumps({peer: version(peer) for peer in PEERS}))
        return 0
    if len(argv) != 2 or argv[0] not in PEERS:
        print(f"usage: run_peer {{{','.join(PEERS)}}} JOBS.json | --versions", file=sys.stderr)
        return 2
    jobs = json.loads(Path(argv[1]).read_text())
    return run(argv[0], jobs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
