"""What the `serve`, `worker`, `migrate`, `backup` and `restore` commands do."""

from __future__ import annotations

import logging
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from cloud import migrations
from cloud.config import Settings
from cloud.db.embedded import EmbeddedPostgres, pg_binary
from cloud.db.url import sqlalchemy_url

log = logging.getLogger("cloud.server")


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The database URL: DATABASE_URL, or the embedded server in data_dir (started for
    the duration, and stopped after if we started it)."""
    if settings.database_url:
        yield settings.database_url
        return
    pg = EmbeddedPostgres(settings.data_dir)
    url = pg.start()
    log.info("embedded PostgreSQL ready", extra={"data_dir": str(settings.data_dir)})
    try:
        yield url
    finally:
        if pg.started_here:
            pg.stop()


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signum)


def serve(settings: Settings) -> None:
    import uvicorn

    from cloud.app import create_app

    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal
    # under the handler it found. With the default handler the process would die
    # there, leaving the embedded PostgreSQL running; ours unwinds through `database`.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _raise_stop)
    try:
        with database(settings) as url:
            migrations.upgrade(url)
            app = create_app(settings.model_copy(update={"database_url": url}))
            log.info("listening", extra={"host": settings.host, "port": settings.port})
            uvicorn.run(app, host=settings.host, port=settings.port, log_config=None)
    except _Stop:
        log.info("stopped")


def worker(settings: Settings, once: bool) -> None:
    """The maintenance jobs (cloud/worker.py), on the database `serve` uses."""
    import asyncio

    from cloud import worker as jobs

    with database(settings) as url:
        # Like serve: a worker started first on a fresh data directory finds its tables.
        migrations.upgrade(url)
        asyncio.run(jobs.run(settings.model_copy(update={"database_url": url}), once))


def migrate(settings: Settings, revision: str, down: bool) -> str | None:
    with database(settings) as url:
        if down:
            migrations.downgrade(url, revision)
        else:
            migrations.upgrade(url, revision)
        return migrations.current(url)


def _libpq_url(url: str) -> str:
    # pg_dump speaks libpq URIs: no "+psycopg" driver suffix.
    return sqlalchemy_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(settings: Settings, path: Path) -> None:
    """A custom-format dump (compressed, restorable table by table) of the database."""
    with database(settings) as url:
        subprocess.run(
            [str(pg_binary("pg_dump")), "--format=custom", f"--file={path}",
             f"--dbname={_libpq_url(url)}"],
            check=True, capture_output=True, text=True,
        )


def restore(settings: Settings, path: Path) -> None:
    """Replace the database's contents with a dump made by `backup`."""
    with database(settings) as url:
        subprocess.run(
            [str(pg_binary("pg_restore")), "--clean", "--if-exists", "--single-transaction",
             "--no-owner", f"--dbname={_libpq_url(url)}", str(path)],
            check=True, capture_output=True, text=True,
        )
