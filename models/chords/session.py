"""ONNX Runtime sessions for the chord model: the offline graph (``ChordNet``) and the
live graph (``LiveNet``). No Qt, no audio devices: the desktop and the cloud both use
this module, with the artifacts that ``models.chords.export`` writes.

The metadata travels inside each ONNX file (``metadata_props`` key ``strumspace.chords``)
so a file alone describes itself; ``chords.json`` beside it adds the export's metrics
and the SHA-256 of each artifact, which is checked when present."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from models.checksums import sha256_file
from models.ort_errors import load_failure

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
OFFLINE_FILE = "chords.onnx"
LIVE_FILE = "chords_live.onnx"
META_FILE = "chords.json"
META_KEY = "strumspace.chords"

OFFLINE_INPUTS = ("features",)
OFFLINE_OUTPUTS = ("ctc_logprobs", "frame_logprobs", "bass_logprobs", "embedding")
LIVE_INPUTS = ("features", "state")
LIVE_OUTPUTS = ("frame_logprobs", "bass_logprobs", "state_out")


# About 6.3 minutes per window (about 240 MB of activations), 24 s of context kept
# on each side of a cut.
WINDOW_FRAMES = 16384
OVERLAP_FRAMES = 1024


class ModelFileError(RuntimeError):
    """A chord model file that is missing, damaged, or not a StrumSpace chord model."""


def _session(path: Path, threads: int, kind: str,
             inputs: tuple[str, ...], outputs: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
    """Open ``path`` with ONNX Runtime and check it is the expected graph; returns the
    session and the merged metadata. Every failure is a ModelFileError."""
    import onnxruntime as ort  # imported here: a missing runtime is reported by the caller

    if not path.is_file():
        raise ModelFileError(f"chord model file {path} does not exist")
    if path.stat().st_size == 0:
        raise ModelFileError(f"chord model file {path} is empty")
    record = _sibling_record(path)
    checked = False
    if record is not None:
        expected = record.get("files", {}).get(path.name, {}).get("sha256")
        checked = bool(expected)
        if expected and expected != sha256_file(path):
            raise ModelFileError(
                f"chord model file {path} does not match the SHA-256 that "
                f"{path.parent / META_FILE} records: it is damaged or was replaced; re-export "
                "it or restore the original")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(path), sess_options=opts,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises several exception types for bad files
        raise ModelFileError(load_failure("chord model file", path, exc, checked)) from exc
    got_in = tuple(i.name for i in sess.get_inputs())
    got_out = tuple(o.name for o in sess.get_outputs())
    if set(got_in) != set(inputs) or set(got_out) != set(outputs):
        raise ModelFileError(
            f"{path} is an ONNX model but not the {kind} chord graph: inputs {list(got_in)}, "
            f"outputs {list(got_out)}; expected inputs {list(inputs)}, outputs {list(outputs)}")
    raw = sess.get_modelmeta().custom_metadata_map.get(META_KEY)
    if raw is None:
        raise ModelFileError(f"{path} carries no '{META_KEY}' metadata: not a StrumSpace chord "
                             "model export")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: its '{META_KEY}' metadata is not JSON ({exc})") from exc
    if record is not None and record.get("model_version") == meta.get("model_version"):
        meta = {**record, **meta}
    return sess, meta


def _sibling_record(path: Path) -> dict[str, Any] | None:
    """chords.json beside the model, when present and readable (it is optional)."""
    side = path.parent / META_FILE
    if not side.is_file():
        return None
    try:
        data = json.loads(side.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{side} is not readable JSON ({exc}); restore it or delete it "
                             "(the ONNX files carry their own metadata)") from exc
    return data if isinstance(data, dict) else None


def _as_frames(features: np.ndarray, n_bins: int) -> np.ndarray:
    """[T, F] float32 (a leading batch of 1 is accepted); ValueError otherwise."""
    x = np.asarray(features, dtype=np.float32)
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2 or x.shape[1] != n_bins:
        raise ValueError(f"features must be [frames, {n_bins}], got shape {list(x.shape)}")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or infinity")
    return np.ascontiguousarray(x)


def _pool_mean_std(stats: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Embeddings [mean | std] of several frame sets pooled into one, as if computed
    over all their frames together."""
    w = np.array([n for n, _ in stats], np.float64)
    e = np.stack([v for _, v in stats]).astype(np.float64)
    d = e.shape[1] // 2
    means, stds = e[:, :d], e[:, d:]
    mean = (w[:, None] * means).sum(0) / w.sum()
    var = (w[:, None] * (stds ** 2 + (means - mean) ** 2)).sum(0) / w.sum()
    return np.concatenate([mean, np.sqrt(var)]).astype(np.float32)


class ChordNet:
    """The offline (whole-clip) graph. ``offline(features [T, F])`` returns
    ``ctc_logprobs [T, 158]``, ``frame_logprobs [T, 157]``, ``bass_logprobs [T, 13]``
    and ``embedding [D]`` (the batch dimension dropped)."""

    def __init__(self, session: Any, meta: dict[str, Any], path: Path) -> None:
        self._sess = session
        self.meta = meta
        self.path = path
        self.n_bins = int(meta["features"]["n_bins"])
        self.num_classes = int(meta["num_classes"])
        self.embedding_dim = int(meta["embedding_dim"])
        # Clips longer than ``window`` frames run in windows (see ``_windowed``).
        self.window = WINDOW_FRAMES
        self.overlap = OVERLAP_FRAMES

    @classmethod
    def load(cls, path: str | Path | None = None, threads: int = 1) -> ChordNet:
        p = Path(path) if path is not None else ARTIFACTS / OFFLINE_FILE
        sess, meta = _session(p, threads, "offline", OFFLINE_INPUTS, OFFLINE_OUTPUTS)
        return cls(sess, meta, p)

    def offline(self, features: np.ndarray) -> dict[str, np.ndarray]:
        x = _as_frames(features, self.n_bins)
        if x.shape[0] == 0:
            # The graph needs a frame; an empty clip has no chords and a zero embedding.
            return {
                "ctc_logprobs": np.zeros((0, self.num_classes + 1), np.float32),
                "frame_logprobs": np.zeros((0, self.num_classes), np.float32),
                "bass_logprobs": np.zeros((0, int(self.meta["bass_classes"])), np.float32),
                "embedding": np.zeros(self.embedding_dim, np.float32),
            }
        if len(x) <= self.window:
            return self._run(x)
        return self._windowed(x)

    def _run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        outs = self._sess.run(list(OFFLINE_OUTPUTS), {"features": x[None]})
        return {name: out[0] for name, out in zip(OFFLINE_OUTPUTS, outs, strict=True)}

    def _windowed(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """A long clip in overlapping windows: the convolutions' activations grow with
        the clip (about 38 MB a minute), so an hour-long file would need 2 GB at once.
        Each window gives the frames ``overlap`` away from its cut edges (the BiLSTM
        has that much context on both sides); the embedding pools the windows' mean and
        standard deviation, weighted by frames (close to, not equal to, one pass)."""
        n, o = len(x), self.overlap
        step = self.window - 2 * o
        parts: dict[str, list[np.ndarray]] = {k: [] for k in OFFLINE_OUTPUTS[:3]}
        stats: list[tuple[int, np.ndarray]] = []
        start = 0
        while True:
            end = min(n, start + self.window)
            out = self._run(x[start:end])
            keep_from = 0 if start == 0 else o
            keep_to = end - start if end == n else end - start - o
            for k in parts:
                parts[k].append(out[k][keep_from:keep_to])
            stats.append((end - start, out["embedding"]))
            if end == n:
                break
            start += step
        result = {k: np.concatenate(v) for k, v in parts.items()}
        result["embedding"] = _pool_mean_std(stats)
        return result


class LiveNet:
    """The live (causal, bounded look-ahead) graph with its state kept between calls.

    The graph takes ``context + k + lookahead`` frames and the recurrent state and
    returns ``k`` frames; the stream begins with ``context`` zero frames (as the
    model's zero padding). ``push(frames)`` returns every frame whose look-ahead has
    arrived, so output trails input by ``lookahead`` frames; ``flush()`` returns the
    rest as if the clip ended in zero frames. Any chunking gives the same frames with an
    fp32 graph; an int8 graph quantizes its inputs per call, so other chunks round
    differently (log-probabilities within about 0.1)."""

    def __init__(self, session: Any, meta: dict[str, Any], path: Path) -> None:
        self._sess = session
        self.meta = meta
        self.path = path
        live = meta["live"]
        self.n_bins = int(meta["features"]["n_bins"])
        self.context = int(live["context"])
        self.lookahead = int(live["lookahead"])
        self.chunk = int(live["chunk"])
        self.state_shape = tuple(int(d) for d in live["state_shape"])
        self.num_classes = int(meta["num_classes"])
        self.bass_classes = int(meta["bass_classes"])
        self.reset()

    @classmethod
    def load(cls, path: str | Path | None = None, threads: int = 1) -> LiveNet:
        p = Path(path) if path is not None else ARTIFACTS / LIVE_FILE
        sess, meta = _session(p, threads, "live", LIVE_INPUTS, LIVE_OUTPUTS)
        return cls(sess, meta, p)

    def reset(self) -> None:
        """Forget the stream: zero state, zero left context."""
        self._state = np.zeros(self.state_shape, np.float32)
        self._buffer = np.zeros((self.context, self.n_bins), np.float32)

    @property
    def latency_frames(self) -> int:
        """Frames a pushed frame waits for its look-ahead before it is returned."""
        return self.lookahead

    def _run(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frame, bass, state = self._sess.run(
            list(LIVE_OUTPUTS), {"features": window[None], "state": self._state})
        self._state = state
        return frame[0], bass[0]

    def push(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add feature frames [n, F]; returns (frame_logprobs [k, 157], bass_logprobs
        [k, 13]) for the k frames that became complete (k may be 0)."""
        x = _as_frames(frames, self.n_bins)
        self._buffer = np.concatenate([self._buffer, x]) if len(x) else self._buffer
        ready = len(self._buffer) - self.context - self.lookahead
        if ready <= 0:
            return (np.zeros((0, self.num_classes), np.float32),
                    np.zeros((0, self.bass_classes), np.float32))
        frame, bass = self._run(self._buffer)
        # keep the left context of the next frame and the frames still waiting
        self._buffer = self._buffer[ready:].copy()
        return frame, bass

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """End of stream: the frames still waiting for look-ahead, padded with zero
        frames; the stream is then reset."""
        pending = len(self._buffer) - self.context
        if pending <= 0 or self.lookahead == 0:
            self.reset()
            return (np.zeros((0, self.num_classes), np.float32),
                    np.zeros((0, self.bass_classes), np.float32))
        out = self.push(np.zeros((self.lookahead, self.n_bins), np.float32))
        self.reset()
        return out
