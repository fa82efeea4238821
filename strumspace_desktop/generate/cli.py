"""`strumspace generate`: melodies, continuations, harmonizations and chord
progressions from the command line (no Qt), e.g.

    strumspace generate --task continue --input tune.mid --bars 8 -o more.mid
    strumspace generate --task melody --chords "C G Am F" --key C --variations 3 -o out.mid
    strumspace generate --task harmonize --input tune.mid -o harmonized.mid
    strumspace generate --task chords --key "D minor" --meter 3/4 --bars 8 -o prog.mid
    strumspace generate --task next-chord --chords "C G Am" --key C

Several variations go to out.mid, out-2.mid, out-3.mid ... (or into a folder when -o
names one). next-chord prints JSON, [{"label": "F", "probability": 0.41}, ...], to
stdout or writes it to -o FILE.json. Nothing else goes to stdout; notes and errors go
to stderr. Exit status: 0 done, 1 the model failed (missing or damaged model file,
...), 2 bad input (arguments, input file, prompt), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .jobs import DEVICES

TASKS = ("continue", "melody", "harmonize", "chords", "next-chord")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
# Ranges for the help text; the task layer's LIMITS are what is checked.
_RANGES = {"bars": "1 to 64", "temperature": "0 to 2", "top_p": "0.05 to 1",
           "variations": "1 to 16", "density": "0.25 to 4"}
_OPTION = {"bars": "--bars", "temperature": "--temperature", "top_p": "--top-p",
           "variations": "--variations", "density": "--density"}


class BadInput(Exception):
    """Something the user can fix in the arguments or the input file (exit 2)."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "generate",
        help="write melodies and chord progressions with the AI model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--input", type=Path, metavar="FILE.mid",
                   help="the prompt: a MIDI file (its top line is the melody; chord symbols "
                        "in its markers are its chords)")
    p.add_argument("--chords", metavar='"C G Am F"',
                   help="chords, one per bar (\"|\" separates bars with several): the "
                        "progression for melody, the history for next-chord, the start for "
                        "chords")
    p.add_argument("--key", metavar='"D minor"',
                   help="key, e.g. C, Am, \"F# minor\" (default: the input's, else estimated)")
    p.add_argument("--meter", metavar="3/4",
                   help="time signature (default: the input's, else 4/4)")
    p.add_argument("--bars", type=int, default=None,
                   help=f"bars to write, {_RANGES['bars']} (default: 8 for continue and "
                        "chords, the length of the chords or melody otherwise)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help=f"{_RANGES['temperature']}: higher is more adventurous, 0 always "
                        "takes the likeliest (default 1)")
    p.add_argument("--top-p", type=float, default=0.95, dest="top_p",
                   help=f"nucleus sampling, {_RANGES['top_p']} (default 0.95)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed, for repeatable results (default: a new one each run, "
                        "printed to stderr)")
    p.add_argument("--variations", type=int, default=None,
                   help=f"how many different results, {_RANGES['variations']} (default 1); "
                        "next-chord: how many suggestions (default 5)")
    p.add_argument("--density", type=float, default=1.0,
                   help=f"note density, {_RANGES['density']}: above 1 more and shorter notes "
                        "(default 1)")
    p.add_argument("--keep-in-key", action="store_true",
                   help="only notes and chords of the key")
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="auto: the GPU when there is one, else the CPU (default)")
    p.add_argument("--model-dir", type=Path, default=None,
                   help="folder with gen.onnx, gen_fp16.pt and gen.json (default: the "
                        "installed model)")
    p.add_argument("--tempo", type=float, default=None,
                   help="BPM written to the MIDI file (default: the input's, else 120)")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="out.mid (variations: out-2.mid, ...) or a folder; next-chord: "
                        "FILE.json (default: stdout)")
    p.add_argument("--force", action="store_true", help="replace output files that exist")
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    say: Callable[[str], None] = (
        (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr)))
    loaded = None
    try:
        if args.variations is None:
            args.variations = 5 if args.task == "next-chord" else 1
        outputs = _plan_outputs(args)
        request, tempo = _build_request(args, say)
        from . import jobs

        started = time.perf_counter()
        loaded = jobs.load(args.device, args.model_dir, threads=1)
        for message in loaded.notices:
            say(f"note: {message}")
        messages: list[str] = []
        pieces, suggestions = jobs.run(request, loaded.backend, messages=messages)
        for message in [*messages, *loaded.new_warnings()]:
            say(f"note: {message}")
        seconds = time.perf_counter() - started
    except BadInput as exc:
        print(f"strumspace generate: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("strumspace generate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        from . import jobs

        reason, message = jobs.classify(exc)
        print(f"strumspace generate: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT if reason == "input" else EXIT_FAILED
    try:
        if args.task == "next-chord":
            _write_suggestions(suggestions, args.output)
        else:
            _write_pieces(pieces, outputs, tempo, say)
    except OSError as exc:
        print(f"strumspace generate: cannot write the result: {exc}", file=sys.stderr)
        return EXIT_FAILED
    say(f"done in {seconds:.2f} s on {loaded.name}")
    return EXIT_OK


# ----- arguments --------------------------------------------------------------------------

def _check_limits(args: argparse.Namespace) -> None:
    """Out-of-range settings are refused here (a script should hear about them), where
    the app's panel lets the task layer clamp them."""
    from models.generation.tasks import LIMITS

    for name, (lo, hi) in LIMITS.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if value != value or not lo <= value <= hi:  # value != value: NaN
            raise BadInput(f"{_OPTION[name]} must be between {lo:g} and {hi:g}, got {value:g}")
    if args.seed is not None and args.seed < 0:
        raise BadInput(f"--seed must be 0 or more, got {args.seed}")
    if args.tempo is not None and not 20.0 <= args.tempo <= 300.0:
        raise BadInput(f"--tempo must be between 20 and 300 BPM, got {args.tempo:g}")
    if args.model_dir is not None and not args.model_dir.is_dir():
        raise BadInput(f"--model-dir {args.model_dir} is not a folder")


def _plan_outputs(args: argparse.Namespace) -> list[Path]:
    """The files to write, checked before any work is done."""
    out: Path | None = args.output
    if args.task == "next-chord":
        if out is not None and out.exists() and not args.force:
            raise BadInput(f"{out} exists (use --force to replace it)")
        return [] if out is None else [out]
    if out is None:
        raise BadInput("-o OUT.mid (or a folder) is required for this task")
    n = max(int(args.variations), 1)
    if out.is_dir() or str(args.output).endswith(("/", "\\")):
        paths = [out / f"{args.task}-{i + 1}.mid" for i in range(n)]
    else:
        if out.suffix.lower() not in (".mid", ".midi"):
            raise BadInput(f"{out}: the output must be a .mid file or a folder")
        paths = [out] + [out.with_name(f"{out.stem}-{i + 1}{out.suffix}") for i in range(1, n)]
    if not args.force:
        taken = [p for p in paths if p.exists()]
        if taken:
            raise BadInput(f"{taken[0]} exists (use --force to replace it)")
    return paths


def _parse_meter(text: str) -> tuple[int, int]:
    from models.generation import tokens

    try:
        num, den = (int(v) for v in text.strip().split("/"))
    except ValueError as exc:
        raise BadInput(f"--meter {text!r} is not a time signature (write e.g. 3/4)") from exc
    if (num, den) not in tokens.TIME_SIGNATURES:
        raise BadInput(f"--meter {num}/{den} is not supported (numerator 1 to 16 over 1, 2, "
                       "4, 8 or 16, at most four whole notes a bar)")
    return num, den


def _build_request(args: argparse.Namespace, say: Callable[[str], None]) -> tuple[Any, float]:
    """The task layer's request from the arguments, and the tempo for the MIDI file."""
    _check_limits(args)
    from models.generation import midi_io, tasks

    meter = _parse_meter(args.meter) if args.meter else None
    prompt = None
    tempo = args.tempo
    if args.input is not None:
        try:
            loaded = midi_io.load_midi(args.input)
        except midi_io.MidiFileError as exc:
            raise BadInput(str(exc)) from exc
        prompt = loaded.piece
        tempo = tempo or loaded.tempo_bpm
        for message in loaded.messages:
            say(f"note: {args.input}: {message}")
    if args.key is not None:
        try:
            tasks.parse_key(args.key)
        except tasks.GenerationError as exc:
            raise BadInput(f"--key: {exc}") from exc
    if args.chords is not None:
        try:
            if not len(midi_io.parse_chords(args.chords, meter or (4, 4))):
                raise BadInput("--chords holds no chords (only N)")
        except midi_io.ChordParseError as exc:
            raise BadInput(f"--chords: {exc}") from exc
    _require(args, prompt)
    seed = args.seed
    if seed is None:
        seed = random.randrange(1 << 31)
        if args.task != "next-chord":  # suggestions are not sampled
            say(f"note: seed {seed} (--seed {seed} repeats this run)")
    request = tasks.GenerationRequest(
        task=args.task, prompt=prompt, chords=args.chords, key=args.key, time_signature=meter,
        bars=args.bars, temperature=args.temperature, top_p=args.top_p, seed=seed,
        variations=args.variations, density=args.density, keep_in_key=args.keep_in_key)
    return request, float(tempo or 120.0)


def _require(args: argparse.Namespace, prompt: Any) -> None:
    """What each task needs, said before the model loads."""
    notes = prompt is not None and len(prompt.notes) > 0
    chords = args.chords is not None or (prompt is not None and len(prompt.chords) > 0)
    if args.task in ("continue", "harmonize"):
        if args.input is None:
            raise BadInput(f"--task {args.task} needs --input FILE.mid (a melody)")
        if not notes:
            raise BadInput(f"{args.input} has no notes to {args.task} (the prompt is empty)")
    if args.task == "melody" and not chords:
        raise BadInput("--task melody needs chords: --chords \"C G Am F\" or an --input "
                       "file with chord markers")


# ----- results ------------------------------------------------------------------------------

def _write_pieces(pieces: list[Any], paths: list[Path], tempo: float,
                  say: Callable[[str], None]) -> None:
    from models.generation import midi_io

    if not pieces:
        raise OSError("the model returned nothing")
    for piece, path in zip(pieces, paths, strict=False):
        path.parent.mkdir(parents=True, exist_ok=True)
        midi_io.write_midi(piece, path, tempo_bpm=tempo)
        say(f"wrote {path}: {len(piece.bars)} bars, {len(piece.notes)} notes, "
            f"{len(piece.chords)} chords")


def _write_suggestions(suggestions: list[tuple[str, float]], path: Path | None) -> None:
    text = json.dumps([{"label": label, "probability": round(float(p), 6)}
                       for label, p in suggestions])
    if path is None:
        print(text)
        return
    from strumspace_desktop.core.document.project_files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (text + "\n").encode())
