"""Alembic migrations, run by `strumspace-cloud migrate` and on start of `serve`.

Configured in code (no alembic.ini) so they work from an installed package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from cloud.db.url import sqlalchemy_url

SCRIPT_LOCATION = Path(__file__).parent


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    # Rendered with the password: alembic reads it back from the Config object only.
    url = sqlalchemy_url(database_url).render_as_string(hide_password=False)
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(alembic_config(database_url).attributes["database_url"])
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
