"""What request handlers receive: the service context, a session, the current user."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.auth.keys import InvalidToken, KeyRing
from cloud.auth.mailer import Mailer
from cloud.auth.passwords import Passwords
from cloud.config import Settings
from cloud.db.models import User
from cloud.errors import unauthorized
from cloud.metrics import Metrics
from cloud.schemas import API_PREFIX


@dataclass
class Service:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keyring: KeyRing
    passwords: Passwords
    mailer: Mailer
    metrics: Metrics


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def get_session(
    service: Annotated[Service, Depends(get_service)],
) -> AsyncIterator[AsyncSession]:
    async with service.sessions() as session:
        yield session


# auto_error=False: we answer a missing token ourselves, in our error format.
_bearer = OAuth2PasswordBearer(tokenUrl=f"{API_PREFIX}/auth/token", auto_error=False)


async def current_user(
    token: Annotated[str | None, Depends(_bearer)],
    service: Annotated[Service, Depends(get_service)],
    session: Annotated[AsyncSession, Depends(get_session)],
) -> User:
    if not token:
        raise unauthorized("not_authenticated", "an access token is required")
    try:
        claims = await service.keyring.verify_access_token(session, token)
    except InvalidToken as exc:
        raise unauthorized("invalid_token", str(exc)) from None
    user = await session.get(User, claims.user_id)
    if user is None:
        raise unauthorized("invalid_token", "the account no longer exists")
    return user


ServiceDep = Annotated[Service, Depends(get_service)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
UserDep = Annotated[User, Depends(current_user)]
UserId = uuid.UUID
