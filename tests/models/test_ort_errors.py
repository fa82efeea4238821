"""An intact model file that this onnxruntime cannot load is blamed on the runtime,
a damaged one on the file, for both models."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from models.checksums import sha256_file
from models.chords.session import META_FILE, ChordNet
from models.chords.session import ModelFileError as ChordFileError
from models.generation.backends import FORMAT, META_NAME, ONNX_NAME, OnnxBackend
from models.generation.backends import ModelFileError as GenFileError
from models.ort_errors import MIN_ONNXRUNTIME, load_failure

ROOT = Path(__file__).resolve().parents[2]


def _future_graph(path: Path) -> None:
    """A well-formed ONNX file whose opset no released onnxruntime implements."""
    x = helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Identity", ["features"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 999)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_the_version_floor_is_the_one_pyproject_asks_for() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"onnxruntime>={MIN_ONNXRUNTIME}" in deps


def test_an_intact_chord_model_that_the_runtime_refuses_blames_the_runtime(
        tmp_path: Path) -> None:
    path = tmp_path / "chords.onnx"
    _future_graph(path)
    (tmp_path / META_FILE).write_text(json.dumps(
        {"model_version": "x", "files": {path.name: {"sha256": sha256_file(path)}}}))
    with pytest.raises(ChordFileError, match=re.escape(f">= {MIN_ONNXRUNTIME}")) as err:
        ChordNet.load(path)
    assert "intact" in str(err.value) and "damaged" not in str(err.value)
    (tmp_path / META_FILE).unlink()  # no record: the file cannot be vouched for
    with pytest.raises(ChordFileError, match="truncated, damaged or not an ONNX model"):
        ChordNet.load(path)


def test_an_intact_generation_model_that_the_runtime_refuses_blames_the_runtime(
        tmp_path: Path) -> None:
    path = tmp_path / ONNX_NAME
    _future_graph(path)
    (tmp_path / META_NAME).write_text(json.dumps({"format": FORMAT, "files": {
        path.name: {"bytes": path.stat().st_size, "sha256": sha256_file(path)}}}))
    with pytest.raises(GenFileError, match="intact") as err:
        OnnxBackend(path)
    assert f"onnxruntime >= {MIN_ONNXRUNTIME}" in str(err.value)
    path.write_bytes(path.read_bytes()[:20])  # now it no longer matches its record
    with pytest.raises(GenFileError, match="damaged"):
        OnnxBackend(path)


def test_the_message_keeps_the_runtime_s_own_first_line() -> None:
    exc = RuntimeError("[ONNXRuntimeError] : 1 : FAIL : bad node\nmore detail")
    text = load_failure("thing", Path("/x/m.onnx"), exc, checksum_matched=False)
    assert text.endswith("bad node") and "more detail" not in text
    assert "RuntimeError" in load_failure("thing", Path("m"), RuntimeError(), True)
