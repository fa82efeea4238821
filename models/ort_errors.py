"""Why an ONNX Runtime session did not open, in words a user can act on (both models)."""

from __future__ import annotations

from pathlib import Path

# The oldest onnxruntime that runs both exported graphs: 1.30 and 1.31 refuse the
# generation graph's fused GroupQueryAttention node. pyproject.toml asks for the same.
MIN_ONNXRUNTIME = "1.32"


def load_failure(what: str, path: Path, exc: BaseException, checksum_matched: bool) -> str:
    """The message for a file ONNX Runtime refused. A file that matches the checksum
    recorded at export is intact, so the runtime is to blame, not the file."""
    text = str(exc).strip()
    first = (text.splitlines()[0] if text else type(exc).__name__)[:300]
    if checksum_matched:
        import onnxruntime as ort  # the caller has loaded it already

        version = str(ort.__version__)
        return (f"{what} {path} is intact (it matches the checksum recorded at export), "
                f"but onnxruntime {version} cannot load it; StrumSpace needs onnxruntime "
                f">= {MIN_ONNXRUNTIME} (pip install -U onnxruntime): {first}")
    return f"{what} {path} cannot be loaded (truncated, damaged or not an ONNX model): {first}"
