"""Cloud tests run against a real PostgreSQL: the embedded one, started once per session
in a temporary folder on a free port. Each test starts from empty tables."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from cloud import migrations
from cloud.app import create_app
from cloud.config import Settings
from cloud.db.embedded import EmbeddedPostgres
from cloud.db.models import Base

TEST_DB = "strumspace_test"
PASSWORD = "correct horse battery"


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the session's server (its `postgres` maintenance database)."""
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("embedded-pg"))
    url = pg.start()
    yield url
    pg.stop()


def create_database(pg_url: str, name: str) -> str:
    with psycopg.connect(libpq(pg_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(pg_url, name)


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


@dataclass
class RecordingMailer:
    """A real Mailer that keeps what it sends, as a test inbox."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)

    async def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def client(settings: Settings, mailer: RecordingMailer) -> Iterator[TestClient]:
    with TestClient(create_app(settings, mailer=mailer), raise_server_exceptions=False) as c:
        yield c


def sign_up(client: TestClient, email: str = "ada@example.com", password: str = PASSWORD) -> dict:
    response = client.post("/v1/accounts", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()


def sign_in(client: TestClient, email: str = "ada@example.com", password: str = PASSWORD) -> dict:
    response = client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
