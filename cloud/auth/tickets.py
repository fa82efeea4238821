"""WebSocket tickets: fetched over authenticated HTTP, presented once when a socket
opens (browsers cannot set an Authorization header on a WebSocket)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.auth.store import PURPOSE_WS_TICKET, consume_one_time, issue_one_time


async def issue_ticket(session: AsyncSession, user_id: uuid.UUID, ttl_s: int) -> str:
    return await issue_one_time(session, user_id, PURPOSE_WS_TICKET, ttl_s)


async def verify_ticket(
    sessions: async_sessionmaker[AsyncSession], ticket: str | None
) -> uuid.UUID | None:
    """The ticket's user, spending the ticket; None when it is missing, unknown, expired
    or already used. WebSocket endpoints call this before accepting the handshake."""
    if not ticket or len(ticket) > 200:
        return None
    async with sessions() as session:
        user_id = await consume_one_time(session, ticket, PURPOSE_WS_TICKET)
        await session.commit()
        return user_id
