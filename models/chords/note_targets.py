"""Which pitch classes sound in each frame of a rendered clip: an auxiliary training
target (``train.py --notes-weight``).

The chord label names a chord; the renderer knows the notes it played. C:maj6 and
A:min7 are one set of notes under two names, an incomplete chord is fewer notes than
its name, a passing tone is a note no label holds. A head that has to say which pitch
classes sound gives the trunk a target that is the same for every instrument that
plays those notes, and the same for both names of one set of notes.

The notes come from the set's manifest (``build/chords/SET.json`` beside the set's
folder, or the committed ``models/chords/manifests/SET.json``): the renderer is
deterministic, so ``render.performance_of`` rebuilds every clip's notes without the
audio. A note counts from its note-on to its note-off; drums never count. The bits
are cached beside the features (``SET.notes.npz``), aligned to the feature cache's
frames.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from models.chords import features as feat
from models.chords import manifest as mf
from models.chords.performance import DRUM_CH, Performance

NOTES_VERSION = 1


class NoteTargetError(RuntimeError):
    """The notes of a set cannot be rebuilt (no manifest, or one for other clips)."""


def frame_bits(perf: Performance, n: int) -> np.ndarray:
    """uint16 [n]: bit p set where pitch class p sounds at frame i's centre."""
    t = np.asarray(feat.frame_time(np.arange(n)), dtype=np.float64)
    bits = np.zeros(n, np.uint16)
    for note in perf.notes:
        if note.channel == DRUM_CH:
            continue
        a, b = np.searchsorted(t, [note.start, note.end], side="left")
        bits[a:b] |= np.uint16(1 << (note.pitch % 12))
    return bits


def bits_to_matrix(bits: np.ndarray, shift: int = 0) -> np.ndarray:
    """float32 [n, 12] of 0/1 from ``frame_bits``, transposed up ``shift`` semitones."""
    m = ((bits[:, None].astype(np.int64) >> np.arange(12)) & 1).astype(np.float32)
    return np.roll(m, shift % 12, axis=1)


def manifest_path(set_dir: Path) -> Path:
    beside = set_dir.parent / f"{set_dir.name}.json"
    if beside.exists():
        return beside
    committed = mf.MANIFEST_DIR / f"{set_dir.name}.json"
    if committed.exists():
        return committed
    raise NoteTargetError(f"no manifest for {set_dir} ({beside} or {committed}): the "
                          "note targets are rebuilt from it")


def set_bits(set_dir: Path, ids: list[str], offsets: np.ndarray, cache_dir: Path,
             name: str) -> np.ndarray:
    """uint16 bits of every frame of a cached set (its ``ids`` and frame ``offsets``),
    from the cache when it holds these clips."""
    from models.chords.render import performance_of

    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{name}.notes.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        if (int(z["version"]) == NOTES_VERSION and list(z["ids"]) == ids
                and np.array_equal(z["offsets"], offsets)):
            return np.asarray(z["bits"])
    source = manifest_path(Path(set_dir))
    try:
        data: dict[str, Any] = json.loads(source.read_text())
        entries = {e["id"]: e for e in data["clips"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise NoteTargetError(f"{source} is not a readable manifest ({e})") from e
    missing = [i for i in ids if i not in entries]
    if missing:
        raise NoteTargetError(f"{set_dir}: clip {missing[0]} is not in its manifest")
    parts = []
    for k, cid in enumerate(ids):
        perf = performance_of(entries[cid])
        parts.append(frame_bits(perf, int(offsets[k + 1] - offsets[k])))
    bits = np.concatenate(parts) if parts else np.zeros(0, np.uint16)
    # A name of this build's own: two runs started together each write, the last
    # rename wins with the same bytes.
    fd, tmp_name = tempfile.mkstemp(prefix=f"{name}.", suffix=".notes.tmp.npz",
                                    dir=cache_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        np.savez(tmp, version=NOTES_VERSION, ids=np.array(ids), offsets=offsets, bits=bits)
        os.chmod(tmp, 0o644)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return bits
