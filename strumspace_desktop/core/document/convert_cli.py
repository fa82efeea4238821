"""`strumspace convert IN OUT`: MIDI file to project folder and back (no Qt).

IN and OUT are each a Standard MIDI File (.mid, .midi, .smf, .kar) or a
project folder. Everything is read and converted in memory first, so a bad
input changes nothing on disk; OUT is written atomically and never replaced
unless --force is given.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from .project_files import (
    MANIFEST_FILE,
    ProjectError,
    atomic_write,
    new_project,
    open_project,
    save_project_as,
)
from .smf import MidiFileError, export_midi, import_midi

MIDI_SUFFIXES = {".mid", ".midi", ".smf", ".kar"}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "convert",
        help="convert a MIDI file to a project folder, or a project to a MIDI file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, metavar="IN", help="a .mid file or a project folder")
    p.add_argument("output", type=Path, metavar="OUT", help="a .mid file or a project folder")
    p.add_argument(
        "--type",
        type=int,
        choices=(0, 1),
        default=1,
        dest="midi_type",
        help="MIDI file type to write (default 1)",
    )
    p.add_argument("--drop-sysex", action="store_true", help="do not keep SysEx messages")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.set_defaults(func=run)
    return p


def _is_midi(path: Path) -> bool:
    return path.suffix.lower() in MIDI_SUFFIXES


def run(args: argparse.Namespace) -> int:
    src: Path = args.input
    dst: Path = args.output
    say = (lambda *_: None) if args.quiet else (lambda msg: print(msg))
    try:
        if not src.exists():
            raise ProjectError(f"{src} does not exist")
        if dst.exists() and not args.force:
            raise ProjectError(f"{dst} exists (use --force to replace it)")
        if src.resolve() == dst.resolve():
            raise ProjectError("IN and OUT are the same")
        # 1. Read IN into a document (nothing written yet).
        if _is_midi(src) and src.is_file():
            document, report = import_midi(src, keep_sysex=not args.drop_sysex)
            say(
                f"read {src}: type {report.midi_type}, {report.tracks} tracks, {report.notes} notes"
            )
            for line in report.summary():
                say(f"  note: {line}")
        elif src.is_dir() and (src / MANIFEST_FILE).exists():
            project = open_project(src)
            document = project.document
            for line in project.messages:
                say(f"  note: {line}")
            say(f"read project {src}: {len(document.tracks())} tracks")
        else:
            raise ProjectError(f"{src} is neither a MIDI file nor a StrumSpace project folder")
        # 2. Write OUT.
        if _is_midi(dst):
            data, ereport = export_midi(document, midi_type=args.midi_type)
            atomic_write(dst, data)
            say(
                f"wrote {dst}: type {ereport.midi_type}, "
                f"{ereport.tracks} tracks, {ereport.notes} notes"
            )
            for line in ereport.warnings:
                say(f"  note: {line}")
        else:
            if src.is_dir():
                raise ProjectError("project to project: use the app's Save As")
            _write_project_folder(document, dst, force=args.force)
            say(f"wrote project {dst}")
    except (ProjectError, MidiFileError, OSError) as exc:
        print(f"strumspace convert: {exc}", file=sys.stderr)
        return 1
    return 0


def _write_project_folder(document: Any, dst: Path, *, force: bool) -> None:
    """Build the project in a sibling folder, then move it into place."""
    staging = dst.with_name(f".{dst.name}.converting")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        project = new_project(staging / "audio")
        project.document = document
        save_project_as(project, staging)
        if dst.exists() and force:
            if not (dst / MANIFEST_FILE).exists() and not _is_midi(dst):
                raise ProjectError(f"refusing to replace {dst}: it is not a StrumSpace project")
            shutil.rmtree(dst)
        staging.rename(dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
