"""PostgreSQL restarting under load: requests meanwhile get a clear 503, none a 500,
the service recovers by itself, and nothing stored is lost."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from cloud_support import live_account
from test_serve import _start, data_dir  # noqa: F401 - the fixture, reused

from cloud.db.embedded import EmbeddedPostgres, _free_port

pytestmark = pytest.mark.slow


def test_database_restart_under_load(data_dir: Path) -> None:  # noqa: F811
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(data_dir, port)
    try:
        headers = live_account(port)
        names = [f"Song {i}" for i in range(5)]
        for name in names:
            assert httpx.post(f"{base}/v1/projects", json={"name": name}, headers=headers,
                              timeout=30).status_code == 201

        statuses: list[int] = []
        bodies: list[dict[str, object]] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    try:
                        r = client.get(f"{base}/v1/projects", headers=headers)
                    except httpx.TransportError:
                        time.sleep(0.1)
                        continue
                    statuses.append(r.status_code)
                    if r.status_code != 200:
                        bodies.append(r.json())
                    # Ten a second: steady load that stays under the per-client rate limit.
                    time.sleep(0.1)

        worker = threading.Thread(target=load)
        worker.start()
        try:
            time.sleep(0.5)
            pg = EmbeddedPostgres(data_dir)
            # Stop, stay down a moment, start again on the same address the service
            # knows (postmaster.pid's fourth line is the port).
            port_line = (pg.pgdata / "postmaster.pid").read_text().splitlines()[3]
            pg._run("pg_ctl", "-D", str(pg.pgdata), "stop", "-m", "fast", "-w")
            time.sleep(1.0)
            pg._run("pg_ctl", "-D", str(pg.pgdata), "start", "-w",
                    "-o", f"-h 127.0.0.1 -p {int(port_line)} -k ''",
                    "-l", str(pg.pgdata / "restart.log"))  # a file PostgreSQL may write
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (not statuses or statuses[-1] != 200):
                time.sleep(0.1)
            time.sleep(0.5)
        finally:
            stop.set()
            worker.join(60)
        assert 503 in statuses  # the outage was seen …
        assert set(statuses) <= {200, 503}  # … and answered clearly, never with a 500
        assert all(b["error"]["code"] == "database_unavailable"  # type: ignore[index]
                   for b in bodies)
        assert statuses[-1] == 200, bodies[-3:]  # recovered without restarting the service
        listed = httpx.get(f"{base}/v1/projects", headers=headers, timeout=30).json()
        assert sorted(p["name"] for p in listed["projects"]) == names
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
