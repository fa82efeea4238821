"""The maintenance worker (`strumspace-cloud worker`): periodic jobs on the service's data.

Every job is safe with several workers (and servers) at once: each claims what it works
on through PostgreSQL (advisory locks, or row locks taken with SKIP LOCKED), so two
workers never process the same row or blob, and neither waits on the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.blobs import BlobStorage, Staging, make_storage
from cloud.config import Settings
from cloud.db.engine import make_engine, make_sessionmaker
from cloud.db.models import (
    Blob,
    BlobUpload,
    OneTimeToken,
    Project,
    ProjectSnapshot,
    ProjectUpdate,
    RefreshToken,
)
from cloud.projects import document

log = logging.getLogger("cloud.worker")

# Key of the advisory lock that lets one worker at a time sweep the token tables.
_TOKENS_LOCK = 0x5354_524D_544F_4B31  # "STRMTOK1"
# At most this many rows per job and round: a huge backlog is worked off over rounds
# in short transactions rather than one long one.
BATCH = 1000

Counts = dict[str, int]


def _now() -> datetime:
    return datetime.now(UTC)


async def _try_lock(session: AsyncSession, key_sql: str, params: dict[str, object]) -> bool:
    """A transaction-scoped advisory lock, without waiting: False if someone holds it."""
    got = await session.scalar(text(f"SELECT pg_try_advisory_xact_lock({key_sql})"), params)
    return bool(got)


def _rowcount(result: Result[Any]) -> int:
    # A DELETE's result is a CursorResult, which has rowcount; the stubs say Result.
    return int(cast(CursorResult[Any], result).rowcount)


class Worker:
    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        if not settings.database_url:
            raise ValueError("Worker needs settings.database_url")
        self.settings = settings
        self._own_engine = engine is None
        self.engine = engine or make_engine(settings.database_url, pool_size=2)
        self.sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(self.engine)
        self.storage: BlobStorage = make_storage(settings)
        self.staging = Staging(settings.uploads_dir)

    async def aclose(self) -> None:
        if self._own_engine:
            await self.engine.dispose()

    # --- the jobs ---------------------------------------------------------------------

    async def expire_tokens(self) -> Counts:
        """Delete expired one-time tokens (password resets, WebSocket tickets) and
        refresh-token families whose every member has expired."""
        async with self.sessions() as session, session.begin():
            if not await _try_lock(session, ":k", {"k": _TOKENS_LOCK}):
                return {"skipped": 1}  # another worker is sweeping them right now
            now = _now()
            one_time = await session.execute(
                delete(OneTimeToken).where(OneTimeToken.expires_at < now))
            # A family stays while any member lives: its rotated (spent) tokens are what
            # detects the reuse of a leaked one and revokes the live successor.
            live = select(RefreshToken.family_id).where(RefreshToken.expires_at >= now)
            refresh = await session.execute(
                delete(RefreshToken).where(RefreshToken.expires_at < now,
                                           RefreshToken.family_id.not_in(live)))
        return {"one_time_tokens": _rowcount(one_time), "refresh_tokens": _rowcount(refresh)}

    async def abort_idle_uploads(self) -> Counts:
        """Abort uploads that received nothing for `upload_idle_timeout_s`; delete their
        staged bytes."""
        cutoff = _now() - timedelta(seconds=self.settings.upload_idle_timeout_s)
        async with self.sessions() as session, session.begin():
            # SKIP LOCKED: an upload whose chunk is being written right now (the handler
            # holds its row lock) or that another worker claimed is left alone.
            idle = (select(BlobUpload.id).where(BlobUpload.updated_at < cutoff)
                    .limit(BATCH).with_for_update(skip_locked=True))
            gone = list(await session.scalars(
                delete(BlobUpload).where(BlobUpload.id.in_(idle)).returning(BlobUpload.id)))
        # After the commit: no handler can write to an upload whose row is gone.
        for upload_id in gone:
            await self.staging.discard(upload_id)
        return {"aborted": len(gone)}

    async def collect_orphans(self) -> Counts:
        """Delete stored bytes that no account references (account deletion leaves them,
        since the references go by foreign-key cascade), once older than the grace."""
        cutoff = _now() - timedelta(seconds=self.settings.orphan_grace_s)
        candidates = await self.storage.stored_before(cutoff)
        deleted = busy = 0
        for sha256 in candidates[:BATCH]:
            async with self.sessions() as session, session.begin():
                # The same lock the upload handler holds from storing the bytes until
                # its reference commits, and blob deletion holds too: an upload that
                # is finishing makes us skip the hash (and so does another worker).
                if not await _try_lock(session, "hashtextextended(:h, 0)", {"h": sha256}):
                    busy += 1
                    continue
                if await session.scalar(select(exists().where(Blob.sha256 == sha256))):
                    continue
                # Re-checked under the lock: another worker may have just deleted it.
                if not await self.storage.exists(sha256):
                    continue
                await self.storage.delete(sha256)
                deleted += 1
        return {"deleted": deleted, "busy": busy,
                "referenced": len(candidates[:BATCH]) - deleted - busy}

    async def compact_projects(self) -> Counts:
        """Merge the update logs that reached `compact_after_updates` into snapshots
        (rooms do this as they go; projects edited by a replica that died are not)."""
        threshold = self.settings.compact_after_updates
        after = func.coalesce(
            select(ProjectSnapshot.last_update_id)
            .where(ProjectSnapshot.project_id == ProjectUpdate.project_id)
            .scalar_subquery(), 0)
        grown = (select(ProjectUpdate.project_id)
                 .where(ProjectUpdate.id > after)
                 .group_by(ProjectUpdate.project_id)
                 .having(func.count() >= threshold)
                 .limit(BATCH))
        async with self.sessions() as session:
            project_ids = list(await session.scalars(grown))
        compacted = busy = 0
        for project_id in project_ids:
            async with self.sessions() as session, session.begin():
                # A project being compacted elsewhere (a room or a worker) is skipped;
                # compact() takes the same row lock, which we then already hold.
                locked = await session.scalar(
                    select(Project.id).where(Project.id == project_id)
                    .with_for_update(skip_locked=True))
                if locked is None:
                    busy += 1
                    continue
                _, pending = await document.load_doc(session, project_id)
                if pending < threshold:
                    continue  # compacted by someone else since we looked
                await document.compact(session, project_id)
                compacted += 1
        return {"compacted": compacted, "busy": busy}

    # --- running them ------------------------------------------------------------------

    def jobs(self) -> dict[str, Callable[[], Awaitable[Counts]]]:
        return {
            "expire_tokens": self.expire_tokens,
            "abort_idle_uploads": self.abort_idle_uploads,
            "collect_orphans": self.collect_orphans,
            "compact_projects": self.compact_projects,
        }

    async def run_once(self) -> dict[str, Counts]:
        """Every job once. A failing job is logged and the others still run."""
        results: dict[str, Counts] = {}
        for name, job in self.jobs().items():
            started = time.monotonic()
            try:
                results[name] = counts = await job()
            except Exception:
                log.exception("job failed", extra={"job": name})
                results[name] = {"failed": 1}
                continue
            log.info("job done", extra={"job": name, **counts,
                                        "duration_s": round(time.monotonic() - started, 3)})
        return results

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.run_once()
            # Sleeps until the next round, or wakes at once on SIGTERM/SIGINT.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.worker_interval_s)


async def run(settings: Settings, once: bool) -> dict[str, Counts] | None:
    worker = Worker(settings)
    try:
        if once:
            return await worker.run_once()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info("worker started", extra={"interval_s": settings.worker_interval_s})
        await worker.run_forever(stop)
        log.info("worker stopped")
        return None
    finally:
        await worker.aclose()
