"""Project document benchmark: python -m benchmarks.project [--quick]

Builds a 100-track song (90 MIDI tracks holding 50,000 notes, 10 audio tracks whose
regions reference one hour of real FLAC audio), saves it, opens it, compiles it for
playback and times one-note edits. The last line printed is a JSON object.

Targets (issue): open < 1 s, save < 0.5 s, full compile < 0.2 s, one-note edit's
recompile < 5 ms. Timings are medians of several runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from strumspace_desktop.core.document import Document, Instrument, Note
from strumspace_desktop.core.document.compile import PlaybackCompiler
from strumspace_desktop.core.document.project_files import (
    Project,
    import_audio,
    new_project,
    open_project,
    save_project,
    save_project_as,
)
from strumspace_desktop.core.timing import PPQ

SAMPLE_RATE = 48000
BAR = 4 * PPQ


def _median_time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _write_blob(path: Path, seconds: int, seed: int) -> None:
    """Real FLAC audio: sparse clicks over silence (quick to encode, small on disk)."""
    frames = SAMPLE_RATE * seconds
    with sf.SoundFile(str(path), "w", SAMPLE_RATE, 2, "PCM_16", format="FLAC") as f:
        block = np.zeros((SAMPLE_RATE * 10, 2), dtype=np.int16)
        block[seed % 4800 :: 4800, :] = 1000
        for _ in range(frames // len(block)):
            f.write(block)


def build(
    root: Path, midi_tracks: int, notes: int, audio_tracks: int, audio_minutes: int
) -> tuple[Project, float, float]:
    rng = random.Random(7)
    project = new_project(root / "scratch-audio", "Benchmark")
    doc = project.document
    # Audio first: blobs of 5 minutes (or less), each region one minute of one of them.
    t0 = time.perf_counter()
    blob_minutes = min(5, audio_minutes)
    blobs = []
    for i in range(max(1, audio_minutes // blob_minutes)):
        src = root / f"take{i}.flac"
        _write_blob(src, blob_minutes * 60, i)
        blobs.append(import_audio(project, src))
    audio_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    per_track = notes // midi_tracks
    extra = notes - per_track * midi_tracks
    clips_per_track = 5
    for t in range(midi_tracks):
        with doc.transaction():
            tid = doc.add_track(
                "midi", f"Track {t + 1}", instrument=Instrument(program=t % 128, channel=t % 16)
            )
            count = per_track + (1 if t < extra else 0)
            for c in range(clips_per_track):
                n = count // clips_per_track + (1 if c < count % clips_per_track else 0)
                cid = doc.add_midi_clip(tid, c * 8 * BAR, 8 * BAR, f"Clip {c + 1}")
                doc.add_notes(
                    cid,
                    [
                        Note(
                            rng.randrange(36, 96),
                            rng.randrange(0, 8 * BAR - PPQ),
                            rng.choice((120, 240, 480, 960)),
                            rng.randrange(40, 127),
                            t % 16,
                        )
                        for _ in range(n)
                    ],
                )
    minutes_left = audio_minutes
    region_frames = SAMPLE_RATE * 60
    region_ticks = 120 * PPQ  # one minute at 120 bpm
    for a in range(audio_tracks):
        with doc.transaction():
            tid = doc.add_track("audio", f"Audio {a + 1}")
            share = minutes_left // (audio_tracks - a)
            minutes_left -= share
            for r in range(share):
                blob = blobs[(a * 7 + r) % len(blobs)]
                offset = (r % blob_minutes) * region_frames
                doc.add_audio_region(
                    tid, blob.sha256, r * region_ticks, region_ticks, offset=offset, fade_in=480
                )
    doc.set_tempo(32 * BAR, 100.0)
    doc.set_time_signature(16 * BAR, 3, 4)
    doc.set_loop(start=0, end=8 * BAR, enabled=True)
    create_s = time.perf_counter() - t0
    return project, create_s, audio_s


def run(quick: bool) -> dict[str, object]:
    midi_tracks, notes, audio_tracks, audio_minutes = (
        (9, 5000, 1, 6) if quick else (90, 50_000, 10, 60)
    )
    runs = 3 if quick else 5
    with tempfile.TemporaryDirectory(prefix="strumspace-bench-") as tmp:
        root = Path(tmp)
        project, create_s, audio_s = build(root, midi_tracks, notes, audio_tracks, audio_minutes)
        doc = project.document
        assert doc.note_count() == notes
        path = root / "Benchmark.strumspace"
        t0 = time.perf_counter()
        save_project_as(project, path)  # copies the audio too
        first_save_s = time.perf_counter() - t0

        clips = [c for c in doc.clips() if c.__class__.__name__ == "MidiClip"]
        edit_clip = clips[len(clips) // 2].id
        edit_note = next(iter(doc.notes(edit_clip)))

        def edit_and_save() -> None:
            doc.update_note(edit_clip, edit_note, velocity=random.randrange(1, 128))
            save_project(project)

        save_s = _median_time(edit_and_save, runs)
        document_bytes = (path / "document.ystate").stat().st_size

        opened: list[Project] = []  # keeps only the latest, so RSS counts one open copy
        open_s = _median_time(lambda: opened.__setitem__(slice(None), [open_project(path)]), runs)
        reopened = opened[-1]
        assert reopened.document.note_count() == notes and not reopened.offline_blobs
        odoc: Document = reopened.document

        def full_compile() -> None:
            c = PlaybackCompiler(odoc, SAMPLE_RATE, reopened.offline_blobs)
            c.compile()
            c.close()

        compile_s = _median_time(full_compile, runs)
        compiler = PlaybackCompiler(odoc, SAMPLE_RATE, reopened.offline_blobs)
        song = compiler.compile()
        events = sum(len(t.events) for t in song.tracks.values())
        regions = sum(len(t.regions) for t in song.tracks.values())

        # One-note edits at random places: the edit, then the recompile the engine needs.
        rng = random.Random(3)
        oclips = [c.id for c in odoc.clips() if c.__class__.__name__ == "MidiClip"]
        edit_ms, recompile_ms = [], []
        for _ in range(30 if quick else 100):
            cid = rng.choice(oclips)
            nid = rng.choice(list(odoc.notes(cid)))
            t0 = time.perf_counter()
            odoc.update_note(cid, nid, pitch=rng.randrange(0, 128))
            t1 = time.perf_counter()
            changed = compiler.update()
            t2 = time.perf_counter()
            assert len(changed.changed) == 1
            edit_ms.append((t1 - t0) * 1000)
            recompile_ms.append((t2 - t1) * 1000)
        undo_t0 = time.perf_counter()
        while odoc.undo():
            pass
        undo_all_s = time.perf_counter() - undo_t0
        compiler.close()

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "benchmark": "project",
        "quick": quick,
        "tracks": midi_tracks + audio_tracks,
        "notes": notes,
        "audio_minutes": audio_minutes,
        "compiled_events": events,
        "compiled_regions": regions,
        "document_bytes": document_bytes,
        "audio_encode_s": round(audio_s, 3),
        "create_s": round(create_s, 3),
        "first_save_s": round(first_save_s, 3),
        "save_s": round(save_s, 4),
        "open_s": round(open_s, 4),
        "compile_s": round(compile_s, 4),
        "edit_ms": round(statistics.median(edit_ms), 3),
        "edit_recompile_ms": round(statistics.median(recompile_ms), 3),
        "edit_recompile_p95_ms": round(float(np.percentile(recompile_ms, 95)), 3),
        "undo_all_s": round(undo_all_s, 3),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "targets_met": bool(
            open_s < 1.0
            and save_s < 0.5
            and compile_s < 0.2
            and statistics.median(recompile_ms) < 5.0
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the size (smoke test)")
    args = parser.parse_args(argv)
    result = run(args.quick)
    for key in ("create_s", "save_s", "open_s", "compile_s", "edit_recompile_ms", "peak_rss_mb"):
        print(f"{key:>20}: {result[key]}", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
