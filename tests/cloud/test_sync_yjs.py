"""Interoperability: a real Yjs client from npm (yjs + y-websocket, run by Node) syncs
the fixture song with the service, next to a pycrdt peer."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cloud_support import PASSWORD
from pycrdt import Doc
from websockets.sync.client import connect
from ysync import YClient, content

from cloud.app import create_app
from cloud.config import Settings

NODE_DIR = Path(__file__).parent / "node"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "documents" / "small_song_v1.ystate"


def _node_client() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the Yjs interoperability test needs Node.js 20+ and npm on PATH")
    if not (NODE_DIR / "node_modules" / "y-websocket").is_dir():
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                                capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0:
            pytest.fail(f"npm ci in {NODE_DIR} failed:\n{result.stderr[-2000:]}")
    return NODE_DIR / "client.mjs"


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """The service on a real loopback port (Node cannot reach the in-process TestClient)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(500):
        if srv.started:
            break
        thread.join(0.01)
    assert srv.started, "uvicorn did not start"
    yield f"127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


class _Ws:
    """websockets' sync client with the send_bytes/receive_bytes that YClient uses."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def send_bytes(self, data: bytes) -> None:
        self.ws.send(data)

    def receive_bytes(self) -> bytes:
        data = self.ws.recv(timeout=20)
        assert isinstance(data, bytes)
        return data


def test_yjs_client_syncs_with_the_service(server: str) -> None:
    script = _node_client()
    http = httpx.Client(base_url=f"http://{server}", timeout=10)
    http.post("/v1/accounts", json={"email": "ada@example.com", "password": PASSWORD})
    token = http.post("/v1/auth/token", data={
        "grant_type": "password", "username": "ada@example.com", "password": PASSWORD,
    }).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    pid = http.post("/v1/projects", json={"name": "Interop"}, headers=headers).json()["id"]

    def ticket() -> str:
        return str(http.post("/v1/auth/ws-tickets", headers=headers).json()["ticket"])

    song: Doc = Doc()
    song.apply_update(FIXTURE.read_bytes())
    with connect(f"ws://{server}/v1/sync/{pid}?ticket={ticket()}") as ws:
        py = YClient(_Ws(ws), song)
        py.handshake()
        py.flush()  # the song is stored before the Yjs client arrives
        node = subprocess.Popen(
            ["node", str(script), f"ws://{server}/v1/sync", pid, ticket()],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert node.stdout is not None
            synced = json.loads(node.stdout.readline() or "{}")
            assert synced.get("synced") == content(py.doc), node.stderr and node.stderr.read()
            # The Yjs client's edit reaches the pycrdt peer; the reply reaches Node.
            while content(py.doc)["meta"].get("title") != "from yjs":
                py.receive()
            py.edit("meta", "reply", "from pycrdt")
            final = json.loads(node.stdout.readline() or "{}")
            assert node.wait(20) == 0
        finally:
            if node.poll() is None:
                node.kill()
        assert final.get("final") == content(py.doc)
    stored: Doc = Doc()
    stored.apply_update(http.get(f"/v1/projects/{pid}/document", headers=headers).content)
    assert content(stored)["meta"]["title"] == "from yjs"
    assert content(stored) == content(py.doc)
