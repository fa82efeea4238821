"""The cached dataset: written and read back exactly; a damaged file is refused with
a message that names the file and the command that rebuilds it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from generation_support import parsed

from models.generation import dataset_cache, tokens
from models.generation.dataset_cache import Dataset, DatasetError


def _dataset() -> Dataset:
    pieces = [raw.piece for src in ("ryansMammoth", "bach_chorales", "bach_rn")
              for raw in parsed(src)]
    for p in pieces:
        tokens.normalize(p)
    return Dataset(pieces, ["train", "valid", "test"], ["", "", ""], {"note": "test"})


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    ds = _dataset()
    path = tmp_path / "d.npz"
    dataset_cache.save(ds, path)
    back = dataset_cache.load(path)
    assert back.splits == ds.splits and back.info == {"note": "test"}
    for a, b in zip(ds.pieces, back.pieces, strict=True):
        assert (a.source, a.piece_id, a.title, a.link, a.chord_kind) == \
            (b.source, b.piece_id, b.title, b.link, b.chord_kind)
        for name in ("notes", "bars", "keys", "chords"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert [p.piece_id for p in back.melodies("train", ("ryansMammoth",))] == \
        [ds.pieces[0].piece_id]
    assert [p.source for p in back.chord_pieces("test")] == ["bach_rn"]


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "d.npz"
    dataset_cache.save(_dataset(), path)
    return path


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DatasetError, match=r"not a readable dataset.*build_dataset"):
        dataset_cache.load(path)


def test_flipped_bytes_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("notes.npy")
    middle = info.header_offset + 60 + info.compress_size // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="not a readable dataset"):
        dataset_cache.load(path)


def test_missing_file_and_foreign_npz_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no dataset file"):
        dataset_cache.load(tmp_path / "absent.npz")
    other = tmp_path / "other.npz"
    np.savez(other, header=np.frombuffer(json.dumps({"format": "x"}).encode(), np.uint8))
    with pytest.raises(DatasetError, match="format 'x'"):
        dataset_cache.load(other)


def test_inconsistent_tables_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["notes"] = arrays["notes"][:-1]
    bad = tmp_path / "bad.npz"
    np.savez_compressed(bad, **arrays)
    with pytest.raises(DatasetError, match="table 'notes' is inconsistent"):
        dataset_cache.load(bad)
