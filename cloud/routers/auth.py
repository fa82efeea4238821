"""Tokens: sign-in and refresh (OAuth2 token endpoint), sign-out, JWKS, WebSocket tickets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response, status
from sqlalchemy import select

from cloud.auth import store
from cloud.auth.tickets import issue_ticket
from cloud.db.models import User
from cloud.deps import ServiceDep, SessionDep, UserDep
from cloud.errors import ApiError, unauthorized
from cloud.schemas import (
    API_PREFIX,
    PASSWORD_MAX_LENGTH,
    ErrorResponse,
    Jwks,
    SignOutRequest,
    TokenResponse,
    WebSocketTicket,
)

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])
jwks_router = APIRouter(tags=["auth"])

_401: dict[int | str, dict[str, Any]] = {401: {"model": ErrorResponse}}
_REFRESH_MESSAGES = {
    store.RefreshOutcome.UNKNOWN: ("invalid_grant", "unknown refresh token"),
    store.RefreshOutcome.EXPIRED: ("invalid_grant", "the refresh token has expired"),
    store.RefreshOutcome.REVOKED: ("invalid_grant", "the refresh token was revoked"),
    store.RefreshOutcome.REUSED: (
        "refresh_token_reused",
        "this refresh token was already used; every session it belonged to is now signed out",
    ),
}


async def _tokens(service: ServiceDep, user: User, refresh: str) -> TokenResponse:
    ttl = service.settings.access_token_ttl_s
    return TokenResponse(
        access_token=service.keyring.sign_access_token(user.id, ttl),
        expires_in=ttl,
        refresh_token=refresh,
    )


@router.post(
    "/token", response_model=TokenResponse, responses={**_401, 400: {"model": ErrorResponse}}
)
async def token(
    service: ServiceDep,
    session: SessionDep,
    grant_type: Annotated[str, Form(pattern="^(password|refresh_token)$")],
    username: Annotated[str | None, Form(max_length=320)] = None,
    password: Annotated[str | None, Form(max_length=PASSWORD_MAX_LENGTH)] = None,
    refresh_token: Annotated[str | None, Form(max_length=200)] = None,
) -> TokenResponse:
    """OAuth2 token endpoint (form-encoded). `grant_type=password` with `username` (the
    e-mail address) and `password` signs in; `grant_type=refresh_token` with
    `refresh_token` rotates: the presented token is spent and a new one returned."""
    if grant_type == "password":
        if username is None or password is None:
            raise ApiError(400, "invalid_request", "username and password are required")
        user = await session.scalar(select(User).where(User.email == username.lower()))
        ok = await service.passwords.verify(password, user.password_hash if user else None)
        if user is None or not ok:
            raise unauthorized("invalid_credentials", "wrong e-mail address or password")
        refresh = await store.issue_refresh_token(
            session, user.id, service.settings.refresh_token_ttl_s
        )
        await session.commit()
        return await _tokens(service, user, refresh)
    if refresh_token is None:
        raise ApiError(400, "invalid_request", "refresh_token is required")
    try:
        user_id, refresh = await store.rotate_refresh_token(
            session, refresh_token, service.settings.refresh_token_ttl_s
        )
    except store.RefreshRejected as exc:
        await session.commit()  # a reuse revoked the family: keep that
        code, message = _REFRESH_MESSAGES[exc.outcome]
        raise unauthorized(code, message) from None
    found = await session.get(User, user_id)
    assert found is not None  # tokens cascade with their user
    await session.commit()
    return await _tokens(service, found, refresh)


@router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(body: SignOutRequest, session: SessionDep) -> Response:
    """Revoke the refresh token and every token rotated from the same sign-in. Unknown
    tokens are accepted silently: signing out twice is not an error."""
    await store.revoke_by_token(session, body.refresh_token)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/ws-tickets", response_model=WebSocketTicket, status_code=201, responses=_401)
async def ws_ticket(service: ServiceDep, session: SessionDep, user: UserDep) -> WebSocketTicket:
    """A single-use ticket for opening one WebSocket; fetch a new one for every (re)connect."""
    ttl = service.settings.ws_ticket_ttl_s
    ticket = await issue_ticket(session, user.id, ttl)
    await session.commit()
    return WebSocketTicket(ticket=ticket, expires_in=ttl)


@jwks_router.get("/.well-known/jwks.json", response_model=Jwks)
async def jwks(service: ServiceDep, session: SessionDep) -> Jwks:
    """Public keys that verify access tokens (RFC 7517), for replicas and other services."""
    return Jwks(keys=await service.keyring.jwks(session))
