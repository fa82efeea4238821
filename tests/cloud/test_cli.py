"""Tests for the `strumspace-cloud` command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cloud
from cloud.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"strumspace-cloud {cloud.__version__}"


def test_help_lists_serve(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: strumspace-cloud" in out
    assert "serve" in out


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("serve", "migrate", "backup", "restore"):
        assert command in out


def test_missing_config_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "nope.toml"), "migrate"]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_restore_of_a_missing_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:1/none")
    assert main(["restore", str(tmp_path / "missing.dump")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_no_command_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: strumspace-cloud" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["launch-rockets"])
    assert exc.value.code == 2


def test_console_script_runs() -> None:
    # The installed entry point, as users run it (falls back to -m in a bare checkout).
    script = Path(sys.executable).with_name("strumspace-cloud")
    exe = str(script) if script.exists() else shutil.which("strumspace-cloud")
    cmd = [exe] if exe else [sys.executable, "-m", "cloud.cli"]
    version = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0
    assert version.stdout.strip() == f"strumspace-cloud {cloud.__version__}"
    usage = subprocess.run([*cmd, "serve", "--port", "x"], capture_output=True, text=True,
                           timeout=60)
    assert usage.returncode == 2
    assert "invalid int value" in usage.stderr
