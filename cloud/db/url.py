"""Normalise database URLs to the psycopg 3 driver SQLAlchemy should use."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def sqlalchemy_url(url: str) -> URL:
    """`postgres://…` and `postgresql://…` (what operators paste) → `postgresql+psycopg://…`."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+asyncpg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername != "postgresql+psycopg":
        raise ValueError(f"only PostgreSQL is supported, not {parsed.drivername!r}")
    return parsed
