"""Parse the music21 corpus once into the cached dataset (models/generation/data/).

    python -m models.generation.build_dataset            # committed dataset (no Essen)
    python -m models.generation.build_dataset --limit 2  # quick run: 2 files per source,
                                                         # written to build/ (not committed)
    python -m models.generation.build_dataset --sources essen --out /tmp/essen.npz

Resumable and safe to run in several processes at once: each corpus file is one unit
whose result is written atomically under --work; a unit already done is skipped, one
being parsed by a live process is left to it (lock file holding its pid). The process
lowers its own priority (nice 19): the parse takes minutes of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

from models.generation import dataset_cache, tokens
from models.generation.corpus_sources import SOURCES, SOURCES_BY_NAME, Source, source_files
from models.generation.dedup_split import DEFAULT_SEED, assign_groups, split_of
from models.generation.piece import Piece

DEFAULT_WORK = Path("build") / "generation-work"
PARTIAL_OUT = Path("build") / "generation-partial.npz"
UNIT_VERSION = 1


def _unit_path(work: Path, source: Source, rel: str) -> Path:
    return work / f"v{UNIT_VERSION}" / source.name / (rel.replace("/", "__") + ".pkl")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _take_lock(lock: Path) -> bool:
    """True if this process now owns the unit; a lock left by a dead process is taken over."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid and _pid_alive(pid):
                return False
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def parse_units(sources: list[Source], work: Path, limit: int | None) -> None:
    from models.generation.corpus_sources import corpus_root
    from models.generation.extract import parse_file

    root = corpus_root()
    todo = [(s, f) for s in sources for f in source_files(s)[:limit]]
    started = time.monotonic()
    parsed_here = 0
    for n, (source, path) in enumerate(todo, 1):
        rel = path.relative_to(root).as_posix()
        out = _unit_path(work, source, rel)
        if out.exists():
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        lock = out.with_suffix(".lock")
        if not _take_lock(lock):
            print(f"[{n}/{len(todo)}] {rel}: another process is parsing it", flush=True)
            continue
        try:
            t0 = time.process_time()
            pieces, errors = parse_file(source, path, rel)
            cpu = time.process_time() - t0
            tmp = out.with_suffix(f".tmp{os.getpid()}")
            with tmp.open("wb") as f:
                pickle.dump({"pieces": pieces, "errors": errors, "cpu_s": cpu}, f)
            os.replace(tmp, out)
        finally:
            lock.unlink(missing_ok=True)
        parsed_here += 1
        elapsed = time.monotonic() - started
        print(f"[{n}/{len(todo)}] {rel}: {len(pieces)} pieces, {len(errors)} skipped, "
              f"{cpu:.2f} s CPU ({elapsed:.0f} s elapsed)", flush=True)


def assemble(sources: list[Source], work: Path, limit: int | None, seed: int) -> \
        dataset_cache.Dataset:
    from models.generation.corpus_sources import corpus_root
    from models.generation.extract import label_chords

    root = corpus_root()
    pieces: list[Piece] = []
    errors: list[str] = []
    stats: dict[str, dict[str, float]] = {}
    missing = 0
    for source in sources:
        st = stats.setdefault(source.name, {"files": 0, "pieces": 0, "skipped": 0,
                                            "parse_cpu_s": 0.0,
                                            "notes_requantized": 0})
        for path in source_files(source)[:limit]:
            unit = _unit_path(work, source, path.relative_to(root).as_posix())
            if not unit.exists():
                missing += 1
                continue
            with unit.open("rb") as f:
                data = pickle.load(f)  # our own work files, written above
            for raw in data["pieces"]:
                if raw.piece.chord_kind != "human":
                    label_chords(raw)  # labelling may have changed since the parse
                st["notes_requantized"] += tokens.normalize(raw.piece)
                try:
                    tokens.encode(raw.piece)
                except tokens.TokenizeError as exc:
                    errors.append(f"{raw.piece.piece_id}: {exc}")
                    st["skipped"] += 1
                    continue
                pieces.append(raw.piece)
                st["pieces"] += 1
            errors.extend(data["errors"])
            st["files"] += 1
            st["skipped"] += len(data["errors"])
            st["parse_cpu_s"] = round(st["parse_cpu_s"] + data["cpu_s"], 2)
    if missing:
        raise SystemExit(f"{missing} corpus files are not parsed yet (another process may "
                         "still be on them): run this command again")
    rank = {s.name: (0 if s.shippable else 100) + i for i, s in enumerate(SOURCES)}
    pieces.sort(key=lambda p: (rank[p.source], p.piece_id))
    dup_of = assign_groups(pieces, rank)
    splits = [split_of(p.group, seed) for p in pieces]
    info = {
        "seed": seed,
        "sources": {s.name: {"licence": s.licence, "shippable": s.shippable, **stats[s.name]}
                    for s in sources},
        "skipped": errors[:200],
        "limit": limit,
    }
    return dataset_cache.Dataset(pieces, splits, dup_of, info)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", nargs="*", default=[s.name for s in SOURCES if s.default],
                    choices=[s.name for s in SOURCES])
    ap.add_argument("--limit", type=int, default=None, help="corpus files per source")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--out", type=Path, default=None,
                    help="default: the committed dataset for a full default build, "
                    f"{PARTIAL_OUT} for a --limit or --sources run")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--parse-only", action="store_true")
    args = ap.parse_args(argv)
    os.nice(19)
    sources = [SOURCES_BY_NAME[n] for n in args.sources]
    if args.out is None:  # a quick or partial run never overwrites the committed file
        full = args.limit is None and set(args.sources) == {s.name for s in SOURCES if s.default}
        args.out = dataset_cache.DEFAULT_PATH if full else PARTIAL_OUT
    t0 = time.monotonic()
    parse_units(sources, args.work, args.limit)
    if args.parse_only:
        return 0
    dataset = assemble(sources, args.work, args.limit, args.seed)
    dataset_cache.save(dataset, args.out)
    counts: dict[str, int] = {}
    for p, s, d in zip(dataset.pieces, dataset.splits, dataset.dup_of, strict=True):
        counts[f"{p.source}/{s}{'/dup' if d else ''}"] = counts.get(
            f"{p.source}/{s}{'/dup' if d else ''}", 0) + 1
    print(json.dumps({"out": str(args.out), "pieces": len(dataset.pieces),
                      "bytes": args.out.stat().st_size, "counts": counts,
                      "seconds": round(time.monotonic() - t0, 1)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
