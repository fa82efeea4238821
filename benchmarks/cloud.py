"""Cloud service benchmark: python -m benchmarks.cloud [--quick]

Starts `strumspace-cloud serve` (embedded PostgreSQL) as a real process and measures:
- `first_run_s`: start on a fresh data directory (initdb, migrations, keys) until
  /readyz answers 200;
- `restart_s`: the same on that now existing directory, after a clean stop;
- `signin_rps`: sign-ins per second (OAuth2 password grant, Argon2 at its default
  cost, which dominates), with several concurrent clients;
- `list_rps`: `GET /v1/projects` per second for an account with 20 projects.
`sync_10k_notes_s` is not measured yet (null, see `sync_note`).

Rate limits are switched off: this measures the service, not the limiter.
Targets (issue 7): restart under 2 s. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

PASSWORD = "benchmark password 1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("STRUMSPACE_CLOUD_")}
    env["STRUMSPACE_CLOUD_DATA"] = str(data)
    env["STRUMSPACE_CLOUD_RATE_LIMITS_ENABLED"] = "false"
    env["STRUMSPACE_CLOUD_LOG_LEVEL"] = "WARNING"
    return env


def _start(data: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    """Starts serve; returns it and the seconds until /readyz said 200."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud.cli", "serve", "--port", str(port)],
        env=_env(data), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = started + 120
    with httpx.Client(timeout=1) as client:
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}")
            try:
                if client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    return proc, time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    proc.kill()
    raise RuntimeError("serve did not become ready in 120 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)


async def _rps(make_request: Callable[[], Awaitable[httpx.Response]], seconds: float,
               concurrency: int) -> float:
    """Requests per second that succeed, `concurrency` at a time for `seconds`."""
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            response = await make_request()
            response.raise_for_status()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def _throughput(base: str, seconds: float) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        (await client.post("/v1/accounts",
                           json={"email": "bench@example.com", "password": PASSWORD})
         ).raise_for_status()
        form = {"grant_type": "password", "username": "bench@example.com",
                "password": PASSWORD}
        token = (await client.post("/v1/auth/token", data=form)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for i in range(20):
            (await client.post("/v1/projects", json={"name": f"song {i}"}, headers=auth)
             ).raise_for_status()
        signin = await _rps(lambda: client.post("/v1/auth/token", data=form), seconds, 4)
        listing = await _rps(lambda: client.get("/v1/projects", headers=auth), seconds, 8)
    return {"signin_rps": round(signin, 1), "list_rps": round(listing, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    args = parser.parse_args()
    restarts = 2 if args.quick else 5
    seconds = 2.0 if args.quick else 8.0

    with tempfile.TemporaryDirectory(prefix="strumspace-cloud-bench-") as tmp:
        data = Path(tmp) / "data"
        port = _free_port()
        proc, first_run = _start(data, port)
        try:
            throughput = asyncio.run(_throughput(f"http://127.0.0.1:{port}", seconds))
        finally:
            _stop(proc)
        restart_times = []
        for _ in range(restarts):
            proc, elapsed = _start(data, port)
            _stop(proc)
            restart_times.append(elapsed)

    result = {
        "first_run_s": round(first_run, 3),
        "restart_s": round(statistics.median(restart_times), 3),
        "restart_runs_s": [round(t, 3) for t in restart_times],
        **throughput,
        "list_endpoint": "GET /v1/projects (20 projects)",
        "sync_10k_notes_s": None,
        "sync_note": "not measured yet: the benchmark does not drive the Yjs sync endpoint",
        "rate_limits": "disabled for the measurement",
        "quick": args.quick,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
