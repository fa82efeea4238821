"""The cached dataset: one compressed .npz of flat integer arrays plus a JSON header.

No pickles (loading a file never runs code); every array is checked on load, and a
damaged or foreign file raises DatasetError saying what is wrong and how to rebuild.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.generation.corpus_sources import CHORD_SOURCES, MELODY_SOURCES
from models.generation.piece import TPQ, Piece

FORMAT = "strumspace-generation-dataset"
VERSION = 1
DEFAULT_PATH = Path(__file__).with_name("data") / "corpus.npz"
REBUILD_HINT = "rebuild it with: python -m models.generation.build_dataset"
_TABLES = (("notes", 4), ("bars", 3), ("keys", 3), ("chords", 4))


class DatasetError(RuntimeError):
    """The dataset file is missing, damaged or of another format."""


@dataclass
class Dataset:
    pieces: list[Piece]
    splits: list[str]
    dup_of: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    def select(self, split: str, sources: tuple[str, ...], *, melody: bool) -> list[Piece]:
        """Pieces of a split from these sources: for melodies, canonical copies with
        notes; for chords, every piece with chord labels."""
        out = []
        for piece, s, dup in zip(self.pieces, self.splits, self.dup_of, strict=True):
            if s != split or piece.source not in sources:
                continue
            if melody and (dup or len(piece.notes) == 0):
                continue
            if not melody and (len(piece.chords) == 0 or piece.chord_kind == "weak"):
                continue
            out.append(piece)
        return out

    def melodies(self, split: str, sources: tuple[str, ...] = MELODY_SOURCES) -> list[Piece]:
        return self.select(split, sources, melody=True)

    def chord_pieces(self, split: str, sources: tuple[str, ...] = CHORD_SOURCES) -> list[Piece]:
        return self.select(split, sources, melody=False)


def save(dataset: Dataset, path: Path) -> None:
    """Write atomically (a temporary file renamed into place)."""
    arrays: dict[str, np.ndarray] = {}
    for name, cols in _TABLES:
        parts = [getattr(p, name).reshape(-1, cols).astype(np.int32) for p in dataset.pieces]
        lengths = np.array([len(a) for a in parts], dtype=np.int64)
        arrays[name] = np.concatenate(parts) if parts else np.zeros((0, cols), np.int32)
        arrays[f"{name}_offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    header = {
        "format": FORMAT, "version": VERSION, "tpq": TPQ,
        "pieces": [
            {"source": p.source, "id": p.piece_id, "title": p.title, "group": p.group,
             "chord_kind": p.chord_kind, "link": p.link, "split": s, "dup_of": d}
            for p, s, d in zip(dataset.pieces, dataset.splits, dataset.dup_of, strict=True)
        ],
        "info": dataset.info,
    }
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


def load(path: Path = DEFAULT_PATH) -> Dataset:
    """Read and check a dataset file; DatasetError on anything unexpected."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no dataset file; {REBUILD_HINT}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:
        raise DatasetError(f"{path}: not a readable dataset ({type(exc).__name__}: {exc}); "
                           f"{REBUILD_HINT}") from exc
    try:
        header = json.loads(arrays["header"].tobytes().decode())
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: missing or damaged header; {REBUILD_HINT}") from exc
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise DatasetError(f"{path}: format {header.get('format')!r} version "
                           f"{header.get('version')!r}, expected {FORMAT!r} {VERSION}; "
                           f"{REBUILD_HINT}")
    if header.get("tpq") != TPQ:
        raise DatasetError(f"{path}: {header.get('tpq')} ticks per quarter, this code uses "
                           f"{TPQ}; {REBUILD_HINT}")
    metas = header["pieces"]
    tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, cols in _TABLES:
        data, offsets = arrays.get(name), arrays.get(f"{name}_offsets")
        if data is None or offsets is None or data.ndim != 2 or data.shape[1] != cols \
                or offsets.shape != (len(metas) + 1,) or offsets[0] != 0 \
                or offsets[-1] != len(data) or np.any(np.diff(offsets) < 0):
            raise DatasetError(f"{path}: table {name!r} is inconsistent with the header "
                               f"({len(metas)} pieces); {REBUILD_HINT}")
        tables[name] = (data, offsets)
    pieces = []
    for i, m in enumerate(metas):
        rows = {name: data[offsets[i]:offsets[i + 1]] for name, (data, offsets) in
                tables.items()}
        pieces.append(Piece(m["source"], m["id"], m["title"], m["group"], rows["notes"],
                            rows["bars"], rows["keys"], rows["chords"], m["chord_kind"],
                            m.get("link", "")))
    return Dataset(pieces, [m["split"] for m in metas], [m["dup_of"] for m in metas],
                   header.get("info", {}))
