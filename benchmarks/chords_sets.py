"""Evaluation sets of the chord benchmark: the committed manifests, rendered once into
build/chords/<set>/ (audio/ID.flac, labels/ID.lab) by models.chords.data."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "models" / "chords" / "manifests"
RENDERED = ROOT / "build" / "chords"
SETS = ("unseen_timbre", "music21")
QUICK_CLIPS = 8


class SetError(RuntimeError):
    """An evaluation set is unknown or could not be rendered (the message says why)."""


@dataclass(frozen=True)
class Clip:
    set: str
    id: str
    audio: Path
    lab: Path

    def checksum(self) -> str:
        """SHA-256 of the audio file's bytes: the peers' cache key."""
        return hashlib.sha256(self.audio.read_bytes()).hexdigest()


def quick_indices(n: int, count: int = QUICK_CLIPS) -> list[int]:
    """`count` clips spread over the set, alternating augmented (even) and clean (odd)."""
    out: list[int] = []
    for k in range(min(count, n)):
        i = k * n // count
        if i % 2 != k % 2 and i + 1 < n:
            i += 1
        if i not in out:
            out.append(i)
    return out


def render(name: str, out: Path, manifest: Path | None = None) -> None:
    """Render the set's manifest (or `manifest`, a set built on the fly) into `out`
    (skips clips already there)."""
    cmd = [sys.executable, "-m", "models.chords.data", "render",
           str(manifest or MANIFESTS / f"{name}.json"), "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SetError(f"rendering the {name} set failed ({' '.join(cmd[1:])}): "
                       f"{proc.stderr.strip()[-1500:]}")


def load_set(name: str, quick: bool = False, rendered: Path = RENDERED) -> list[Clip]:
    manifest = MANIFESTS / f"{name}.json"
    if not manifest.exists():
        raise SetError(f"no evaluation set {name!r}: {manifest} does not exist "
                       f"(known: {', '.join(SETS)})")
    ids = [c["id"] for c in json.loads(manifest.read_text())["clips"]]
    if quick:
        ids = [ids[i] for i in quick_indices(len(ids))]
    out = rendered / name
    clips = [Clip(name, cid, out / "audio" / f"{cid}.flac", out / "labels" / f"{cid}.lab")
             for cid in ids]
    if any(not (c.audio.exists() and c.lab.exists()) for c in clips):
        render(name, out)
    missing = [c.id for c in clips if not (c.audio.exists() and c.lab.exists())]
    if missing:
        raise SetError(f"the {name} set still lacks {len(missing)} clips after rendering: "
                       f"{missing[:5]}")
    return clips
