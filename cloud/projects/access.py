"""Who may do what with a project. A project the account cannot see does not exist for
it: every lookup answers 404, never 403, so ids of private projects leak nothing."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Project, ProjectMember
from cloud.errors import ApiError

RoleName = Literal["owner", "editor", "viewer"]
_RANK = {"viewer": 0, "editor": 1, "owner": 2}


def as_role(name: str) -> RoleName:
    if name not in _RANK:
        raise ValueError(f"unknown role {name!r}")
    return name  # type: ignore[return-value]


def not_found() -> ApiError:
    return ApiError(404, "project_not_found", "no such project")


async def role_of(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> tuple[Project, RoleName] | None:
    """The project and the user's role on it, or None when the user cannot see it.
    `lock` takes a row lock on the project: writers of its document serialise on it."""
    query = select(Project).where(Project.id == project_id)
    if lock:
        query = query.with_for_update()
    project = await session.scalar(query)
    if project is None:
        return None
    if project.owner_id == user_id:
        return project, "owner"
    role = await session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )
    if role == "editor":
        return project, "editor"
    if role == "viewer":
        return project, "viewer"
    return None


async def require(
    session: AsyncSession,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    at_least: RoleName,
    *,
    lock: bool = False,
) -> tuple[Project, RoleName]:
    """404 for strangers; 403 for members whose role is too low (they know it exists)."""
    found = await role_of(session, project_id, user_id, lock=lock)
    if found is None:
        raise not_found()
    if _RANK[found[1]] < _RANK[at_least]:
        raise ApiError(403, "insufficient_role", f"this needs the {at_least} role or higher")
    return found


def can_write(role: RoleName) -> bool:
    return _RANK[role] >= _RANK["editor"]
