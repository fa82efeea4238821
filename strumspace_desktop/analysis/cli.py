"""`strumspace analyze FILE...`: chords of audio files as .lab, JSON or a chord chart.

With one file and no -o the result goes to standard output, so
`strumspace analyze song.wav --format lab` prints a .lab. With -o and one file, OUT
is the output file (or an existing folder to write into); with several files, -o
names a folder (created if needed) that gets one output per input, named after it
with the format's extension. A file that cannot be analysed is reported on standard
error and the others are still done; the exit code is then 1. Progress goes to
standard error, and only when that is a terminal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

FORMATS = ("lab", "json", "chart")
EXTENSIONS = {"lab": ".lab", "json": ".json", "chart": ".txt"}
_BY_SUFFIX = {".lab": "lab", ".json": "json", ".txt": "chart"}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "analyze",
        help="recognise the chords, key and tempo of audio files",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio files")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="lab (MIREX: start, end, Harte label), json (with key, tempo and "
                        "beats) or chart (chords by bars); default lab, or the one -o's "
                        "extension names")
    p.add_argument("-o", "--output", type=Path, metavar="OUT",
                   help="output file (one input) or folder (several inputs)")
    p.add_argument("--beat-sync", action="store_true",
                   help="snap chord changes to the beats librosa's beat tracker finds")
    chart = p.add_argument_group("chord charts (--format chart)")
    chart.add_argument("--notation", choices=("simple", "standard", "jazz"),
                       default="standard",
                       help="chord names: simple (C, Am: triads), standard (Cmaj7, Am7, "
                            "Bm7b5) or jazz (C△7, A−7, Bø7); default standard")
    chart.add_argument("--capo", type=_capo, default=0, metavar="FRET|auto",
                       help="name the shapes to finger with a capo on this fret (0 to 11), "
                            "or on the fret that leaves the most open shapes (auto)")
    p.set_defaults(func=run)
    return p


class _Progress:
    """A one-line progress display on standard error (terminals only)."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.shown = -1
        self.enabled = stream.isatty()

    def __call__(self, fraction: float) -> None:
        pct = int(max(0.0, min(1.0, fraction)) * 100)
        if self.enabled and pct != self.shown:
            self.shown = pct
            self.stream.write(f"\r{self.name}: {pct:3d} %")
            self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.shown >= 0:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _capo(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        fret = int(text)
    except ValueError:
        fret = -1
    if not 0 <= fret <= 11:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fret from 0 to 11, or auto")
    return fret


def render(analysis: Any, fmt: str, notation: str = "standard", capo: int | str = 0) -> str:
    """The text of an analysis in one of FORMATS (the runtime's writers); a chart in
    `notation`, with the shapes under `capo` ("auto": `formats.best_capo`)."""
    from models.chords import formats

    if fmt != "chart":
        text = formats.render(analysis, fmt)
    else:
        if capo == "auto":
            capo = formats.best_capo((s.label, s.end - s.start) for s in analysis.segments)
        text = formats.render(analysis, fmt, style=notation, capo=capo)
    return text if text.endswith("\n") else text + "\n"


def _atomic_write(path: Path, text: str) -> None:
    # The project writer's: readers see the old file or the new one, and the new one
    # gets the usual permissions (umask), not a temporary file's private 0600.
    from strumspace_desktop.core.document.project_files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"))


def _targets(files: list[Path], output: Path | None, ext: str) -> list[Path | None]:
    """Where each input's result goes (None: standard output)."""
    if output is None:
        return [None]
    if len(files) == 1 and not output.is_dir():
        return [output]
    names: set[str] = set()
    out: list[Path | None] = []
    for f in files:
        stem, n = f.stem, 1
        while (name := f"{stem}{ext}" if n == 1 else f"{stem}-{n}{ext}") in names:
            n += 1
        names.add(name)
        out.append(output / name)
    return out


def run(args: argparse.Namespace) -> int:
    files: list[Path] = list(args.files)
    output: Path | None = args.output
    fmt: str | None = args.format
    err = sys.stderr
    if len(files) > 1 and output is None:
        print("strumspace analyze: with several files, -o must name a folder for the results",
              file=err)
        return 2
    if fmt is None:
        single_file = output is not None and len(files) == 1 and not output.is_dir()
        fmt = _BY_SUFFIX.get(output.suffix.lower(), "lab") if single_file and output else "lab"
    if fmt != "chart" and (args.capo != 0 or args.notation != "standard"):
        print("strumspace analyze: --notation and --capo are for chord charts "
              "(--format chart)", file=err)
        return 2
    targets = _targets(files, output, EXTENSIONS[fmt])
    if output is not None and len(files) > 1:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"strumspace analyze: cannot create the folder {output}: {exc}", file=err)
            return 1
    try:
        from models.chords.runtime import AnalysisError, analyze_file
    except ImportError as exc:  # an install without the model runtime
        print(f"strumspace analyze: the chord model is not installed ({exc})", file=err)
        return 1
    failed = 0
    for path, target in zip(files, targets, strict=True):
        progress = _Progress(err, path.name)
        try:
            analysis = analyze_file(path, beat_sync=args.beat_sync, progress=progress)
            text = render(analysis, fmt, args.notation, args.capo)
        except AnalysisError as exc:  # its message names the file
            progress.done()
            print(f"strumspace analyze: {exc}", file=err)
            failed += 1
            continue
        except (OSError, ValueError, RuntimeError) as exc:
            progress.done()
            print(f"strumspace analyze: {path}: could not be analysed: {exc}", file=err)
            failed += 1
            continue
        progress.done()
        try:
            if target is None:
                sys.stdout.write(text)
                sys.stdout.flush()
            else:
                _atomic_write(target, text)
        except OSError as exc:
            print(f"strumspace analyze: {path}: cannot write {target}: {exc}", file=err)
            failed += 1
    return 1 if failed else 0
