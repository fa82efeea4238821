"""Offline mixdown speed: python -m benchmarks.mixdown_song [--quick]

Builds a realistic song: 20 tracks for 3 minutes at 120 bpm (15 MIDI tracks on
distinct channels, drums on channel 10, with thousands of notes; 5 audio tracks
whose regions play audio rendered from a MIDI part by the same engine), with a
reverb, delay, chorus, compressor and EQ on every track and the master limiter
on. Then it renders the mixdown with audio.offline_render and reports how many
seconds of audio one wall-clock second renders (`mixdown_xrt`), with the load of
the machine before the render and the cores the render kept busy (process CPU time
over wall time): on a shared machine read the speed next to them. The last line
printed is a JSON object; `benchmarks.editing` imports `measure_mixdown`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from strumspace_desktop.audio.offline_render import RenderOptions, render_mixdown
from strumspace_desktop.core.document import Document, Instrument, Note
from strumspace_desktop.core.document.project_files import Project, import_audio, new_project
from strumspace_desktop.core.timing import PPQ

BPM = 120.0
DRUMS = 9
# (program, lowest pitch, note length in ticks, notes per beat) for the melodic tracks.
_PARTS = [(0, 60, 400, 2), (33, 36, 900, 1), (48, 55, 1800, 0.5), (24, 52, 220, 4),
          (40, 67, 450, 2), (56, 60, 900, 1), (73, 72, 220, 2), (4, 48, 1800, 0.5),
          (81, 64, 220, 4), (11, 72, 400, 2), (19, 48, 3600, 0.25), (65, 62, 450, 2),
          (88, 55, 3600, 0.25), (105, 60, 220, 2)]
EFFECTS: list[tuple[str, dict[str, float]]] = [
    ("eq", {"low_gain_db": 2.0, "mid_gain_db": -3.0, "high_gain_db": 1.5}),
    ("compressor", {"threshold_db": -18.0, "ratio": 3.0}),
    ("chorus", {"mix": 0.2}),
    ("delay", {"delay_seconds": 0.375, "feedback": 0.25, "mix": 0.15}),
    ("reverb", {"room_size": 0.5, "wet_level": 0.2}),
]


def _midi_part(doc: Document, name: str, program: int, channel: int, low: int,
               length: int, per_beat: float, beats: int, rng: random.Random,
               bank: int = 0) -> str:
    track = doc.add_track("midi", name, instrument=Instrument(program, bank, channel))
    clip = doc.add_midi_clip(track, 0, beats * PPQ)
    step = int(PPQ / per_beat)
    scale = (0, 2, 4, 5, 7, 9, 11, 12)
    notes = []
    for start in range(0, beats * PPQ - step + 1, step):
        pitch = low + scale[rng.randrange(len(scale))]
        notes.append(Note(pitch, start, min(length, beats * PPQ - start),
                          rng.randrange(70, 120), channel))
        if per_beat <= 0.5:  # pads and strings play chords
            notes.append(Note(pitch + 4, start, length, 80, channel))
            notes.append(Note(pitch + 7, start, length, 80, channel))
    doc.add_notes(clip, notes)
    return track


def _drums(doc: Document, beats: int) -> str:
    track = doc.add_track("midi", "Drums", instrument=Instrument(0, 128, DRUMS))
    clip = doc.add_midi_clip(track, 0, beats * PPQ)
    notes = []
    for b in range(beats):
        t = b * PPQ
        notes.append(Note(36 if b % 2 == 0 else 38, t, 120, 110, DRUMS))
        for k in range(4):
            notes.append(Note(42, t + k * PPQ // 4, 60, 70 + 10 * (k % 2), DRUMS))
    doc.add_notes(clip, notes)
    return track


def _rendered_loop(folder: Path, seed: int) -> Path:
    """Eight bars of a MIDI part, rendered by the engine: the audio tracks' material."""
    rng = random.Random(seed)
    doc = Document.new("loop", bpm=BPM)
    program, low, length, per_beat = _PARTS[seed % len(_PARTS)]
    _midi_part(doc, "loop", program, 0, low, length, per_beat, 32, rng)
    out = folder / f"loop{seed}.wav"
    render_mixdown(doc, out, RenderOptions(sample_rate=44100, subtype="PCM_24",
                                           tail_seconds=0.0))
    return out


def build_song(tracks: int = 20, minutes: float = 3.0, audio_tracks: int = 5,
               folder: Path | None = None, seed: int = 1) -> Project:
    """The benchmark song as a Project whose audio lives under `folder` (a new
    temporary folder when None)."""
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="mixdown-"))
    project = new_project(folder / "audio", "Mixdown benchmark")
    doc = project.document
    doc.set_tempo(0, BPM)
    beats = int(minutes * BPM)
    rng = random.Random(seed)
    midi_tracks = max(1, tracks - audio_tracks)
    ids = [_drums(doc, beats)]
    channels = [c for c in range(16) if c != DRUMS]
    for i in range(min(midi_tracks - 1, len(channels))):
        program, low, length, per_beat = _PARTS[i % len(_PARTS)]
        ids.append(_midi_part(doc, f"Part {i + 1}", program, channels[i], low, length,
                              per_beat, beats, rng))
    loop_beats = 32
    for i in range(tracks - len(ids)):
        blob = import_audio(project, _rendered_loop(folder, seed + i))
        track = doc.add_track("audio", f"Audio {i + 1}")
        for start in range(0, beats - loop_beats + 1, loop_beats):
            doc.add_audio_region(track, blob.sha256, start * PPQ, loop_beats * PPQ,
                                 gain_db=-6.0, fade_in=441, fade_out=4410)
        ids.append(track)
    for tid in ids:
        for kind, params in EFFECTS:
            doc.add_effect(tid, kind, params)
    return project


def measure_mixdown(quick: bool = False) -> dict[str, Any]:
    """Render the benchmark song (30 s of it when quick, else all 3 minutes)."""
    minutes = 0.5 if quick else 3.0
    with tempfile.TemporaryDirectory(prefix="mixdown-") as tmp:
        t0 = time.perf_counter()
        project = build_song(20, minutes, folder=Path(tmp))
        built = time.perf_counter() - t0
        options = RenderOptions(sample_rate=48000, format="wav", subtype="PCM_24",
                                tail_seconds=2.0)
        out = Path(tmp) / "mix.wav"
        load = os.getloadavg()[0]
        t1 = time.perf_counter()
        c1 = time.process_time()
        render_mixdown(project, out, options)
        wall = time.perf_counter() - t1
        cpu = time.process_time() - c1
        import soundfile as sf

        seconds = sf.info(str(out)).duration
    notes = sum(project.document.note_count(c.id) for c in project.document.clips()
                if not hasattr(c, "blob"))
    return {"mixdown_xrt": seconds / wall, "mixdown_wall_s": wall, "audio_s": seconds,
            "tracks": len(project.document.tracks()), "notes": notes,
            "effects_per_track": len(EFFECTS), "build_s": built, "quick": quick,
            "load_avg_1min": load, "cpu_cores_used": cpu / wall, "cores": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 s of the song")
    args = parser.parse_args()
    print(json.dumps(measure_mixdown(args.quick)))


if __name__ == "__main__":
    main()
