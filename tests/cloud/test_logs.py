"""The service's structured logs: one JSON object a line, on the current stderr."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from cloud import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_records_are_json_lines_with_their_extra_fields(
        restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    logs.configure("info")
    logging.getLogger("cloud.access").info("request", extra={"status": 201, "path": "/x"})
    logging.getLogger("cloud.x").debug("below the level")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["msg"] == "request" and entry["level"] == "info"
    assert entry["logger"] == "cloud.access" and entry["status"] == 201
    assert entry["path"] == "/x" and entry["ts"].endswith("+00:00")


def test_logs_follow_stderr_after_the_stream_they_began_on_closes(
        restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logs.configure()
    logging.getLogger("cloud.t").warning("one")
    first.close()  # e.g. a capture that has ended while a server thread still logs
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("cloud.t").warning("two")
    assert [json.loads(x)["msg"] for x in second.getvalue().splitlines()] == ["two"]
