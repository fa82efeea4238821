"""Migrations up and down on a database of their own; the models match them."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cloud_support import create_database, libpq
from sqlalchemy import create_engine

from cloud import migrations
from cloud.db.models import Base
from cloud.db.url import sqlalchemy_url


def _head() -> str | None:
    # The newest revision, whichever it is: later revisions must not break this test.
    return ScriptDirectory.from_config(migrations.alembic_config("postgresql://x/y")).get_current_head()


def _tables(url: str) -> set[str]:
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        return {r[0] for r in rows}


def _has_vector(url: str) -> bool:
    with psycopg.connect(libpq(url)) as conn:
        return conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() \
            is not None


def test_up_down_up(pg_url: str) -> None:
    url = create_database(pg_url, "migrations_test")
    assert migrations.current(url) is None
    migrations.upgrade(url)
    assert migrations.current(url) == _head()
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert _tables(url) == expected | {"alembic_version"}
    assert _has_vector(url)
    migrations.downgrade(url, "base")
    assert migrations.current(url) is None
    assert _tables(url) == {"alembic_version"}
    assert not _has_vector(url)
    migrations.upgrade(url)  # and back up: the downgrade left nothing in the way
    assert migrations.current(url) == _head()


def test_models_match_the_migrations(db_url: str) -> None:
    engine = create_engine(sqlalchemy_url(db_url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_projects_revision_down_and_up(pg_url: str) -> None:
    url = create_database(pg_url, "migrations_0002_test")
    migrations.upgrade(url, "0002")
    assert {"projects", "project_members", "project_updates", "project_snapshots",
            "project_versions"} <= _tables(url)
    migrations.downgrade(url, "0001")
    assert migrations.current(url) == "0001"
    assert not any(t.startswith("project") for t in _tables(url))
    assert "users" in _tables(url)
    migrations.upgrade(url, "0002")
    assert migrations.current(url) == "0002"
