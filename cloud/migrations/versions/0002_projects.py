"""Projects: projects, shares, the Yjs update log, compacted snapshots, named versions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def _project_fk() -> sa.Column[Any]:
    return sa.Column("project_id", postgresql.UUID(as_uuid=True),
                     sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("owner_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _ts("created_at", nullable=False, server_default=sa.func.now()),
        _ts("updated_at", nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_projects_owner", "projects", ["owner_id"])
    op.create_table(
        "project_members",
        _project_fk(),
        sa.Column("user_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        _ts("created_at", nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("project_id", "user_id"),
        # The owner is projects.owner_id; shares are editors or viewers only.
        sa.CheckConstraint("role IN ('editor', 'viewer')", name="ck_project_members_role"),
    )
    op.create_index("ix_project_members_user", "project_members", ["user_id"])
    op.create_table(
        "project_updates",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        _project_fk(),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _ts("created_at", nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_project_updates_project", "project_updates", ["project_id", "id"])
    op.create_table(
        "project_snapshots",
        sa.Column("project_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        # Every update with an id up to this one is merged into `state`.
        sa.Column("last_update_id", sa.BigInteger(), nullable=False),
        _ts("updated_at", nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "project_versions",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        _project_fk(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        _ts("created_at", nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_project_versions_project", "project_versions", ["project_id"])


def downgrade() -> None:
    op.drop_table("project_versions")
    op.drop_table("project_snapshots")
    op.drop_table("project_updates")
    op.drop_table("project_members")
    op.drop_table("projects")
