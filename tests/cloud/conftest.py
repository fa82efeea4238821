"""Cloud tests run against a real PostgreSQL: the embedded one, started once per session
in a temporary folder on a free port. Each test starts from empty tables. Helpers the
tests import live in cloud_support.py."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cloud_support import TEST_DB, RecordingMailer, create_database, libpq
from fastapi.testclient import TestClient

from cloud import migrations
from cloud.app import create_app
from cloud.config import Settings
from cloud.db.embedded import EmbeddedPostgres
from cloud.db.models import Base


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of the session's server (its `postgres` maintenance database).

    Its folder is not under pytest's /tmp/pytest-of-<user>: as root the server runs as
    another user, and any other pytest session starting meanwhile resets that folder
    to mode 0700, which locked the server out of its own data in a full run."""
    root = Path(tempfile.mkdtemp(prefix="strumspace-test-pg-"))
    pg = EmbeddedPostgres(root)
    try:
        url = pg.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield url
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def db_url(pg_url: str) -> str:
    """A migrated database shared by the API tests."""
    url = create_database(pg_url, TEST_DB)
    migrations.upgrade(url)
    return url


@pytest.fixture
def clean_db(db_url: str) -> str:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with psycopg.connect(libpq(db_url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} CASCADE")
    return db_url


@pytest.fixture
def settings(clean_db: str, tmp_path: Path) -> Settings:
    # Cheap Argon2 parameters: the tests hash dozens of passwords on a shared 2-core machine.
    return Settings(
        database_url=clean_db,
        data_dir=tmp_path,
        argon2_time_cost=1,
        argon2_memory_cost_kib=1024,
        db_pool_size=2,
    )


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def client(settings: Settings, mailer: RecordingMailer) -> Iterator[TestClient]:
    with TestClient(create_app(settings, mailer=mailer), raise_server_exceptions=False) as c:
        yield c
