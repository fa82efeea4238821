"""Refresh tokens (rotation with reuse detection) and one-time tokens in the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.secrets import new_token, token_hash
from cloud.db.models import OneTimeToken, RefreshToken

PURPOSE_PASSWORD_RESET = "password_reset"
PURPOSE_WS_TICKET = "ws_ticket"


class RefreshOutcome(Enum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REUSED = "reused"


class RefreshRejected(Exception):
    def __init__(self, outcome: RefreshOutcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


def _now() -> datetime:
    return datetime.now(UTC)


async def issue_refresh_token(
    session: AsyncSession, user_id: uuid.UUID, ttl_s: int, family_id: uuid.UUID | None = None
) -> str:
    token = new_token()
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id or uuid.uuid4(),
            token_hash=token_hash(token),
            expires_at=_now() + timedelta(seconds=ttl_s),
        )
    )
    return token


async def rotate_refresh_token(
    session: AsyncSession, token: str, ttl_s: int
) -> tuple[uuid.UUID, str]:
    """Spend `token` for a successor; returns (user id, new token). A token presented a
    second time means it leaked (or the client raced itself): the whole family dies.
    The caller commits, also when this raises (the revocation must stick)."""
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(token)).with_for_update()
    )
    if row is None:
        raise RefreshRejected(RefreshOutcome.UNKNOWN)
    if row.revoked_at is not None:
        raise RefreshRejected(RefreshOutcome.REVOKED)
    if row.rotated_at is not None:
        await revoke_family(session, row.family_id)
        raise RefreshRejected(RefreshOutcome.REUSED)
    if row.expires_at <= _now():
        raise RefreshRejected(RefreshOutcome.EXPIRED)
    row.rotated_at = _now()
    successor = await issue_refresh_token(session, row.user_id, ttl_s, row.family_id)
    return row.user_id, successor


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


async def revoke_by_token(session: AsyncSession, token: str) -> None:
    family = await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == token_hash(token))
    )
    if family is not None:
        await revoke_family(session, family)


async def revoke_all_for_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


async def issue_one_time(
    session: AsyncSession, user_id: uuid.UUID, purpose: str, ttl_s: int
) -> str:
    token = new_token()
    # Expired ones of this user are dead weight: drop them while we are here.
    await session.execute(
        delete(OneTimeToken).where(
            OneTimeToken.user_id == user_id, OneTimeToken.expires_at < _now()
        )
    )
    session.add(
        OneTimeToken(
            token_hash=token_hash(token),
            purpose=purpose,
            user_id=user_id,
            expires_at=_now() + timedelta(seconds=ttl_s),
        )
    )
    return token


async def consume_one_time(session: AsyncSession, token: str, purpose: str) -> uuid.UUID | None:
    """The user the token was issued to, or None. A single DELETE … RETURNING: of two
    replicas presented the same token at once, exactly one wins."""
    result = await session.scalar(
        delete(OneTimeToken)
        .where(
            OneTimeToken.token_hash == token_hash(token),
            OneTimeToken.purpose == purpose,
            OneTimeToken.expires_at > _now(),
        )
        .returning(OneTimeToken.user_id)
    )
    return result
