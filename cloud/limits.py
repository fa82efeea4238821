"""Limits: HTTP rate limits (in this process, or shared through Redis), request body
sizes, request timeouts, and a per-connection guard for WebSockets.

Every limit answers in the ErrorResponse format with its own status: 413 (too large),
429 with Retry-After (too many requests), 408 (the client stalled while sending its
body), 504 (the handler did not answer in time).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.config import Settings
from cloud.errors import error_response
from cloud.schemas import API_PREFIX

# --- rate limiting --------------------------------------------------------------------


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: float) -> float | None:
        """Count one request against `key`; None if allowed, else seconds to wait."""
        ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    """Fixed windows in a dict: one process, no sharing (the default)."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, limit: int, window_s: float) -> float | None:
        now = time.monotonic()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= window_s:
            start, count = now, 0
        if count >= limit:
            return window_s - (now - start)
        self._windows[key] = (start, count + 1)
        if len(self._windows) > 100_000:  # bound memory under an address scan
            self._windows = {k: v for k, v in self._windows.items() if now - v[0] < window_s}
        return None

    async def close(self) -> None:
        self._windows.clear()


# INCR and the first PEXPIRE in one step: a crash between them cannot leave a key
# that never expires.
_REDIS_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
"""


class RedisRateLimiter:
    """The same fixed windows, kept in Redis so that every replica counts together."""

    def __init__(self, url: str, prefix: str = "strumspace:rl:") -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_REDIS_HIT)
        self._prefix = prefix

    async def hit(self, key: str, limit: int, window_s: float) -> float | None:
        count, ttl_ms = await self._script(
            keys=[self._prefix + key], args=[max(1, int(window_s * 1000))]
        )
        if int(count) > limit:
            return max(int(ttl_ms), 1) / 1000
        return None

    async def close(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window_s: float = 60.0


# Routes that guess passwords or send mail get the strict rule.
AUTH_ROUTES = {
    ("POST", f"{API_PREFIX}/auth/token"),
    ("POST", f"{API_PREFIX}/accounts"),
    ("POST", f"{API_PREFIX}/accounts/password-reset"),
    ("POST", f"{API_PREFIX}/accounts/password-reset/confirm"),
}
# Probes and scrapes are never limited: an orchestrator must always reach them.
UNLIMITED_PATHS = {"/healthz", "/readyz", "/metrics"}


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class RateLimitMiddleware:
    """Per route and client address. Routes are matched on the raw path before routing,
    so a flood of 404s is limited as well."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, auth: Rule, default: Rule) -> None:
        self.app, self.limiter, self.auth, self.default = app, limiter, auth, default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        rule = self.auth if (method, path) in AUTH_ROUTES else self.default
        key = f"{rule.name}:{method} {path}:{_client(scope)}" if rule is self.auth \
            else f"{rule.name}:{_client(scope)}"
        retry_after = await self.limiter.hit(key, rule.limit, rule.window_s)
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(retry_after))
        response = error_response(
            429, "too_many_requests",
            f"rate limit of {rule.limit} requests per {rule.window_s:g} s exceeded; "
            f"retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
        await response(scope, receive, send)


# --- body size and timeouts -------------------------------------------------------------


# HTTPException subclasses: raised inside a handler while it reads its body, FastAPI
# passes them through (any other exception there becomes a 400), and the error
# handlers turn them into our error body.
class _BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class _ClientStalled(StarletteHTTPException):
    def __init__(self, timeout_s: float) -> None:
        super().__init__(408, f"no request body data arrived for {timeout_s:g} s")


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413: from Content-Length before reading, and
    while streaming for chunked bodies. Paths under `large_prefix` (blob upload chunks)
    get `large_limit`; their handler checks the exact chunk size itself. `uploads` maps
    more path prefixes to their own limits (the chord analysis upload)."""

    def __init__(self, app: ASGIApp, limit: int, large_prefix: str, large_limit: int,
                 uploads: dict[str, int] | None = None) -> None:
        self.app, self.limit = app, limit
        self.large_prefix, self.large_limit = large_prefix, large_limit
        self.uploads = uploads or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.large_limit if scope["path"].startswith(self.large_prefix) else self.limit
        limit = next((v for k, v in self.uploads.items() if scope["path"].startswith(k)), limit)
        message = f"the request body is larger than the limit of {limit} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_large = int(value) > limit
                except ValueError:
                    too_large = False
                if too_large:
                    await error_response(413, "too_large", message)(scope, receive, send)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await error_response(413, "too_large", message)(scope, receive, send)


class TimeoutMiddleware:
    """504 when the handler has not started its answer within `timeout_s`; 408 when the
    client sends nothing of its body for `body_timeout_s`. A started answer (a long
    download) is never cut off."""

    def __init__(self, app: ASGIApp, timeout_s: float, body_timeout_s: float) -> None:
        self.app, self.timeout_s, self.body_timeout_s = app, timeout_s, body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = asyncio.Event()

        async def guarded_receive() -> Message:
            try:
                return await asyncio.wait_for(receive(), self.body_timeout_s)
            except TimeoutError:
                raise _ClientStalled(self.body_timeout_s) from None

        async def tracking_send(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                started.set()
            await send(msg)

        task = asyncio.ensure_future(self.app(scope, guarded_receive, tracking_send))
        waiter = asyncio.ensure_future(started.wait())
        try:
            done, _ = await asyncio.wait(
                {task, waiter}, timeout=self.timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done or waiter in done:
                await task  # answered, or answering: let it finish however long it streams
                return
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, _ClientStalled):
                await task
            if not started.is_set():
                await error_response(
                    504, "timeout", f"the request took longer than {self.timeout_s:g} s"
                )(scope, receive, send)
        except _ClientStalled as exc:
            if not started.is_set():
                await error_response(408, "request_timeout", exc.detail)(scope, receive, send)
        finally:
            waiter.cancel()


# --- WebSockets -----------------------------------------------------------------------

# Close codes (RFC 6455 §7.4.1): 1009 message too big, 1008 policy violation.
WS_CLOSE_TOO_BIG = 1009
WS_CLOSE_RATE_LIMITED = 1008


class WebSocketLimitExceeded(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class WebSocketGuard:
    """Per-connection limits for a WebSocket endpoint: message size and a token bucket
    of messages per second. Create one per connection; call `check` with each received
    message and, on WebSocketLimitExceeded, close with its `code` and `reason`:

        guard = WebSocketGuard.from_settings(settings)
        message = await websocket.receive_bytes()
        try:
            guard.check(message)
        except WebSocketLimitExceeded as exc:
            await websocket.close(exc.code, exc.reason)
    """

    def __init__(
        self,
        max_message_bytes: int,
        messages_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_message_bytes, self.rate, self.burst = max_message_bytes, messages_per_s, burst
        # Injectable so that tests step time by hand instead of sleeping (and racing a
        # busy machine); any monotonic source of seconds will do.
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    @classmethod
    def from_settings(
        cls, settings: Settings, clock: Callable[[], float] = time.monotonic
    ) -> WebSocketGuard:
        return cls(
            settings.ws_max_message_bytes, settings.ws_messages_per_s, settings.ws_message_burst,
            clock,
        )

    def check(self, message: bytes | str) -> None:
        size = len(message.encode() if isinstance(message, str) else message)
        if size > self.max_message_bytes:
            raise WebSocketLimitExceeded(
                WS_CLOSE_TOO_BIG, f"message of {size} bytes exceeds {self.max_message_bytes}"
            )
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1:
            raise WebSocketLimitExceeded(
                WS_CLOSE_RATE_LIMITED, f"more than {self.rate:g} messages per second"
            )
        self._tokens -= 1


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """Whether a WebSocket handshake with this Origin header may proceed. Compared
    case-insensitively; "scheme://host:*" matches that host on any port or none."""
    if origin is None:
        return True  # native clients send none
    origin = origin.strip().lower().rstrip("/")
    for pattern in allowed:
        pattern = pattern.strip().lower().rstrip("/")
        if pattern == "*" or pattern == origin:
            return True
        if pattern.endswith(":*"):
            base = pattern[:-2]
            rest = origin[len(base):] if origin.startswith(base) else None
            # The base must end at the host: "http://localhost.evil.example" is not it.
            if rest is not None and (rest == "" or (rest[0] == ":" and rest[1:].isdigit())):
                return True
    return False


def install(app: FastAPI, settings: Settings) -> RateLimiter:
    """Adds the limit middleware to `app`; returns the rate limiter (close it on shutdown)."""
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes,
                       large_prefix=f"{API_PREFIX}/blobs/uploads/",
                       # headers and framing aside, a chunk is what the handler allows
                       large_limit=settings.max_upload_chunk_bytes,
                       # the audio file plus the multipart framing around it
                       uploads={f"{API_PREFIX}/analysis": settings.analysis_max_bytes + 64 * 1024})
    app.add_middleware(TimeoutMiddleware, timeout_s=settings.request_timeout_s,
                       body_timeout_s=settings.body_read_timeout_s)
    limiter = make_rate_limiter(settings.redis_url)
    if settings.rate_limits_enabled:
        app.add_middleware(
            RateLimitMiddleware, limiter=limiter,
            auth=Rule("auth", settings.rate_limit_auth_per_min),
            default=Rule("default", settings.rate_limit_default_per_min),
        )
    return limiter
