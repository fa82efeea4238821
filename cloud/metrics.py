"""Prometheus metrics: request latency per route, open WebSockets per endpoint, and the
database pool."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("cloud.access")


class PoolCollector(Collector):
    """Read at scrape time, so the numbers are never stale."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.engine.sync_engine.pool
        if not isinstance(pool, QueuePool):
            return
        checked_out = GaugeMetricFamily(
            "strumspace_db_pool_connections", "database connections by state", labels=["state"]
        )
        checked_out.add_metric(["in_use"], pool.checkedout())
        checked_out.add_metric(["idle"], pool.checkedin())
        yield checked_out
        yield GaugeMetricFamily("strumspace_db_pool_size", "configured pool size", pool.size())


class Metrics:
    def __init__(self, engine: AsyncEngine) -> None:
        # One registry per app: tests build many apps in one process.
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "strumspace_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.websockets_open = Gauge(
            "strumspace_websockets_open",
            "WebSocket connections accepted and not yet ended",
            ["endpoint"],
            registry=self.registry,
        )
        self.registry.register(PoolCollector(engine))

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _route_template(scope: Scope) -> str:
    # The route template, not the raw path: ids in paths would explode the label set.
    return getattr(scope.get("route"), "path", "unmatched")


class MetricsMiddleware:
    """Times each HTTP request and writes the access log line; counts open WebSockets
    (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            template = _route_template(scope)
            request = Request(scope)
            self.metrics.latency.labels(request.method, template, str(status)).observe(elapsed)
            access_log.info(
                "request",
                extra={"method": request.method, "path": request.url.path, "status": status,
                       "duration_ms": round(elapsed * 1000, 2)},
            )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Counted from the accept (a refused handshake was never open) to the end of the
        # app's handling, however it ends: a close, a disconnect or an exception.
        gauge = None

        async def send_wrapper(message: Message) -> None:
            nonlocal gauge
            await send(message)
            if message["type"] == "websocket.accept" and gauge is None:
                # Routing has filled scope["route"] by the time the endpoint accepts.
                gauge = self.metrics.websockets_open.labels(_route_template(scope))
                gauge.inc()

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if gauge is not None:
                gauge.dec()
