"""The dataset build resumes where it stopped and shares work between processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from models.generation import dataset_cache
from models.generation.build_dataset import _take_lock, _unit_path, assemble, parse_units
from models.generation.corpus_sources import SOURCES_BY_NAME

RN = SOURCES_BY_NAME["bach_rn"]


def test_a_second_run_reuses_the_parsed_units(tmp_path: Path) -> None:
    parse_units([RN], tmp_path, limit=1)
    unit = _unit_path(tmp_path, RN, "bach/choraleAnalyses/riemenschneider001.rntxt")
    assert unit.exists()
    stamp = unit.stat().st_mtime_ns
    parse_units([RN], tmp_path, limit=1)
    assert unit.stat().st_mtime_ns == stamp  # skipped, not parsed again
    first = assemble([RN], tmp_path, limit=1, seed=6)
    dataset_cache.save(first, tmp_path / "a.npz")
    back = dataset_cache.load(tmp_path / "a.npz")
    assert [p.piece_id for p in back.pieces] == [p.piece_id for p in first.pieces]
    assert back.pieces[0].chord_kind == "human"


def test_locks_of_live_processes_are_respected_and_dead_ones_taken_over(
        tmp_path: Path) -> None:
    lock = tmp_path / "unit.lock"
    lock.write_text(str(os.getpid()))  # a live process holds it
    assert not _take_lock(lock)
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    lock.write_text(done.stdout.strip())  # its process has exited
    assert _take_lock(lock)
    assert lock.read_text() == str(os.getpid())
