"""`strumspace-cloud serve` as users run it: its own PostgreSQL in the data folder,
killed without warning and restarted, then backed up and restored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from alembic.script import ScriptDirectory
from cloud_support import PASSWORD, libpq

from cloud import migrations
from cloud.db.embedded import EmbeddedPostgres, _free_port

pytestmark = pytest.mark.slow


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k != "DATABASE_URL" and not k.startswith("STRUMSPACE_CLOUD_")}
    env["STRUMSPACE_CLOUD_DATA"] = str(data)
    # The cheap hash parameters of the other tests, through the environment this time.
    env["STRUMSPACE_CLOUD_ARGON2_TIME_COST"] = "1"
    env["STRUMSPACE_CLOUD_ARGON2_MEMORY_COST_KIB"] = "1024"
    return env


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cloud.cli", *args], env=_env(data),
                          capture_output=True, text=True, timeout=120)


def _start(data: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud.cli", "serve", "--port", str(port)],
        env=_env(data), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90  # generous: the machine is shared and slow
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("serve did not become ready")


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    # Whatever happened, leave no PostgreSQL behind.
    pid = EmbeddedPostgres(tmp_path).pid()
    if pid is not None:
        os.kill(pid, signal.SIGKILL)


def _sign_in_status(port: int) -> int:
    return httpx.post(f"http://127.0.0.1:{port}/v1/auth/token", data={
        "grant_type": "password", "username": "ada@example.com", "password": PASSWORD,
    }, timeout=30).status_code


def test_sigkill_restart_keeps_accounts_then_backup_restore(data_dir: Path) -> None:
    port = _free_port()
    server = _start(data_dir, port)
    r = httpx.post(f"http://127.0.0.1:{port}/v1/accounts",
                   json={"email": "ada@example.com", "password": PASSWORD}, timeout=30)
    assert r.status_code == 201
    assert (data_dir / "pg" / "PG_VERSION").exists()

    # A crash of the whole machine, as far as we can: the server and PostgreSQL both die.
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    postmaster = EmbeddedPostgres(data_dir).pid()
    assert postmaster is not None
    os.kill(postmaster, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(postmaster)], timeout=10)

    server = _start(data_dir, port)
    assert _sign_in_status(port) == 200
    # A clean stop stops the embedded PostgreSQL too.
    server.send_signal(signal.SIGTERM)
    assert server.wait(30) == 0
    assert EmbeddedPostgres(data_dir).pid() is None

    done = _cli(data_dir, "migrate")
    assert done.returncode == 0, done.stderr
    # The newest revision, whichever it is: later revisions must not break this test.
    head = ScriptDirectory.from_config(
        migrations.alembic_config("postgresql://x/y")).get_current_head()
    assert f"database at revision {head}" in done.stdout
    dump = data_dir / "backup.dump"
    assert _cli(data_dir, "backup", str(dump)).returncode == 0
    assert dump.stat().st_size > 0
    down = _cli(data_dir, "migrate", "base", "--down")
    assert "database at revision base" in down.stdout
    restored = _cli(data_dir, "restore", str(dump))
    assert restored.returncode == 0, restored.stderr
    pg = EmbeddedPostgres(data_dir)
    try:
        with psycopg.connect(libpq(pg.start())) as conn:
            emails = [r[0] for r in conn.execute("SELECT email FROM users")]
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        pg.stop()
    assert emails == ["ada@example.com"]
    assert version == (head,)
