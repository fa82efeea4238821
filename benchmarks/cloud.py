"""Cloud service benchmark: python -m benchmarks.cloud [--quick]

Starts `strumspace-cloud serve` (embedded PostgreSQL) as a real process and measures:
- `first_run_s`: start on a fresh data directory (initdb, migrations, keys) until
  /readyz answers 200;
- `restart_s`: the same on that now existing directory, after a clean stop;
- `signin_rps`: sign-ins per second (OAuth2 password grant, Argon2 at its default
  cost, which dominates), with several concurrent clients;
- `list_rps`: `GET /v1/projects` per second for an account with 20 projects;
- `sync_10k_notes_s`: a project document holding 10,000 notes (20 MIDI clips of 500,
  one plain value per note in each clip's `notes` Y.Map, docs/document-schema.md) is
  stored through the sync endpoint; then a fresh pycrdt client connects (ticket fetched
  beforehand, not timed) and the time runs from opening the WebSocket until the server's
  sync step 2 has been received and applied (the handshake of docs/cloud-api.md). Each
  run finds no room open, so the server loads the document from PostgreSQL. Median.

Rate limits are switched off: this measures the service, not the limiter.
Targets (issue 7): restart under 2 s; first sync of 10,000 notes under 1 s.
The last line printed is a JSON object.
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
from pycrdt import (
    Doc,
    Map,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    read_message,
    write_message,
)
from websockets.asyncio.client import ClientConnection, connect

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


NOTES, CLIPS = 10_000, 20


def _song(notes: int = NOTES, clips: int = CLIPS) -> Doc:
    """A project document in the layout of docs/document-schema.md (built here, not with
    strumspace_desktop: the cloud side never imports it): one MIDI track, `clips` MIDI
    clips of 4 bars, each note a plain `[pitch, start, length, velocity, channel]`."""
    doc: Doc = Doc()
    meta, tracks, clip_map = (doc.get(n, type=Map) for n in ("meta", "tracks", "clips"))
    per_clip, bar = notes // clips, 4 * 960
    with doc.transaction():
        meta["schema_version"] = 1
        meta["title"] = f"{notes} notes"
        meta["ppq"] = 960
        tracks["t.1"] = Map({"kind": "midi", "name": "Piano", "order": 0.0, "program": 0,
                             "channel": 0, "volume_db": 0.0, "pan": 0.0})
        for c in range(clips):
            clip_map[f"c.{c}"] = Map({"track": "t.1", "kind": "midi", "start": c * 4 * bar,
                                      "length": 4 * bar, "name": f"clip {c}",
                                      "notes": Map()})
            clip_notes = clip_map[f"c.{c}"]["notes"]
            step = 4 * bar // per_clip
            for n in range(per_clip):
                clip_notes[f"n.{c}.{n}"] = [36 + (n * 7) % 60, n * step, step, 64 + n % 60, 0]
    return doc


def _sync_message(kind: int, payload: bytes) -> bytes:
    return bytes([YMessageType.SYNC, kind]) + write_message(payload)


async def _receive_step(ws: ClientConnection, kind: int) -> bytes:
    while True:
        message = await ws.recv(decode=False)
        if message[0] == YMessageType.SYNC and message[1] == kind:
            return read_message(message[2:])


async def _first_sync(url: str) -> tuple[float, Doc]:
    """Seconds from opening the socket to the server's step 2 applied, and the doc."""
    doc: Doc = Doc()
    started = time.perf_counter()
    async with connect(url, max_size=None, compression=None) as ws:
        server_state = await _receive_step(ws, YSyncMessageType.SYNC_STEP1)
        await ws.send(_sync_message(YSyncMessageType.SYNC_STEP2, doc.get_update(server_state)))
        await ws.send(create_sync_message(doc))
        doc.apply_update(await _receive_step(ws, YSyncMessageType.SYNC_STEP2))
        elapsed = time.perf_counter() - started
    return elapsed, doc


async def _sync(base: str, runs: int) -> dict[str, float | list[float] | int]:
    ws_base = base.replace("http://", "ws://", 1)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        (await client.post("/v1/accounts",
                           json={"email": "sync@example.com", "password": PASSWORD})
         ).raise_for_status()
        form = {"grant_type": "password", "username": "sync@example.com",
                "password": PASSWORD}
        token = (await client.post("/v1/auth/token", data=form)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        created = await client.post("/v1/projects", json={"name": "10k"}, headers=auth)
        pid = created.raise_for_status().json()["id"]

        async def url() -> str:
            r = await client.post("/v1/auth/ws-tickets", headers=auth)
            return f"{ws_base}/v1/sync/{pid}?ticket={r.raise_for_status().json()['ticket']}"

        song = _song()
        update = song.get_update()
        # Stored as one client's step 2; the step-1 round trip after it returns once
        # the server has committed it (it handles a connection's messages in order).
        async with connect(await url(), max_size=None) as ws:
            server_state = await _receive_step(ws, YSyncMessageType.SYNC_STEP1)
            await ws.send(_sync_message(YSyncMessageType.SYNC_STEP2,
                                        song.get_update(server_state)))
            await ws.send(create_sync_message(Doc()))
            await _receive_step(ws, YSyncMessageType.SYNC_STEP2)
        times = []
        for _ in range(runs):
            # Let the server close the room the previous client left, so that every
            # run loads the document from the database.
            await asyncio.sleep(0.3)
            elapsed, doc = await _first_sync(await url())
            clips = doc.get("clips", type=Map)
            synced = sum(len(clip["notes"]) for clip in clips.values())
            if synced != NOTES:
                raise RuntimeError(f"first sync brought {synced} notes, not {NOTES}")
            times.append(elapsed)
    return {"sync_10k_notes_s": round(statistics.median(times), 3),
            "sync_runs_s": [round(t, 3) for t in times], "sync_update_bytes": len(update)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    args = parser.parse_args()
    restarts = 2 if args.quick else 5
    seconds = 2.0 if args.quick else 8.0
    sync_runs = 5 if args.quick else 11

    with tempfile.TemporaryDirectory(prefix="strumspace-cloud-bench-") as tmp:
        data = Path(tmp) / "data"
        port = _free_port()
        proc, first_run = _start(data, port)
        try:
            throughput = asyncio.run(_throughput(f"http://127.0.0.1:{port}", seconds))
            sync = asyncio.run(_sync(f"http://127.0.0.1:{port}", sync_runs))
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
        **sync,
        "sync_note": f"{NOTES} notes in {CLIPS} clips; WebSocket open to step 2 applied, "
                     "room loaded from PostgreSQL each run",
        "rate_limits": "disabled for the measurement",
        "quick": args.quick,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
