"""Our own chord recognizers, run by the benchmark in a subprocess on ONE thread:

    python -m benchmarks.chords_ours {strumspace,strumspace_live,templates} JOBS.json OUTDIR

JOBS.json: a list of {"id", "audio", "lab"} (lab: the reference, used by the live
latency only). Writes OUTDIR/ID.lab per clip and prints one JSON object (last line):
audio seconds, process CPU seconds of the recognition itself (the file's decoding
included; loading the model and a warm-up excluded and reported apart: the first clip is
analysed once untimed, which loads lazy imports and JIT-compiled code), and for
`strumspace_live` the latency of every chord change (see `live_changes`).

- strumspace: `models.chords.runtime.analyze_file` (decode, resample, features, ONNX,
  CTC beam search, key, tempo and beats).
- strumspace_live: `models.chords.live.LiveRecognizer` at 48 kHz (the engine's default
  rate) fed LIVE_BLOCK-frame blocks (its default block size); the prediction is the label
  on display over time: a label returned by a push is shown from the end of that block.
- templates: `benchmarks.chords_templates.TemplateRecognizer` (librosa chroma + Viterbi).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "ORT_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Protocol  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from benchmarks.chords_scoring import Segments, read_lab, write_lab  # noqa: E402

LIVE_RATE = 48000
LIVE_BLOCK = 256
OURS = ("strumspace", "strumspace_live", "templates")


def _noise(seconds: float, sr: int) -> np.ndarray:
    return (np.random.default_rng(0).standard_normal(int(seconds * sr)) * 0.05).astype(np.float32)


class _Strumspace:
    def load(self) -> str:
        from models.chords import runtime

        self.runtime = runtime
        net = runtime.load_net(None, 1)
        return str(net.meta.get("model_version", "unknown"))

    def warm_up(self, job: dict[str, str]) -> None:
        self.runtime.analyze_file(job["audio"], threads=1)

    def run(self, job: dict[str, str]) -> tuple[Segments, float, dict[str, Any]]:
        c0 = time.process_time()
        result = self.runtime.analyze_file(job["audio"], threads=1)
        cpu = time.process_time() - c0
        return [(s.start, s.end, s.label) for s in result.segments], cpu, {}


class _Templates:
    def load(self) -> str:
        from benchmarks.chords_templates import TemplateRecognizer

        self.rec = TemplateRecognizer()
        return f"templates-{self.rec.chroma}-{'-'.join(self.rec.qualities)}"

    def warm_up(self, job: dict[str, str]) -> None:
        self.run(job)

    def run(self, job: dict[str, str]) -> tuple[Segments, float, dict[str, Any]]:
        c0 = time.process_time()
        audio, sr = sf.read(job["audio"], dtype="float32")
        segments = self.rec(audio, sr)
        return segments, time.process_time() - c0, {}


def same_chord(ref: str, est: str) -> bool:
    """`est` names `ref`'s chord, compared with the finest of mir_eval's sevenths,
    majmin and root comparisons that is defined for `ref` (sus2 has no majmin)."""
    import mir_eval

    for compare in (mir_eval.chord.sevenths, mir_eval.chord.majmin, mir_eval.chord.root):
        value = float(compare([ref], [est])[0])
        if value >= 0:
            return value == 1.0
    return False


def live_changes(ref: Segments, shown: list[tuple[float, float, str]]) -> list[dict[str, Any]]:
    """Latency of each chord change of the reference `ref` on the live display.

    `shown`: (input time at which a label went up, wall-clock time at which it was
    returned on a simulated real-time clock, label), in order. For each change of the
    reference into a chord B (not N) at time t whose display just before t does not
    already name B, the latency is the clock time of the first label naming B that
    went up after t and before the reference's next change, minus t; otherwise the
    change is missed (latency None)."""
    out = []
    for k in range(1, len(ref)):
        t, t_next, label = ref[k][0], ref[k][1], ref[k][2]
        if label == "N" or same_chord(label, ref[k - 1][2]):
            continue
        before = [s for s in shown if s[0] <= t]
        if before and same_chord(label, before[-1][2]):
            continue
        hit = next((s for s in shown if t < s[0] <= t_next and same_chord(label, s[2])), None)
        out.append({"t": round(t, 4), "label": label,
                    "latency_ms": None if hit is None else round((hit[1] - t) * 1000, 2)})
    return out


class _Live:
    def load(self) -> str:
        from models.chords.live import LiveRecognizer

        self.rec = LiveRecognizer(LIVE_RATE, threads=1)
        return self.rec.model_version

    def warm_up(self, job: dict[str, str]) -> None:
        noise = _noise(1.0, LIVE_RATE)
        for i in range(0, noise.size, LIVE_BLOCK):
            self.rec.push(noise[i: i + LIVE_BLOCK])
        self.rec.reset()

    def run(self, job: dict[str, str]) -> tuple[Segments, float, dict[str, Any]]:
        import soxr

        audio, sr = sf.read(job["audio"], dtype="float32", always_2d=True)
        # The engine's input: 48 kHz, prepared outside the timing.
        x = np.ascontiguousarray(soxr.resample(audio.mean(axis=1), sr, LIVE_RATE),
                                 dtype=np.float32)
        duration = audio.shape[0] / sr
        block_s = LIVE_BLOCK / LIVE_RATE
        self.rec.reset()
        shown: list[tuple[float, float, str]] = [(0.0, 0.0, "N")]
        busy_until = 0.0  # simulated real-time clock: when the recogniser is free again
        c0 = time.process_time()
        for i in range(0, x.size, LIVE_BLOCK):
            block = x[i: i + LIVE_BLOCK]
            arrives = (i + block.size) / LIVE_RATE  # the block is complete at its end
            w0 = time.perf_counter()
            chord = self.rec.push(block)
            start = max(arrives, busy_until)
            busy_until = start + (time.perf_counter() - w0)
            if chord is not None and chord.label != shown[-1][2]:
                shown.append((arrives, busy_until, chord.label))
        cpu = time.process_time() - c0
        segments = [(a[0], b[0], a[2]) for a, b in itertools.pairwise(shown)]
        segments.append((shown[-1][0], duration, shown[-1][2]))
        changes = live_changes(read_lab(Path(job["lab"])), shown)
        return ([s for s in segments if s[1] > s[0]], cpu,
                {"changes": changes, "block_s": block_s})


class _Runner(Protocol):
    def load(self) -> str: ...
    def warm_up(self, job: dict[str, str]) -> None: ...
    def run(self, job: dict[str, str]) -> tuple[Segments, float, dict[str, Any]]: ...


RUNNERS: dict[str, type[_Runner]] = {"strumspace": _Strumspace, "strumspace_live": _Live,
                                     "templates": _Templates}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in RUNNERS:
        print(f"usage: chords_ours {{{','.join(RUNNERS)}}} JOBS.json OUTDIR", file=sys.stderr)
        return 2
    name, jobs = argv[0], json.loads(Path(argv[1]).read_text())
    out = Path(argv[2])
    runner = RUNNERS[name]()
    c0 = time.process_time()
    version = runner.load()
    load_cpu = time.process_time() - c0
    c0 = time.process_time()
    for job in jobs[:3]:  # the first clip that loads (a bad one is reported below)
        try:
            runner.warm_up(job)
            break
        except Exception:
            continue
    warm_cpu = time.process_time() - c0
    clips: dict[str, Any] = {}
    for job in jobs:
        info: dict[str, Any] = {}
        try:
            segments, cpu, extra = runner.run(job)
            info = {"duration": sf.info(job["audio"]).duration, "cpu_s": cpu, **extra}
            write_lab(out / f"{job['id']}.lab", segments)
        except Exception as exc:  # reported per clip; the others still count
            info = {"error": f"{type(exc).__name__}: {exc}"}
        clips[job["id"]] = info
    print(json.dumps({"recognizer": name, "version": version, "load_cpu_s": load_cpu,
                      "warm_up_cpu_s": warm_cpu, "clips": clips}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
