"""Helpers the cloud tests import (conftest.py holds only fixtures: several test folders
have a conftest.py, so `from conftest import ...` would find whichever came first)."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from fastapi.testclient import TestClient

TEST_DB = "strumspace_test"
PASSWORD = "correct horse battery"


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def create_database(pg_url: str, name: str) -> str:
    with psycopg.connect(libpq(pg_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(pg_url, name)


@dataclass
class RecordingMailer:
    """A real Mailer that keeps what it sends, as a test inbox."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)

    async def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


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


def live_account(port: int, email: str = "ada@example.com", sign_up: bool = True) -> dict[str, str]:
    """Sign up (unless done already) and sign in on a real `serve` on 127.0.0.1:`port`;
    the bearer header."""
    import httpx

    base = f"http://127.0.0.1:{port}"
    if sign_up:
        r = httpx.post(f"{base}/v1/accounts", json={"email": email, "password": PASSWORD},
                       timeout=30)
        assert r.status_code == 201, r.text
    r = httpx.post(f"{base}/v1/auth/token", data={
        "grant_type": "password", "username": email, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
