"""Blob uploads: when each last received bytes, so the worker can abort idle ones.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows start their idle time now: nothing is aborted by the upgrade itself.
    op.add_column("blob_uploads", sa.Column("updated_at", sa.DateTime(timezone=True),
                                            nullable=False, server_default=sa.func.now()))
    op.create_index("ix_blob_uploads_updated_at", "blob_uploads", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_blob_uploads_updated_at", table_name="blob_uploads")
    op.drop_column("blob_uploads", "updated_at")
