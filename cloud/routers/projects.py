"""Projects: create, list, rename, delete, share; the document; named versions; and the
WebSocket sync endpoint (one room per project)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response, WebSocket, status
from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from cloud.auth.tickets import verify_ticket
from cloud.db.models import Project, ProjectMember, ProjectVersion, User
from cloud.deps import Service, SessionDep, UserDep
from cloud.errors import ApiError
from cloud.limits import WebSocketGuard, origin_allowed
from cloud.projects import access, document
from cloud.projects.access import RoleName
from cloud.projects.rooms import Rooms
from cloud.schemas import (
    API_PREFIX,
    ErrorResponse,
    Member,
    MemberList,
    ProjectCreate,
    ProjectList,
    ProjectRename,
    ShareRequest,
    Version,
    VersionCreate,
    VersionList,
)
from cloud.schemas import Project as ProjectOut

router = APIRouter(prefix=API_PREFIX, tags=["projects"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404)
}


def rooms_of(app: FastAPI) -> Rooms:
    # Created on first use so that registering the router is the app's only change.
    rooms: Rooms | None = getattr(app.state, "rooms", None)
    if rooms is None:
        service: Service = app.state.service
        settings = service.settings
        rooms = Rooms(service.sessions, settings.compact_after_updates,
                      new_guard=lambda: WebSocketGuard.from_settings(settings))
        app.state.rooms = rooms
    return rooms


def _out(project: Project, role: RoleName) -> ProjectOut:
    return ProjectOut(
        id=project.id, name=project.name, owner_id=project.owner_id, role=role,
        created_at=project.created_at, updated_at=project.updated_at,
    )


@router.post("/projects", response_model=ProjectOut, status_code=201, responses=_ERRORS)
async def create_project(body: ProjectCreate, session: SessionDep, user: UserDep) -> ProjectOut:
    project = Project(owner_id=user.id, name=body.name)
    session.add(project)
    await session.commit()
    await session.refresh(project)
    return _out(project, "owner")


@router.get("/projects", response_model=ProjectList, responses=_ERRORS)
async def list_projects(session: SessionDep, user: UserDep) -> ProjectList:
    """Projects the account owns or that were shared with it, most recently changed first."""
    rows = await session.execute(
        select(Project, ProjectMember.role)
        .outerjoin(
            ProjectMember,
            (ProjectMember.project_id == Project.id) & (ProjectMember.user_id == user.id),
        )
        .where(or_(Project.owner_id == user.id, ProjectMember.user_id == user.id))
        .order_by(Project.updated_at.desc(), Project.id)
    )
    return ProjectList(projects=[
        _out(p, "owner" if p.owner_id == user.id else access.as_role(role))
        for p, role in rows.all()
    ])


@router.get("/projects/{project_id}", response_model=ProjectOut, responses=_ERRORS)
async def get_project(project_id: uuid.UUID, session: SessionDep, user: UserDep) -> ProjectOut:
    project, role = await access.require(session, project_id, user.id, "viewer")
    return _out(project, role)


@router.patch("/projects/{project_id}", response_model=ProjectOut, responses=_ERRORS)
async def rename_project(
    project_id: uuid.UUID, body: ProjectRename, session: SessionDep, user: UserDep
) -> ProjectOut:
    project, role = await access.require(session, project_id, user.id, "editor", lock=True)
    project.name = body.name
    project.updated_at = await session.scalar(select(func.now()))  # type: ignore[assignment]
    await session.commit()
    return _out(project, role)


@router.delete("/projects/{project_id}", status_code=204, responses=_ERRORS)
async def delete_project(
    project_id: uuid.UUID, request: Request, session: SessionDep, user: UserDep
) -> Response:
    """Owner only. The document, its history and every share go with it."""
    project, _ = await access.require(session, project_id, user.id, "owner", lock=True)
    await session.delete(project)
    await session.commit()
    rooms_of(request.app).revoke(project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- shares ---------------------------------------------------------------------------

@router.get("/projects/{project_id}/members", response_model=MemberList, responses=_ERRORS)
async def list_members(project_id: uuid.UUID, session: SessionDep, user: UserDep) -> MemberList:
    """Everyone with access, the owner first; any member may see who shares the project."""
    project, _ = await access.require(session, project_id, user.id, "viewer")
    owner = await session.get(User, project.owner_id)
    assert owner is not None  # the foreign key cascades: a project never outlives its owner
    rows = await session.execute(
        select(User.id, User.email, ProjectMember.role)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project_id)
        .order_by(User.email)
    )
    members = [Member(user_id=owner.id, email=owner.email, role="owner")]
    members += [
        Member(user_id=uid, email=email, role=access.as_role(role))
        for uid, email, role in rows.all()
    ]
    return MemberList(members=members)


@router.put("/projects/{project_id}/members", response_model=Member, responses=_ERRORS)
async def share_project(
    project_id: uuid.UUID, body: ShareRequest, request: Request, session: SessionDep,
    user: UserDep,
) -> Member:
    """Owner only: give an account (by e-mail) the editor or viewer role, or change it."""
    await access.require(session, project_id, user.id, "owner")
    target = await session.scalar(select(User).where(User.email == body.email))
    if target is None:
        raise ApiError(404, "account_not_found", "no account has this e-mail address")
    if target.id == user.id:
        raise ApiError(409, "already_owner", "the owner cannot be given another role")
    stmt = insert(ProjectMember).values(project_id=project_id, user_id=target.id, role=body.role)
    try:
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[ProjectMember.project_id, ProjectMember.user_id],
            set_={"role": body.role},
        ))
        await session.commit()
    except IntegrityError:
        # The project or the account was deleted meanwhile.
        raise access.not_found() from None
    # A live connection keeps the role it opened with: make a demoted peer reconnect.
    rooms_of(request.app).revoke(project_id, target.id)
    return Member(user_id=target.id, email=target.email, role=body.role)


@router.delete("/projects/{project_id}/members/{user_id}", status_code=204, responses=_ERRORS)
async def unshare_project(
    project_id: uuid.UUID, user_id: uuid.UUID, request: Request, session: SessionDep,
    user: UserDep,
) -> Response:
    """The owner removes anyone's share; a member may remove their own (leave)."""
    await access.require(session, project_id, user.id, "owner" if user_id != user.id else "viewer")
    result = await session.execute(
        delete(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )
    await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise ApiError(404, "member_not_found", "this account has no share in the project")
    rooms_of(request.app).revoke(project_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- the document and its versions -----------------------------------------------------

@router.get(
    "/projects/{project_id}/document",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, **_ERRORS},
)
async def get_document(project_id: uuid.UUID, session: SessionDep, user: UserDep) -> Response:
    """The whole document as one Yjs update (what a client applies to an empty Y.Doc)."""
    await access.require(session, project_id, user.id, "viewer")
    state = await document.load_state(session, project_id)
    return Response(state, media_type="application/octet-stream")


@router.get("/projects/{project_id}/versions", response_model=VersionList, responses=_ERRORS)
async def list_versions(project_id: uuid.UUID, session: SessionDep, user: UserDep) -> VersionList:
    await access.require(session, project_id, user.id, "viewer")
    rows = await session.execute(
        select(ProjectVersion.id, ProjectVersion.name, ProjectVersion.created_at)
        .where(ProjectVersion.project_id == project_id)
        .order_by(ProjectVersion.created_at.desc(), ProjectVersion.id)
    )
    return VersionList(versions=[Version(id=i, name=n, created_at=c) for i, n, c in rows.all()])


@router.post(
    "/projects/{project_id}/versions", response_model=Version, status_code=201, responses=_ERRORS
)
async def create_version(
    project_id: uuid.UUID, body: VersionCreate, session: SessionDep, user: UserDep
) -> Version:
    """Name the document as it is now (editors and the owner)."""
    await access.require(session, project_id, user.id, "editor")
    state = await document.load_state(session, project_id)
    version = ProjectVersion(project_id=project_id, name=body.name, state=state)
    session.add(version)
    await session.commit()
    await session.refresh(version)
    return Version(id=version.id, name=version.name, created_at=version.created_at)


@router.post(
    "/projects/{project_id}/versions/{version_id}/restore", status_code=204, responses=_ERRORS
)
async def restore_version(
    project_id: uuid.UUID, version_id: uuid.UUID, request: Request, session: SessionDep,
    user: UserDep,
) -> Response:
    """Make the document's content equal to the version's, as a new edit that every
    connected peer receives; the history before it stays (and can be restored too)."""
    await access.require(session, project_id, user.id, "editor")
    version = await session.scalar(
        select(ProjectVersion).where(
            ProjectVersion.id == version_id, ProjectVersion.project_id == project_id
        )
    )
    if version is None:
        raise ApiError(404, "version_not_found", "no such version of this project")
    current = await document.load_state(session, project_id)
    await session.commit()  # end the read transaction before the room's own
    update = document.restore_update(current, version.state)
    if update != document.EMPTY_UPDATE:
        await rooms_of(request.app).submit(project_id, update)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- sync ------------------------------------------------------------------------------

@router.websocket("/sync/{project_id}")
async def sync(websocket: WebSocket, project_id: uuid.UUID) -> None:
    """The Yjs sync protocol for one project; `?ticket=` from POST /v1/auth/ws-tickets.
    A bad ticket and a project the account cannot see are refused alike, before the
    handshake completes (HTTP 403), so the refusal says nothing about the project; so
    is a browser Origin outside `ws_allowed_origins`."""
    service: Service = websocket.app.state.service
    # Checked first, so that a page on another site cannot even spend a ticket.
    if not origin_allowed(websocket.headers.get("origin"), service.settings.ws_allowed_origins):
        await websocket.close(code=1008, reason="origin not allowed")
        return
    user_id = await verify_ticket(service.sessions, websocket.query_params.get("ticket"))
    found = None
    if user_id is not None:
        async with service.sessions() as session:
            found = await access.role_of(session, project_id, user_id)
    if user_id is None or found is None:
        await websocket.close(code=1008)
        return
    await websocket.accept()
    await rooms_of(websocket.app).serve(websocket, project_id, user_id, found[1])
