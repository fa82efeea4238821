"""Editing benchmark: python -m benchmarks.editing [--quick]

1. Redraw rate of the arrangement and the piano roll with 10,000 notes visible
   while the song plays: the real app (launched as `strumspace` launches it, on a
   private JACK dummy server started here) opens a song whose 32-bar clip holds
   10,000 notes, zooms both views so that the whole clip is on screen, starts the
   transport, and then repaints each view as fast as Qt allows for a few seconds
   while the engine plays and the status timer moves the playheads. Each repaint is
   complete (every lane, note and grid line; `repaint()` bypasses Qt's coalescing).
   The same views are timed with an empty song in the same run, for scale.
2. Mixdown speed of a 20-track, 3-minute song with effects on every track
   (benchmarks/mixdown_song.py): seconds of song rendered per wall-clock second,
   through the same engine graph as playback.

Targets (issue #4): 30 frames per second or more while playing, mixdown at least
10 times faster than real time. The last line printed is a JSON object with
`pianoroll_fps`, `arrangement_fps` and `mixdown_xrt`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.jack_server import JackServer
from strumspace_desktop.core.document import Document, Instrument, Note
from strumspace_desktop.core.document.project_files import create_project, save_project
from strumspace_desktop.core.timing import PPQ

NOTES = 10_000
BARS = 32
BAR = 4 * PPQ


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def dense_song(path: Path, notes: int) -> str:
    """A project whose one clip holds `notes` notes over BARS bars (chords of voices
    moving on a 1/32 grid over four octaves); returns the clip's id."""
    project = create_project(path, "Editing benchmark")
    doc: Document = project.document
    keys = doc.add_track("midi", "Keys", instrument=Instrument(program=0, channel=0))
    clip = doc.add_midi_clip(keys, 0, BARS * BAR, "Dense")
    step = BARS * BAR // (notes // 8)
    batch = []
    for i in range(notes):
        slot, voice = divmod(i, 8)
        pitch = 36 + (slot * 5 + voice * 7) % 48
        batch.append(Note(pitch, slot * step, max(30, step * 2), 40 + (i % 80), 0))
    doc.add_notes(clip, batch)
    save_project(project)
    return clip


def _repaint_rate(app: Any, widget: Any, seconds: float) -> float:
    """Complete repaints per second of `widget` while the app's event loop runs."""
    frames = 0
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        widget.repaint()
        app.processEvents()  # status polls, playhead moves, engine events
        frames += 1
    return frames / (time.perf_counter() - start)


def _fit_views(window: Any, clip_id: str) -> None:
    from strumspace_desktop.ui.arrange.model import LEFT_PAD

    canvas = window.arrange.canvas
    timeline = canvas.timeline
    want = (canvas.width() - LEFT_PAD - 10) / (BARS * BAR)
    timeline.zoom(want / timeline.px_per_tick, LEFT_PAD)
    canvas.update()
    roll = window.piano_roll
    vp = roll.viewport
    vp.zoom_x((vp.width - 4) / (BARS * BAR) / vp.px_per_tick, 0)
    vp.zoom_y(max(4.0, vp.height / 50) / vp.row_height, 0)
    vp.centre_on_pitch(60)


def measure_views(seconds: float) -> dict[str, Any]:
    from PySide6.QtCore import QTimer

    from strumspace_desktop.core.settings import AppSettings
    from strumspace_desktop.ui.app import launch

    results: dict[str, Any] = {}
    server = JackServer(f"strumspace-editing-{os.getpid()}", period=256).start()
    old_env = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            os.environ["STRUMSPACE_CONFIG_DIR"] = str(base / "config")
            settings = AppSettings()
            settings.audio.host_api = "JACK Audio Connection Kit"
            settings.audio.blocksize = 256
            settings.transport.metronome_on = False
            settings_path = base / "settings.json"
            settings.save(settings_path)
            clip_id = dense_song(base / "Dense.strumspace", NOTES)
            session = launch(settings_path)
            app, window = session.app, session.window
            window.resize(1600, 1000)
            window.show()
            for label, path in (("empty", None), ("dense", base / "Dense.strumspace")):
                if path is not None and not window.projects.open(path):
                    raise RuntimeError("the benchmark song did not open")
                if path is not None:
                    window.open_clip_in_piano_roll(clip_id)
                window.piano_roll_dock.show()
                for _ in range(20):
                    app.processEvents()
                    time.sleep(0.02)
                if path is not None:
                    _fit_views(window, clip_id)
                window.transport.toggle_play()
                QTimer.singleShot(0, lambda: None)
                for _ in range(10):
                    app.processEvents()
                    time.sleep(0.02)
                grid = window.piano_roll.grid
                arrangement = _repaint_rate(app, window.arrange.canvas, seconds)
                roll = _repaint_rate(app, grid, seconds)
                status = window.adapter.client.status() if window.adapter.client else None
                playing = bool(status and status.state != 0)
                results[label] = {"arrangement_fps": arrangement, "pianoroll_fps": roll,
                                  "notes_painted_pianoroll": int(grid.paint_count),
                                  "playing": playing}
                log(f"{label}: arrangement {arrangement:.1f} fps, piano roll {roll:.1f} fps, "
                    f"{grid.paint_count} notes painted, playing={playing}")
                window.transport.toggle_play()
                app.processEvents()
            window.close()
            session.shutdown()
    finally:
        server.stop()
        if old_env is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old_env
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about a minute)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    seconds = 3.0 if args.quick else 10.0
    views = measure_views(seconds)
    from benchmarks.mixdown_song import measure_mixdown

    mix = measure_mixdown(args.quick)
    dense = views["dense"]
    out = {
        "pianoroll_fps": round(dense["pianoroll_fps"], 1),
        "arrangement_fps": round(dense["arrangement_fps"], 1),
        "mixdown_xrt": round(float(mix["mixdown_xrt"]), 1),
        "notes_visible": NOTES,
        "notes_painted_pianoroll": dense["notes_painted_pianoroll"],
        "playing": dense["playing"],
        "empty_song": {k: round(v, 1) for k, v in views["empty"].items()
                       if k.endswith("_fps")},
        "fps_ratio_to_target": round(min(dense["pianoroll_fps"],
                                         dense["arrangement_fps"]) / 30.0, 2),
        "mixdown": mix,
        "quick": args.quick,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
