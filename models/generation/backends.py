"""Where the generation transformer runs (issue #6): ONNX Runtime int8 on the CPU, or
torch (CUDA when there is one), behind one small interface with a KV cache.

    backend = load_backend()              # CUDA torch when available, else ONNX int8
    backend.start(batch=2)                # a fresh cache for 2 rows
    logits = backend.prefill(ids)         # ids int64 [2, S] -> logits [2, V] (last position)
    logits = backend.step(next_ids)       # next_ids int64 [2] -> logits [2, V]
    backend.warnings                      # things to tell the user (CUDA out of memory, ...)

Files (models/generation/artifacts/, written by export.py): gen.onnx (int8 ONNX graph
with its KV cache as inputs/outputs and its own metadata), gen_fp16.pt (torch weights
and config), gen.json (version, vocabulary, checks, checksums). A missing, damaged or
foreign file raises ModelFileError with a message a user can act on. No Qt, no audio.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from models.checksums import sha256_file
from models.ort_errors import load_failure

if TYPE_CHECKING:

    from models.generation.model import GPT, KVCache

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ONNX_NAME = "gen.onnx"
TORCH_NAME = "gen_fp16.pt"
META_NAME = "gen.json"
FORMAT = "strumspace-generation"
META_KEY = "strumspace_generation"  # the ONNX file's own metadata entry (JSON)


class ModelFileError(RuntimeError):
    """A generation model file that is missing, damaged, or not a StrumSpace
    generation model."""


@runtime_checkable
class Backend(Protocol):
    """A loaded model with a KV cache for `batch` rows that advance together."""

    @property
    def name(self) -> str:
        """"onnx-int8-cpu", "onnx-fp32-cpu", "torch-cuda" or "torch-cpu"."""
        ...

    @property
    def vocab_size(self) -> int: ...

    @property
    def max_len(self) -> int:
        """Positions the cache holds (prompt + generated)."""
        ...

    @property
    def warnings(self) -> list[str]:
        """User-visible notes (fallbacks), oldest first."""
        ...

    @property
    def length(self) -> int:
        """Positions in the cache so far."""
        ...

    def start(self, batch: int) -> None:
        """Forget the cache; the next calls feed `batch` rows."""
        ...

    def prefill(self, ids: np.ndarray) -> np.ndarray:
        """Feed ids int [B, S] after the cached positions; logits of the last one [B, V]."""
        ...

    def step(self, ids: np.ndarray) -> np.ndarray:
        """Feed one id per row [B]; the next logits [B, V]."""
        ...

    def extend(self, ids: np.ndarray) -> np.ndarray:
        """Feed ids int [B, S]; the logits of every new position [B, S, V]."""
        ...

    def rewind(self, length: int) -> None:
        """Forget the positions from `length` on (speculative decoding's rejections)."""
        ...


def read_meta(directory: Path = ARTIFACTS) -> dict[str, Any] | None:
    """gen.json beside the model files, or None when there is none."""
    path = Path(directory) / META_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"generation model metadata {path} is not readable JSON "
                             f"({exc}); restore it from the installation") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not StrumSpace generation-model metadata")
    return data


def _check_file(path: Path, what: str) -> bool:
    """The file exists, is not empty, and matches the checksum gen.json records; True
    when there was a record to match."""
    if not path.is_file():
        raise ModelFileError(f"{what} {path} does not exist; reinstall StrumSpace or "
                             "re-export the model (python -m models.generation.export)")
    if path.stat().st_size == 0:
        raise ModelFileError(f"{what} {path} is empty")
    meta = read_meta(path.parent)
    record = (meta or {}).get("files", {}).get(path.name)
    if record and (record.get("bytes") != path.stat().st_size
                   or record.get("sha256") != sha256_file(path)):
        raise ModelFileError(
            f"{what} {path} does not match the size/SHA-256 that {path.parent / META_NAME}"
            " records: it is damaged (truncated?) or was replaced; restore or re-export it")
    return bool(record)


def _rows(ids: np.ndarray, batch: int, vocab: int, ndim: int) -> np.ndarray:
    """ids as int64 with the expected rank and batch, every id in the vocabulary."""
    a = np.asarray(ids)
    if a.ndim != ndim or a.shape[0] != batch or (ndim == 2 and a.shape[1] == 0):
        want = "[batch, S>0]" if ndim == 2 else "[batch]"
        raise ValueError(f"ids must have shape {want} with batch {batch} (from start), "
                         f"got {list(a.shape)}")
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"ids must be integers, got {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= vocab):
        raise ValueError(f"ids must lie in 0..{vocab - 1}")
    return np.ascontiguousarray(a, dtype=np.int64)


class OnnxBackend:
    """The exported graph in ONNX Runtime on the CPU (one thread by default: it keeps
    its speed when other processes are busy, unlike torch with two)."""

    def __init__(self, path: Path | str | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        self.path = Path(path) if path is not None else ARTIFACTS / ONNX_NAME
        checked = _check_file(self.path, "generation model file")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises several exception types for bad files
            raise ModelFileError(load_failure("generation model file", self.path, exc,
                                              checked)) from exc
        raw = self.session.get_modelmeta().custom_metadata_map.get(META_KEY)
        if raw is None:
            raise ModelFileError(f"{self.path} is an ONNX model but not a StrumSpace "
                                 f"generation model (no '{META_KEY}' metadata)")
        try:
            self.meta: dict[str, Any] = json.loads(raw)
            cfg = self.meta["config"]
            self.n_layers, self.n_heads = int(cfg["n_layers"]), int(cfg["n_heads"])
            self.head = int(cfg["d_model"]) // self.n_heads
            self.vocab_size, self.max_len = int(cfg["vocab_size"]), int(cfg["max_len"])
            self.layout = str(self.meta.get("cache", "concat"))
            if self.layout not in ("concat", "shared"):
                raise ValueError(f"unknown cache layout {self.layout!r}")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{self.path}: its '{META_KEY}' metadata is damaged "
                                 f"({exc})") from exc
        cache = [f"{kind}_{i}" for i in range(self.n_layers) for kind in ("key", "value")]
        self.input_names = (["ids"] + (["past_length"] if self.layout == "shared" else [])
                            + [f"past_{c}" for c in cache])
        self.output_names = ["logits"] + [f"present_{c}" for c in cache]
        got_in = [i.name for i in self.session.get_inputs()]
        got_out = [o.name for o in self.session.get_outputs()]
        if got_in != self.input_names or got_out != self.output_names:
            raise ModelFileError(f"{self.path}: the graph's inputs/outputs ({got_in} -> "
                                 f"{got_out}) are not those its metadata describes")
        self.name = f"onnx-{self.meta.get('weights', 'fp32')}-cpu"
        self.warnings: list[str] = []
        self._ort = ort
        self._binding = self.session.io_binding()
        self._batch = 0
        self.start(1)

    @property
    def length(self) -> int:
        return self._length

    def start(self, batch: int) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self._length = 0
        if batch == self._batch and self.layout == "shared":
            return  # the same buffers: positions past the length are never read
        self._batch = batch
        ov = self._ort.OrtValue.ortvalue_from_numpy  # shares the numpy array's memory
        size = self.max_len if self.layout == "shared" else 0
        shape = (batch, self.n_heads, size, self.head)
        io = self._binding
        io.clear_binding_inputs()
        io.clear_binding_outputs()
        # Single steps reuse id and logits buffers (made at the first step, bound
        # once): a step then costs one graph run and a copy of the logits.
        # (ids [B, 1], logits [B, 1, V], and their OrtValues sharing that memory)
        self._step: tuple[np.ndarray, np.ndarray, Any, Any] | None = None
        self._bound_for_step = False
        self._position = np.zeros((), np.int64)
        io.bind_output("logits", "cpu")  # first: outputs come back in binding order
        if self.layout == "shared":
            io.bind_ortvalue_input("past_length", ov(self._position))
            # One buffer per cache tensor, bound as both past and present: the fused
            # attention writes the new positions in place.
            self._past = [ov(np.zeros(shape, np.float32)) for _ in self.input_names[2:]]
            for name, value in zip(self.input_names[2:], self._past, strict=True):
                io.bind_ortvalue_input(name, value)
            for name, value in zip(self.output_names[1:], self._past, strict=True):
                io.bind_ortvalue_output(name, value)
        else:
            self._past = [ov(np.zeros(shape, np.float32))] * (2 * self.n_layers)
            for name in self.output_names[1:]:
                io.bind_output(name, "cpu")

    def _run(self, ids: np.ndarray | None) -> np.ndarray:
        """Feed ids [B, S] (checked), or with None the step buffer's ids [B, 1]; logits
        of the new positions [B, S, V] (for a step: the step buffer, overwritten by
        the next step)."""
        new = 1 if ids is None else ids.shape[1]
        if self._length + new > self.max_len:
            raise ValueError(f"{self._length + new} positions exceed the model's "
                             f"context of {self.max_len}")
        io = self._binding
        step = ids is None
        if ids is None:
            if not self._bound_for_step:
                assert self._step is not None
                io.bind_ortvalue_input("ids", self._step[2])
                io.bind_ortvalue_output("logits", self._step[3])
                self._bound_for_step = True
        else:
            io.bind_cpu_input("ids", ids)
            io.bind_output("logits", "cpu")  # unallocated (again): its shape follows S
            self._bound_for_step = False
        self._position[()] = self._length
        if self.layout == "concat":
            for name, value in zip(self.input_names[1:], self._past, strict=True):
                io.bind_ortvalue_input(name, value)
            for name in self.output_names[1:]:
                io.bind_output(name, "cpu")  # unallocated: the cache grows
        self.session.run_with_iobinding(io)
        self._length += new
        if step and self.layout == "shared":
            assert self._step is not None
            return self._step[1]  # written in place: no outputs to collect
        out = io.get_outputs()
        if self.layout == "concat":
            self._past = list(out[1:])
        return self._step[1] if step and self._step is not None else out[0].numpy()

    def prefill(self, ids: np.ndarray) -> np.ndarray:
        return self._run(_rows(ids, self._batch, self.vocab_size, 2))[:, -1]

    def step(self, ids: np.ndarray) -> np.ndarray:
        rows = _rows(ids, self._batch, self.vocab_size, 1)
        if self._step is None:
            ov = self._ort.OrtValue.ortvalue_from_numpy  # shares the array's memory
            ids_buf = np.zeros((self._batch, 1), np.int64)
            logits_buf = np.zeros((self._batch, 1, self.vocab_size), np.float32)
            self._step = (ids_buf, logits_buf, ov(ids_buf), ov(logits_buf))
        self._step[0][:, 0] = rows
        return self._run(None)[:, -1].copy()

    def extend(self, ids: np.ndarray) -> np.ndarray:
        """Feed ids [B, S]; the logits of every new position [B, S, V] (speculative
        decoding checks several drafted tokens in one run)."""
        return self._run(_rows(ids, self._batch, self.vocab_size, 2))

    def rewind(self, length: int) -> None:
        """Forget every position from `length` on (drafted tokens that were rejected)."""
        if not 0 <= length <= self._length:
            raise ValueError(f"cannot rewind to {length}: the cache holds {self._length}")
        if self.layout == "concat" and length < self._length:
            ov = self._ort.OrtValue.ortvalue_from_numpy
            self._past = [ov(np.ascontiguousarray(v.numpy()[:, :, :length]))
                          for v in self._past]
        # shared: positions at or past the length are never read, and get overwritten
        self._length = length

    def forward(self, ids: np.ndarray) -> np.ndarray:
        """Logits of every position [B, S, V] of fresh sequences ids [B, S] (evaluation)."""
        a = np.asarray(ids)
        self.start(a.shape[0] if a.ndim == 2 else 1)
        return self._run(_rows(a, self._batch, self.vocab_size, 2))


def load_torch_model(path: Path | str | None = None) -> tuple[GPT, dict[str, Any]]:
    """The GPT (float32, CPU, eval) of a gen_fp16.pt file, and the file's record."""
    import torch

    from models.generation.model import GPT, GPTConfig

    path = Path(path) if path is not None else ARTIFACTS / TORCH_NAME
    _check_file(path, "generation weights file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several kinds for damaged files
        raise ModelFileError(f"generation weights file {path} cannot be read (truncated, "
                             f"damaged or not a torch file): {str(exc)[:300]}") from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT or "state_dict" not in blob:
        raise ModelFileError(f"{path} is a torch file but not StrumSpace generation weights")
    try:
        model = GPT(GPTConfig(**blob["config"]))
        model.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: the weights do not fit their configuration "
                             f"({str(exc)[:300]})") from exc
    record = {k: v for k, v in blob.items() if k != "state_dict"}
    return model.eval(), record


class TorchBackend:
    """The torch model with model.py's KV cache; fp16 on CUDA, fp32 on the CPU."""

    def __init__(self, device: str = "cpu", path: Path | str | None = None,
                 model: GPT | None = None, threads: int | None = None) -> None:
        import torch

        self._torch = torch
        self.device = torch.device(device)
        if threads is not None and self.device.type == "cpu":
            torch.set_num_threads(max(1, int(threads)))
        if model is None:
            model, _ = load_torch_model(path)
        dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.model = model.to(device=self.device, dtype=dtype).eval()
        self.vocab_size = model.config.vocab_size
        self.max_len = model.config.max_len
        self.name = f"torch-{self.device.type}"
        self.warnings: list[str] = []
        self._cache: KVCache | None = None
        self._batch = 0
        # CUDA: `step` and short `extend`s replay CUDA graphs of `GPT.static_step`,
        # one per number of tokens, captured over a cache that later starts with the
        # same batch reuse (measured on an H200: a step launched kernel by kernel from
        # Python took 1.7 ms a token, slower than ONNX int8 on one CPU core;
        # docs/BENCHMARKS.md).
        self._graphs: dict[int, _StepGraph] = {}
        self.start(1)

    @property
    def length(self) -> int:
        return self._cache.length if self._cache is not None else 0

    def start(self, batch: int) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        if self._graphs and self._cache is not None and self._batch == batch:
            self._cache.length = 0  # positions are written before they are read
            return
        self._cache, self._graphs = None, {}  # free the old ones before allocating
        self._cache = self.model.new_cache(batch)
        self._batch = batch

    def _run(self, ids: np.ndarray, every: bool = False) -> np.ndarray:
        assert self._cache is not None
        if self._cache.length + ids.shape[1] > self.max_len:
            raise ValueError(f"{self._cache.length + ids.shape[1]} positions exceed the "
                             f"model's context of {self.max_len}")
        x = self._torch.from_numpy(ids).to(self.device)
        with self._torch.inference_mode():
            logits = self.model.forward(x, self._cache)
        return (logits if every else logits[:, -1]).float().cpu().numpy()

    def prefill(self, ids: np.ndarray) -> np.ndarray:
        return self._run(_rows(ids, self._batch, self.vocab_size, 2))

    def _replay(self, rows: np.ndarray, every: bool) -> np.ndarray:
        """`_run` through the CUDA graph for rows of this many tokens."""
        assert self._cache is not None
        t = rows.shape[1]
        if self._cache.length + t > self.max_len:
            raise ValueError(f"{self._cache.length + t} positions exceed the model's "
                             f"context of {self.max_len}")
        graph = self._graphs.get(t)
        if graph is None:
            graph = self._graphs[t] = _StepGraph(self.model, self._cache, self._batch, t)
        logits = graph.run(rows)
        self._cache.length += t
        return logits if every else logits[:, -1]

    def step(self, ids: np.ndarray) -> np.ndarray:
        rows = _rows(ids, self._batch, self.vocab_size, 1)[:, None]
        if self.device.type == "cuda":
            return self._replay(rows, every=False)
        return self._run(rows)

    def extend(self, ids: np.ndarray) -> np.ndarray:
        rows = _rows(ids, self._batch, self.vocab_size, 2)
        if self.device.type == "cuda" and rows.shape[1] <= MAX_GRAPH_TOKENS:
            return self._replay(rows, every=True)
        return self._run(rows, every=True)

    def rewind(self, length: int) -> None:
        assert self._cache is not None
        if not 0 <= length <= self._cache.length:
            raise ValueError(f"cannot rewind to {length}: the cache holds "
                             f"{self._cache.length}")
        self._cache.length = length  # later positions are overwritten, never read


# Longer `extend`s (speculative decoding scores a token and a few guesses) run
# kernel by kernel: a graph per length is kept only for the short ones.
MAX_GRAPH_TOKENS = 8


class _StepGraph:
    """`length` decoding steps of `model` over `cache` (batch rows) at once, captured
    as a CUDA graph: static input ids and start position, replayed at every position."""

    def __init__(self, model: GPT, cache: KVCache, batch: int, length: int = 1) -> None:
        import torch

        self._torch = torch
        self.batch, self.cache, self.model = batch, cache, model
        device = cache.k.device
        self.ids = torch.zeros((batch, length), dtype=torch.long, device=device)
        self.start = torch.zeros(1, dtype=torch.long, device=device)
        self.graph: Any = None
        self.logits: Any = None

    def run(self, rows: np.ndarray) -> np.ndarray:
        torch = self._torch
        self.ids.copy_(torch.from_numpy(rows))
        self.start.fill_(self.cache.length)
        with torch.inference_mode():
            if self.graph is None:
                # Warm-up runs on a side stream (the library's workspaces are set up
                # before capture); they write this very position, as the replay does.
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    for _ in range(2):
                        self.model.static_step(self.ids, self.start, self.cache)
                torch.cuda.current_stream().wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    self.logits = self.model.static_step(self.ids, self.start, self.cache)
                self.graph = graph
            self.graph.replay()
            return np.asarray(self.logits.float().cpu().numpy())


def is_out_of_memory(exc: BaseException) -> bool:
    """A torch allocation failure (CUDA out of memory, or the CPU allocator's)."""
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        type(exc).__name__ == "OutOfMemoryError" or "out of memory" in text
        or "can't allocate memory" in text)


class FallbackBackend:
    """A primary backend (CUDA torch) that moves to a fallback (ONNX on the CPU) for
    good when it runs out of memory: the rows fed since `start` are replayed into
    the fallback, so the call that failed still returns its logits, and a warning is
    recorded for the user."""

    def __init__(self, primary: Backend, make_fallback: Callable[[], Backend]) -> None:
        self._active: Backend = primary
        self._make_fallback: Callable[[], Backend] | None = make_fallback
        self.warnings: list[str] = list(primary.warnings)
        self._fed: list[np.ndarray] = []
        self._batch = 1

    @property
    def name(self) -> str:
        return self._active.name

    @property
    def vocab_size(self) -> int:
        return self._active.vocab_size

    @property
    def max_len(self) -> int:
        return self._active.max_len

    @property
    def length(self) -> int:
        return self._active.length

    @property
    def active(self) -> Backend:
        return self._active

    def _fall_back(self, exc: BaseException) -> None:
        if self._make_fallback is None or not is_out_of_memory(exc):
            raise exc
        failed = self._active.name
        self._active = self._make_fallback()
        self._make_fallback = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover - torch is what failed
            pass
        self.warnings.append(f"{failed} ran out of memory; generating on the CPU "
                             f"({self._active.name}) instead, which is slower")

    def start(self, batch: int) -> None:
        self._fed, self._batch = [], batch
        try:
            self._active.start(batch)
        except Exception as exc:
            self._fall_back(exc)
            self._active.start(batch)

    def _call(self, ids: np.ndarray, kind: str) -> np.ndarray:
        rows = np.asarray(ids)
        fed = rows[:, None] if kind == "step" else rows
        try:
            out = getattr(self._active, kind)(rows)
        except Exception as exc:
            self._fall_back(exc)
            self._active.start(self._batch)
            history = np.concatenate([*self._fed, fed], axis=1)
            if kind == "extend":  # the earlier positions again, then the new ones
                if history.shape[1] > fed.shape[1]:
                    self._active.prefill(history[:, :-fed.shape[1]])
                out = self._active.extend(fed)
            else:
                out = self._active.prefill(history)
        self._fed.append(fed)
        return out

    def prefill(self, ids: np.ndarray) -> np.ndarray:
        return self._call(ids, "prefill")

    def step(self, ids: np.ndarray) -> np.ndarray:
        return self._call(ids, "step")

    def extend(self, ids: np.ndarray) -> np.ndarray:
        return self._call(ids, "extend")

    def rewind(self, length: int) -> None:
        self._active.rewind(length)
        history = np.concatenate(self._fed, axis=1)[:, :length] if self._fed else None
        self._fed = [history] if history is not None and history.shape[1] else []


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def load_backend(prefer: str = "auto", threads: int = 1,
                 directory: Path | str | None = None) -> Backend:
    """The best backend for this computer. prefer: "auto" (CUDA torch when available,
    else ONNX int8 on the CPU), "onnx", "torch" (CUDA when available, else the CPU)
    or "cuda" (CUDA torch; without CUDA the ONNX backend, with a warning). CUDA
    backends fall back to ONNX on the CPU when they run out of memory (a warning in
    `.warnings`). Raises ModelFileError for missing or damaged model files."""
    if prefer not in ("auto", "onnx", "torch", "cuda"):
        raise ValueError(f"prefer must be auto, onnx, torch or cuda, not {prefer!r}")
    folder = Path(directory) if directory is not None else ARTIFACTS

    def onnx() -> Backend:
        return OnnxBackend(folder / ONNX_NAME, threads=threads)

    notes: list[str] = []
    if prefer != "onnx" and cuda_available():
        try:
            primary = TorchBackend("cuda", folder / TORCH_NAME)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            notes.append("the GPU has no memory left for the model; generating on the CPU")
        else:
            return FallbackBackend(primary, onnx)
    elif prefer == "cuda":
        notes.append("no CUDA GPU is available; generating on the CPU")
    if prefer == "torch" and not notes:
        backend: Backend = TorchBackend("cpu", folder / TORCH_NAME, threads=threads)
    else:
        backend = onnx()
    backend.warnings.extend(notes)
    return backend
