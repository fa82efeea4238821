"""docs/openapi.json is the schema the code serves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cloud import openapi

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_schema_is_up_to_date() -> None:
    assert COMMITTED.is_file(), f"docs/openapi.json is missing; run: {openapi.REGENERATE}"
    # Compared as data first (a clear diff), then as text (the file is generated verbatim).
    assert json.loads(COMMITTED.read_text(encoding="utf-8")) == openapi.schema(), (
        f"docs/openapi.json is out of date; regenerate it with: {openapi.REGENERATE}")
    assert COMMITTED.read_text(encoding="utf-8") == openapi.render(), (
        f"docs/openapi.json is not formatted as generated; run: {openapi.REGENERATE}")


def test_command_writes_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    done = subprocess.run([sys.executable, "-m", "cloud.cli", "openapi", "-o", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["info"]["title"] == "StrumSpace cloud"
    assert "/v1/blobs/uploads" in written["paths"]
