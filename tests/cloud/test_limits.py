"""Limits: each answered with its status and an error body; rate limits shared through
a real Redis between two app instances."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from cloud_support import PASSWORD, sign_up
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from cloud.app import create_app
from cloud.config import Settings
from cloud.limits import (
    WS_CLOSE_RATE_LIMITED,
    WS_CLOSE_TOO_BIG,
    WebSocketGuard,
    WebSocketLimitExceeded,
)

SIGN_IN = {"grant_type": "password", "username": "ada@example.com", "password": PASSWORD}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


def _assert_429(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_sign_in_rate_limit_in_process(settings: Settings) -> None:
    limited = settings.model_copy(update={"rate_limit_auth_per_min": 3})
    with TestClient(create_app(limited), raise_server_exceptions=False) as client:
        sign_up(client)  # one of the 3 for sign-up, a route of its own
        for _ in range(3):
            assert client.post("/v1/auth/token", data=SIGN_IN).status_code == 200
        _assert_429(client.post("/v1/auth/token", data=SIGN_IN))
        # Other routes count separately; probes are never limited.
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/accounts/me").status_code == 401


def test_default_rate_limit(settings: Settings) -> None:
    limited = settings.model_copy(update={"rate_limit_default_per_min": 5})
    with TestClient(create_app(limited), raise_server_exceptions=False) as client:
        answers = [client.get("/v1/nowhere").status_code for _ in range(6)]
        assert answers[:5] == [404] * 5
        _assert_429(client.get("/v1/accounts/me"))
        assert client.get("/readyz").status_code == 200


def test_rate_limit_shared_through_redis(settings: Settings, redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    shared = settings.model_copy(update={"rate_limit_auth_per_min": 4, "redis_url": redis_url})
    with TestClient(create_app(shared), raise_server_exceptions=False) as a, \
            TestClient(create_app(shared), raise_server_exceptions=False) as b:
        sign_up(a)
        assert [c.post("/v1/auth/token", data=SIGN_IN).status_code for c in (a, b, a, b)] \
            == [200] * 4
        # Either instance now refuses: they count together.
        _assert_429(a.post("/v1/auth/token", data=SIGN_IN))
        _assert_429(b.post("/v1/auth/token", data=SIGN_IN))
    # A separate in-process app does not see Redis's counts.
    local = settings.model_copy(update={"rate_limit_auth_per_min": 4})
    with TestClient(create_app(local), raise_server_exceptions=False) as c:
        assert c.post("/v1/auth/token", data=SIGN_IN).status_code == 200


def test_oversized_bodies_get_413(client: TestClient) -> None:
    big = b'{"email": "' + b"a" * 2_000_000 + b'"}'
    declared = client.post("/v1/accounts", content=big,
                           headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        yield b'{"email": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    streamed = client.post("/v1/accounts", content=chunks(),
                           headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "too_large"


def _asgi_call(app: FastAPI, path: str, receive_messages: list[dict],
               hang_after: bool) -> tuple[int, bytes]:
    """Calls the app as a server would, with a client that may stall mid-body."""
    sent: list[dict] = []
    messages = list(receive_messages)

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        if hang_after:
            await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 8787),
             "headers": [(b"content-type", b"application/octet-stream"),
                         (b"content-length", b"100")]}
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


def test_timeouts(settings: Settings) -> None:
    quick = settings.model_copy(update={"request_timeout_s": 0.6, "body_read_timeout_s": 0.2})
    app = create_app(quick)

    async def slow() -> dict[str, str]:
        await asyncio.sleep(5)
        return {}

    async def read_body(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    # Handlers of our own, to have something slow behind the real middleware stack.
    app.add_api_route("/test/slow", slow, methods=["POST"])
    app.add_api_route("/test/body", read_body, methods=["POST"])
    started = time.monotonic()
    status, body = _asgi_call(app, "/test/slow", [{"type": "http.request", "body": b""}],
                              hang_after=False)
    assert status == 504 and b'"timeout"' in body
    assert time.monotonic() - started < 2
    status, body = _asgi_call(
        app, "/test/body",
        [{"type": "http.request", "body": b"x" * 10, "more_body": True}], hang_after=True)
    assert status == 408 and b'"request_timeout"' in body
    status, body = _asgi_call(app, "/test/body",
                              [{"type": "http.request", "body": b"x" * 100}], hang_after=False)
    assert status == 200 and body == b'{"bytes":100}'


class _Clock:
    """A hand-stepped monotonic clock: the guard's refill no longer depends on how fast
    this (busy, shared) machine runs the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_websocket_guard() -> None:
    clock = _Clock()
    guard = WebSocketGuard(max_message_bytes=10, messages_per_s=1000, burst=3, clock=clock)
    guard.check(b"0123456789")
    with pytest.raises(WebSocketLimitExceeded) as too_big:
        guard.check("01234567890")
    assert too_big.value.code == WS_CLOSE_TOO_BIG
    guard.check(b"a")
    guard.check(b"b")
    with pytest.raises(WebSocketLimitExceeded) as flood:
        guard.check(b"c")  # the burst of 3 is spent and no time has passed to refill it
    assert flood.value.code == WS_CLOSE_RATE_LIMITED
    clock.now += 0.0005  # half a token at 1000/s: still refused
    with pytest.raises(WebSocketLimitExceeded):
        guard.check(b"d")
    clock.now += 0.001  # one whole token
    guard.check(b"e")
    with pytest.raises(WebSocketLimitExceeded):
        guard.check(b"f")
    clock.now += 60  # a long pause refills to the burst, never beyond it
    for message in (b"g", b"h", b"i"):
        guard.check(message)
    with pytest.raises(WebSocketLimitExceeded):
        guard.check(b"j")


def test_settings_reach_the_guard(tmp_path: Path) -> None:
    guard = WebSocketGuard.from_settings(
        Settings(database_url="postgresql://x/y", data_dir=tmp_path, ws_max_message_bytes=5))
    with pytest.raises(WebSocketLimitExceeded):
        guard.check(b"123456")
