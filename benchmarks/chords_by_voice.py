"""What a sung tune costs the chord model, clip by clip: by voice, by level, by register,
and with the held-out singers swapped for the training singers of their register.

`python -m benchmarks.chords_by_voice [--quick] [--sets valid_voice,unseen_voice]
[--model PATH] [--no-swap]` reads every clip of each voice set (models.chords.manifest
.VOICE_EVAL_SETS) and of its clean source set through `runtime.analyze_file` (default
options; `--model` an ONNX graph, default the shipped one) and scores them with the
benchmark's rules. Unless `--no-swap`, each set is also rendered once more with alto
sung by a soprano and bass by a tenor (the training voices; the same clips, tunes,
vibrato and levels) into build/chords/SET_trainvoices/, which tells a singer the model
has not heard from a register it cannot set aside. Groups: `kind:alto`, `level:+2`,
`register:low`, `all`, each with `clean`, `voice` and (swapped) `training_voice`
scores. `--quick`: 8 clips per set (the benchmark's quick choice). Prints a line per
group and a JSON object as its last line.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.chords_scoring import Segments, read_lab, score_set
from benchmarks.chords_sets import (
    MANIFESTS,
    RENDERED,
    SetError,
    load_set,
    quick_indices,
    render,
)
from models.chords.synth_voice import OCTAVE_DOWN

# The training voice that sings in each held-out voice's register (synth_voice.py).
TRAINING_TWIN = {"alto": "soprano", "bass": "tenor"}


def swapped_manifest(manifest: dict[str, Any], swap: dict[str, str] = TRAINING_TWIN
                     ) -> dict[str, Any]:
    """``manifest`` with every clip's voice kind replaced through ``swap``; nothing else
    changes (clip ids, seeds, tunes, vibrato and levels), so the clips pair up."""
    out = copy.deepcopy(manifest)
    out["set"] = f"{manifest['set']}_trainvoices"
    for clip in out["clips"]:
        kind = clip["voice"]["kind"]
        if kind not in swap:
            raise ValueError(f"{clip['id']}: no training twin for voice {kind!r}")
        clip["voice"]["kind"] = swap[kind]
    return out


def groups_of(voice: dict[str, Any]) -> list[str]:
    """The groups one clip counts in."""
    register = "low" if voice["kind"] in OCTAVE_DOWN else "high"
    return [f"kind:{voice['kind']}", f"level:{voice['level_db']:+.0f}",
            f"register:{register}", "all"]


def render_swapped(name: str) -> Path:
    """Render ``name``'s swapped twin into build/chords/NAME_trainvoices (once)."""
    manifest = json.loads((MANIFESTS / f"{name}.json").read_text())
    swapped = swapped_manifest(manifest)
    out = RENDERED / swapped["set"]
    audio = [out / "audio" / f"{c['id']}.flac" for c in swapped["clips"]]
    if all(a.exists() for a in audio):
        return out
    out.mkdir(parents=True, exist_ok=True)
    path = out / "manifest.json"
    path.write_text(json.dumps(swapped, indent=1))
    render(swapped["set"], out, manifest=path)
    if not all(a.exists() for a in audio):
        raise SetError(f"the {swapped['set']} set still lacks clips after rendering")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 clips per set")
    ap.add_argument("--sets", default="valid_voice,unseen_voice")
    ap.add_argument("--model", default=None, help="an ONNX graph (default: the shipped one)")
    ap.add_argument("--no-swap", action="store_true",
                    help="skip the twin sets sung by the training voices")
    args = ap.parse_args(argv)

    from models.chords import runtime
    from models.chords.manifest import VOICE_EVAL_SETS

    def estimate(audio: Path) -> Segments:
        analysis = runtime.analyze_file(audio, threads=1, model=args.model)
        return [(s.start, s.end, s.label) for s in analysis.segments]

    result: dict[str, Any] = {}
    for name in args.sets.split(","):
        if name not in VOICE_EVAL_SETS:
            raise SystemExit(f"{name!r} is not a voice set (choose from "
                             f"{', '.join(VOICE_EVAL_SETS)})")
        entries = json.loads((MANIFESTS / f"{name}.json").read_text())["clips"]
        sung = load_set(name, quick=args.quick)
        clean = load_set(VOICE_EVAL_SETS[name], quick=args.quick)
        if args.quick:  # the same indices load_set took
            entries = [entries[i] for i in quick_indices(len(entries))]
        twin = None if args.no_swap else render_swapped(name)
        pairs: dict[str, dict[str, list[tuple[Segments, Segments]]]] = defaultdict(
            lambda: defaultdict(list))
        for entry, s_clip, c_clip in zip(entries, sung, clean, strict=True):
            if s_clip.id != entry["id"]:
                raise SetError(f"{name}: clip {s_clip.id} is not the manifest's {entry['id']}")
            ref = read_lab(c_clip.lab)
            versions = {"clean": c_clip.audio, "voice": s_clip.audio}
            if twin is not None:
                versions["training_voice"] = twin / "audio" / f"{s_clip.id}.flac"
            for version, audio in versions.items():
                est = estimate(audio)
                for group in groups_of(entry["voice"]):
                    pairs[group][version].append((ref, est))
        result[name] = {}
        for group in sorted(pairs):
            scores: dict[str, Any] = {"clips": len(pairs[group]["clean"])}
            cells = []
            for version, version_pairs in pairs[group].items():
                got = score_set(version_pairs)
                scores[version] = {k: None if got[k] is None else round(float(got[k] or 0), 4)
                                   for k in ("root", "majmin", "sevenths")}
                cells.append(f"{version} {got['majmin'] or 0:.3f}/{got['sevenths'] or 0:.3f}")
            result[name][group] = scores
            print(f"{name} {group:14s} ({scores['clips']} clips) {'  '.join(cells)}",
                  flush=True)
    print(json.dumps({"sets": result, "model": args.model or "shipped", "quick": args.quick,
                      "metrics": "majmin/sevenths per version"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
