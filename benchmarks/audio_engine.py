"""Audio engine benchmark: xruns, callback time and MIDI-to-audio latency on JACK.

    python -m benchmarks.audio_engine [--quick] [--frames 64 128 256]

For each buffer size it starts a private JACK server (dummy driver, 48 kHz) and
alternates two kinds of phase, three of each (one with --quick):
- idle: a trivial sounddevice client that only writes zeros, alone;
- engine: the real app (main window, engine process) with 32 sounding synth voices
  and the metronome, while a 96,000-point pyqtgraph waveform redraws continuously
  in the UI process, and a separate JACK client process sends notes to the
  engine's MIDI input at random frames and records its output.
JACK xruns are server-wide and this shared machine causes some by itself, hence
the idle phases in the same run. The sustained voices and the metronome play at
about -70 dBFS (channel volume and click gain turned down: FluidSynth computes a
quiet voice exactly like a loud one), so that each probe note's onset can be found
as the first frame above -60 dBFS. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.jack_server import JackServer, jack_running

SERVER = "strumspace-bench"
RATE = 48000
PAD_CHANNEL = 5
PAD_PROGRAM = 19  # church organ: sustains for as long as the key is held
PAD_NOTES = list(range(36, 100, 2))  # 32 keys, one voice each in FluidR3's organ
PROBE_PROGRAM = 80  # square lead: its onset reaches -60 dBFS within a few frames


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_json(cmd: list[str], timeout: float) -> dict[str, Any]:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def idle_phase(seconds: float) -> float:
    res = run_json([sys.executable, "-m", "benchmarks.idle_client", "--seconds",
                    str(seconds)], timeout=seconds + 60)
    return float(res["xruns"]) / (seconds / 60.0)


class EnginePhase:
    """The real app with a waveform redrawing, measured over one phase."""

    def __init__(self, frames: int, config_dir: Path) -> None:
        from strumspace_desktop.core.settings import AppSettings

        settings = AppSettings()
        settings.audio.host_api = "JACK Audio Connection Kit"
        settings.audio.blocksize = frames
        self.settings_path = config_dir / "settings.json"
        settings.save(self.settings_path)

    def run(self, seconds: float) -> dict[str, Any]:
        import pyqtgraph as pg
        from PySide6.QtCore import QTimer

        from strumspace_desktop.ui.app import launch

        session = launch(self.settings_path)
        client = session.adapter.client
        if client is None or not session.adapter.stream_running:
            raise RuntimeError("the app did not open the JACK device")
        # The load: 32 voices held, the metronome ticking, the transport rolling.
        client.program(PAD_CHANNEL, 0, PAD_PROGRAM)
        client.channel_mix(PAD_CHANNEL, 1 / 127)  # about -80 dBFS
        client.control_change(PAD_CHANNEL, 91, 0)
        client.control_change(PAD_CHANNEL, 93, 0)
        for note in PAD_NOTES:
            client.note_on(PAD_CHANNEL, note, 100)
        client.program(0, 0, PROBE_PROGRAM)
        # No reverb or chorus tail: each probe note must start from silence.
        client.set_synth_effects(False, False)
        client.set_metronome(True, 0.0005)
        client.set_count_in(0)
        client.play()
        # The UI load: a 96,000-point waveform redrawn as fast as Qt allows.
        plot = pg.PlotWidget()
        curve = plot.plot(pen="c")
        wave = np.sin(np.linspace(0, 400 * np.pi, 96_000)).astype(np.float32)
        frames_drawn = [0]

        def redraw() -> None:
            wave[:] = np.roll(wave, 480)
            curve.setData(wave)
            frames_drawn[0] += 1

        plot.resize(1200, 300)
        plot.show()
        timer = QTimer()
        timer.timeout.connect(redraw)
        timer.start(0)
        session.app.processEvents()
        time.sleep(0.5)
        voices = client.status().voices
        x0 = client.status().xruns
        t0 = int(client.block.status[26])  # St.TIMING_INDEX
        probe = subprocess.Popen([sys.executable, "-m", "benchmarks.latency_probe",
                                  "--seconds", str(seconds)], stdout=subprocess.PIPE,
                                 text=True)
        start = time.monotonic()
        QTimer.singleShot(int(seconds * 1000), session.app.quit)
        session.app.exec()
        elapsed = time.monotonic() - start
        x1 = client.status().xruns
        loads = client.callback_loads()
        n = int(client.block.status[26]) - t0
        loads = loads[-n:] if n > 0 else loads[:0]
        out, _ = probe.communicate(timeout=seconds + 60)
        timer.stop()
        plot.close()
        session.window.close()
        session.shutdown()
        probe_res = json.loads(out.strip().splitlines()[-1])
        return {"xruns_per_min": (x1 - x0) / (elapsed / 60.0), "loads": loads,
                "voices": voices, "ui_fps": frames_drawn[0] / elapsed, "probe": probe_res}


def percentile(values: np.ndarray | list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else \
        float("nan")


def bench_size(frames: int, seconds: float, reps: int) -> dict[str, Any]:
    jack = JackServer(SERVER, RATE, frames).start()
    os.environ["JACK_DEFAULT_SERVER"] = SERVER
    idle: list[float] = []
    engine: list[float] = []
    loads: list[np.ndarray] = []
    latencies: list[int] = []
    unmeasured = sent = 0
    voices: list[int] = []
    fps: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            phase = EnginePhase(frames, Path(tmp))
            for rep in range(reps):
                idle.append(idle_phase(seconds))
                log(f"{frames} frames, rep {rep + 1}: idle client {idle[-1]:.1f} xruns/min")
                res = phase.run(seconds)
                engine.append(res["xruns_per_min"])
                loads.append(res["loads"])
                latencies += res["probe"]["latency_frames"]
                unmeasured += res["probe"]["unmeasured"]
                sent += res["probe"]["notes_sent"]
                voices.append(res["voices"])
                fps.append(res["ui_fps"])
                log(f"{frames} frames, rep {rep + 1}: engine {engine[-1]:.1f} xruns/min, "
                    f"{res['voices']} voices, UI {res['ui_fps']:.0f} fps, "
                    f"{len(res['probe']['latency_frames'])} notes measured")
    finally:
        jack.stop()
    all_loads = np.concatenate(loads) if loads else np.zeros(0)
    lat_ms = np.asarray(latencies, dtype=np.float64) / RATE * 1000.0
    period_ms = frames / RATE * 1000.0
    run: dict[str, Any] = {
        "frames": frames,
        "xruns_per_min": statistics.median(engine),
        "idle_client_xruns_per_min": statistics.median(idle),
        "xruns_per_min_phases": engine,
        "idle_client_xruns_per_min_phases": idle,
        "callback_p50_frac": percentile(all_loads, 50),
        "callback_p99_frac": percentile(all_loads, 99),
        "callback_max_frac": float(all_loads.max()) if all_loads.size else float("nan"),
        "callbacks": int(all_loads.size),
        "midi_to_audio_p50_ms": percentile(lat_ms, 50),
        "midi_to_audio_p99_ms": percentile(lat_ms, 99),
        "midi_to_audio_max_ms": float(lat_ms.max()) if lat_ms.size else float("nan"),
        "notes_measured": int(lat_ms.size),
        "notes_unmeasured": unmeasured,
        "notes_sent": sent,
        "period_ms": period_ms,
        "voices": min(voices) if voices else 0,
        "ui_fps": statistics.median(fps) if fps else 0.0,
    }
    if frames == 128:
        xr, idle_xr = statistics.median(engine), statistics.median(idle)
        run["targets"] = {
            "xruns": xr <= 1.5 * idle_xr + 2,
            "callback_p99": percentile(all_loads, 99) < 0.25,
            "midi_to_audio_p99": percentile(lat_ms, 99) < 2 * period_ms + 1.5,
        }
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="one 15 s phase of each kind per buffer size")
    parser.add_argument("--frames", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--seconds", type=float, help="length of each phase")
    parser.add_argument("--reps", type=int, help="phases of each kind")
    args = parser.parse_args(argv)
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    reps = args.reps or (1 if args.quick else 3)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["STRUMSPACE_CONFIG_DIR"] = tempfile.mkdtemp(prefix="strumspace-bench-")
    if jack_running(SERVER):
        raise SystemExit(f"a JACK server named {SERVER} is already running")
    runs = [bench_size(f, seconds, reps) for f in args.frames]
    result = {
        "benchmark": "audio_engine",
        "quick": args.quick,
        "phase_seconds": seconds,
        "phases_each": reps,
        "sample_rate": RATE,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "runs": runs,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
