"""A real `strumspace-cloud serve` killed with SIGKILL in the middle of a sync session
keeps every update it had committed (and acknowledged)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from cloud_support import live_account
from pycrdt import Doc, Map
from test_serve import _start, data_dir  # noqa: F401 - the fixture, reused
from websockets.sync.client import connect
from ysync import YClient

from cloud.db.embedded import EmbeddedPostgres, _free_port

pytestmark = pytest.mark.slow


class _SocketAdapter:
    """The sync test client speaks through Starlette's test socket API; this gives a
    real WebSocket the same two methods."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    def receive_bytes(self) -> bytes:
        message = self._ws.recv(timeout=30)
        assert isinstance(message, bytes)
        return message

    def send_bytes(self, data: bytes) -> None:
        self._ws.send(data)


def test_sigkill_during_sync_keeps_every_committed_update(data_dir: Path) -> None:  # noqa: F811
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(data_dir, port)
    try:
        headers = live_account(port)
        pid = httpx.post(f"{base}/v1/projects", json={"name": "Song"}, headers=headers,
                         timeout=30).json()["id"]
        ticket = httpx.post(f"{base}/v1/auth/ws-tickets", headers=headers,
                            timeout=30).json()["ticket"]
        with connect(f"ws://127.0.0.1:{port}/v1/sync/{pid}?ticket={ticket}") as ws:
            client = YClient(_SocketAdapter(ws), Doc())
            client.handshake()
            for i in range(50):
                client.edit("markers", f"m{i}", {"tick": i * 960, "name": f"take {i}"})
            client.flush()  # the server answered after storing all fifty
            # Killed mid-session: the server and its PostgreSQL, with no warning.
            server.send_signal(signal.SIGKILL)
            server.wait(10)
        postmaster = EmbeddedPostgres(data_dir).pid()
        if postmaster is not None:
            os.kill(postmaster, signal.SIGKILL)
            psutil.wait_procs([psutil.Process(postmaster)], timeout=10)

        server = _start(data_dir, port)
        stored = httpx.get(f"{base}/v1/projects/{pid}/document",
                           headers=live_account(port, sign_up=False), timeout=30)
        assert stored.status_code == 200
        doc: Doc = Doc()
        doc.apply_update(stored.content)
        markers = doc.get("markers", type=Map).to_py()
        assert markers == {f"m{i}": {"tick": i * 960, "name": f"take {i}"} for i in range(50)}
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
