"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloud import __version__, errors, limits
from cloud.auth.keys import KeyRing
from cloud.auth.mailer import LogMailer, Mailer
from cloud.auth.passwords import Passwords
from cloud.config import Settings
from cloud.db.engine import make_engine, make_sessionmaker
from cloud.deps import Service
from cloud.metrics import Metrics, MetricsMiddleware
from cloud.routers import accounts, analysis, auth, blobs, health, projects
from cloud.schemas import API_VERSION


def create_app(settings: Settings, mailer: Mailer | None = None) -> FastAPI:
    """The service on `settings.database_url`, which must already be migrated
    (`serve` starts the database and migrates before calling this)."""
    if not settings.database_url:
        raise ValueError("create_app needs settings.database_url")
    engine = make_engine(settings.database_url, settings.db_pool_size)
    metrics = Metrics(engine)
    service = Service(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        keyring=KeyRing(settings.signing_keys_dir, settings.jwt_issuer),
        passwords=Passwords(settings.argon2_time_cost, settings.argon2_memory_cost_kib),
        mailer=mailer or LogMailer(),
        metrics=metrics,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with service.sessions() as session:
            await service.keyring.load(session)
        yield
        await engine.dispose()
        await rate_limiter.close()
        analysis_pool.close()

    app = FastAPI(
        title="StrumSpace cloud",
        version=__version__,
        summary=f"API version {API_VERSION}",
        lifespan=lifespan,
    )
    app.state.service = service
    errors.install(app)
    rate_limiter = limits.install(app, settings)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.include_router(health.router)
    app.include_router(auth.jwks_router)
    app.include_router(auth.router)
    app.include_router(accounts.router)
    app.include_router(projects.router)
    blobs.install(app, settings)
    analysis_pool = analysis.install(app, settings)
    return app
