"""Liveness, readiness and metrics: unversioned, for load balancers and Prometheus."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from cloud import __version__
from cloud.deps import ServiceDep
from cloud.schemas import Health, Readiness

router = APIRouter(tags=["service"])

READY_TIMEOUT_S = 2.0


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up (says nothing about the database)."""
    return Health(version=__version__)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(service: ServiceDep) -> JSONResponse:
    """Ready to serve: the database answers."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S), service.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        body, status = Readiness(status="ready", database="ok"), 200
    except Exception:
        body, status = Readiness(status="unavailable", database="unreachable"), 503
    return JSONResponse(body.model_dump(), status_code=status)


@router.get("/metrics", include_in_schema=False)
async def metrics(service: ServiceDep) -> Response:
    return service.metrics.render()
