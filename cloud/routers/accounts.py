"""Accounts: sign-up, the signed-in account, password change and reset, deletion."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response, status
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from cloud.auth import store
from cloud.db.models import OneTimeToken, User
from cloud.deps import ServiceDep, SessionDep, UserDep
from cloud.errors import ApiError, unauthorized
from cloud.schemas import (
    API_PREFIX,
    Account,
    AccountDeletionRequest,
    ErrorResponse,
    PasswordChangeRequest,
    PasswordResetConfirm,
    PasswordResetRequest,
    SignUpRequest,
)

router = APIRouter(prefix=f"{API_PREFIX}/accounts", tags=["accounts"])

_401: dict[int | str, dict[str, Any]] = {401: {"model": ErrorResponse}}


def _account(user: User) -> Account:
    return Account(id=user.id, email=user.email, created_at=user.created_at)


@router.post("", response_model=Account, status_code=201, responses={409: {"model": ErrorResponse}})
async def sign_up(body: SignUpRequest, service: ServiceDep, session: SessionDep) -> Account:
    user = User(email=body.email, password_hash=await service.passwords.hash(body.password))
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        # The unique index decides, so two sign-ups racing for one address cannot both win.
        raise ApiError(409, "email_taken", "an account with this e-mail address exists") from None
    await session.refresh(user)
    return _account(user)


@router.get("/me", response_model=Account, responses=_401)
async def me(user: UserDep) -> Account:
    return _account(user)


@router.post("/me/password", status_code=204, responses=_401)
async def change_password(
    body: PasswordChangeRequest, service: ServiceDep, session: SessionDep, user: UserDep
) -> Response:
    """Change the password; every refresh token of the account is revoked (sign in again)."""
    if not await service.passwords.verify(body.current_password, user.password_hash):
        raise unauthorized("invalid_credentials", "the current password is wrong")
    user.password_hash = await service.passwords.hash(body.new_password)
    user.password_changed_at = datetime.now(UTC)
    await store.revoke_all_for_user(session, user.id)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/me", status_code=204, responses=_401)
async def delete_account(
    body: AccountDeletionRequest, service: ServiceDep, session: SessionDep, user: UserDep
) -> Response:
    """Delete the account and everything it owns (foreign keys cascade from users)."""
    if not await service.passwords.verify(body.password, user.password_hash):
        raise unauthorized("invalid_credentials", "the password is wrong")
    await session.delete(user)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password-reset", status_code=202, response_class=Response)
async def request_password_reset(
    body: PasswordResetRequest, service: ServiceDep, session: SessionDep
) -> Response:
    """Mail a one-time reset token. The answer is 202 whether or not the address has an
    account, so this cannot be used to find out who has one."""
    user = await session.scalar(select(User).where(User.email == body.email))
    if user is not None:
        ttl = service.settings.password_reset_ttl_s
        token = await store.issue_one_time(session, user.id, store.PURPOSE_PASSWORD_RESET, ttl)
        await session.commit()
        await service.mailer.send(
            user.email,
            "Reset your StrumSpace password",
            f"Your password reset token, valid for {ttl // 60} minutes: {token}",
        )
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/password-reset/confirm", status_code=204, responses={400: {"model": ErrorResponse}}
)
async def confirm_password_reset(
    body: PasswordResetConfirm, service: ServiceDep, session: SessionDep
) -> Response:
    user_id = await store.consume_one_time(session, body.token, store.PURPOSE_PASSWORD_RESET)
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None:
        raise ApiError(400, "invalid_reset_token", "the reset token is unknown, used or expired")
    user.password_hash = await service.passwords.hash(body.new_password)
    user.password_changed_at = datetime.now(UTC)
    # Other reset tokens and every session die with the old password.
    await session.execute(
        delete(OneTimeToken).where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == store.PURPOSE_PASSWORD_RESET,
        )
    )
    await store.revoke_all_for_user(session, user.id)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
