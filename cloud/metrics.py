"""Prometheus metrics: request latency per route, and the database pool."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
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
        self.registry.register(PoolCollector(engine))

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Times each HTTP request and writes the access log line (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
            route = scope.get("route")
            # The route template, not the raw path: ids in paths would explode the label set.
            template = getattr(route, "path", "unmatched")
            request = Request(scope)
            self.metrics.latency.labels(request.method, template, str(status)).observe(elapsed)
            access_log.info(
                "request",
                extra={"method": request.method, "path": request.url.path, "status": status,
                       "duration_ms": round(elapsed * 1000, 2)},
            )
