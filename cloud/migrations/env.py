"""Alembic environment: online migrations only, on a synchronous psycopg connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from cloud.db.models import Base

config = context.config
url = config.attributes["database_url"]
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        # Replicas starting together: one migrates, the others wait, then find nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(7460571)"))
        context.run_migrations()
engine.dispose()
