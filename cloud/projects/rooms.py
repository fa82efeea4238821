"""Live sync rooms, one per open project, speaking the Yjs sync protocol (y-protocols,
as y-websocket and pycrdt-websocket frame it: one binary WebSocket message per protocol
message).

Every update goes through the room's lock: it is checked, committed to Postgres, applied
to the room's document and only then relayed, so a peer never sees an edit the database
could lose, and every peer receives edits in commit order. Rooms live in this process;
a project's peers must reach the same replica (room affinity at the load balancer)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from pycrdt import (
    Doc,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    create_update_message,
    read_message,
    write_message,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect

from cloud.limits import WebSocketGuard, WebSocketLimitExceeded
from cloud.projects import document
from cloud.projects.access import RoleName, can_write

log = logging.getLogger("cloud.sync")

# Close codes (4000-4999 are ours to define).
CLOSE_ACCESS_REVOKED = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_SERVER_ERROR = 1011
# Messages queued for one peer before it is dropped as too slow to keep up.
OUTBOX_LIMIT = 1024
# How long a closing peer's writer may take to send what was queued, then the close.
CLOSE_DRAIN_S = 5.0


def _step2(update: bytes) -> bytes:
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(update)


@dataclass(eq=False)
class Peer:
    websocket: WebSocket
    user_id: uuid.UUID
    role: RoleName
    # Messages to send, and finally (code, reason): the close.
    outbox: asyncio.Queue[bytes | tuple[int, str]] = field(
        default_factory=lambda: asyncio.Queue(OUTBOX_LIMIT)
    )
    closing: bool = False

    def send(self, message: bytes) -> None:
        if self.closing:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.close(CLOSE_TOO_SLOW, "fell too far behind the room")

    def close(self, code: int, reason: str = "") -> None:
        # The close jumps no queue on purpose: what was relayed before still goes out
        # first. Only the first close counts.
        if self.closing:
            return
        self.closing = True
        if self.outbox.full():
            # A full outbox would swallow the close, and the peer would silently miss
            # updates; it is being dropped anyway, so what it has not taken is discarded.
            while not self.outbox.empty():
                self.outbox.get_nowait()
        self.outbox.put_nowait((code, reason))

    async def writer(self) -> None:
        while True:
            item = await self.outbox.get()
            if isinstance(item, tuple):
                with contextlib.suppress(Exception):
                    await self.websocket.close(*item)
                return
            await self.websocket.send_bytes(item)


@dataclass(eq=False)
class Room:
    project_id: uuid.UUID
    doc: Doc
    pending: int  # updates in the log since the last compaction
    peers: set[Peer] = field(default_factory=set)
    broken: bool = False


class Rooms:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        compact_after: int,
        new_guard: Callable[[], WebSocketGuard] | None = None,
    ) -> None:
        self._sessions = sessions
        self._compact_after = compact_after
        # One guard per connection (message size and rate); None: no limits.
        self._new_guard = new_guard
        self._rooms: dict[uuid.UUID, Room] = {}
        # One lock per project serialises opening its room and writing its document.
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}

    def _lock(self, project_id: uuid.UUID) -> asyncio.Lock:
        return self._locks.setdefault(project_id, asyncio.Lock())

    def peer_count(self, project_id: uuid.UUID) -> int:
        room = self._rooms.get(project_id)
        return len(room.peers) if room else 0

    async def _join(self, project_id: uuid.UUID, peer: Peer) -> Room:
        async with self._lock(project_id):
            room = self._rooms.get(project_id)
            if room is None:
                async with self._sessions() as session:
                    doc, pending = await document.load_doc(session, project_id)
                room = Room(project_id, doc, pending)
                self._rooms[project_id] = room
            room.peers.add(peer)
            return room

    async def _leave(self, room: Room, peer: Peer) -> None:
        async with self._lock(room.project_id):
            room.peers.discard(peer)
            if not room.peers and self._rooms.get(room.project_id) is room:
                # The lock stays: a submit() may be waiting on it right now.
                del self._rooms[room.project_id]

    async def submit(self, project_id: uuid.UUID, update: bytes) -> None:
        """Store an update made by the server (a restore) and relay it to the room."""
        async with self._lock(project_id):
            room = self._rooms.get(project_id)
            if room is not None and not room.broken:
                await self._commit_and_relay(room, update, sender=None)
                return
            async with self._sessions() as session:
                await document.append_update(session, project_id, update)
                await session.commit()

    async def _commit_and_relay(self, room: Room, update: bytes, sender: Peer | None) -> None:
        # Caller holds the room's lock.
        async with self._sessions() as session:
            await document.append_update(session, room.project_id, update)
            await session.commit()
        room.doc.apply_update(update)
        room.pending += 1
        message = create_update_message(update)
        for peer in room.peers:
            if peer is not sender:
                peer.send(message)
        if room.pending >= self._compact_after:
            async with self._sessions() as session:
                await document.compact(session, room.project_id)
                await session.commit()
            room.pending = 0

    def revoke(self, project_id: uuid.UUID, user_id: uuid.UUID | None = None) -> None:
        """Disconnect a user whose access ended (all peers when user_id is None)."""
        room = self._rooms.get(project_id)
        if room is None:
            return
        for peer in list(room.peers):
            if user_id is None or peer.user_id == user_id:
                peer.close(CLOSE_ACCESS_REVOKED)

    async def serve(
        self, websocket: WebSocket, project_id: uuid.UUID, user_id: uuid.UUID, role: RoleName
    ) -> None:
        """Run one accepted connection until it closes."""
        peer = Peer(websocket, user_id, role)
        room = await self._join(project_id, peer)
        writer = asyncio.create_task(peer.writer())
        try:
            # Our state vector first: the peer answers with whatever we lack.
            peer.send(create_sync_message(room.doc))
            reader = asyncio.create_task(self._read(room, peer))
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            if writer not in done and peer.closing:
                # The reader ended with a close queued (a limit, a protocol error): let
                # the writer send it, or the client would see no code and no reason.
                await asyncio.wait({writer}, timeout=CLOSE_DRAIN_S)
                if writer.done():
                    done.add(writer)
            for task in (reader, writer):
                if task not in done:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect):
                    log.warning("sync connection failed", exc_info=exc)
                    # Tell the client, or it would wait on an open socket forever.
                    with contextlib.suppress(Exception):
                        await websocket.close(CLOSE_SERVER_ERROR, "internal error")
        finally:
            if not writer.done():
                writer.cancel()
            await self._leave(room, peer)

    async def _read(self, room: Room, peer: Peer) -> None:
        guard = self._new_guard() if self._new_guard is not None else None
        while True:
            message = await peer.websocket.receive_bytes()
            if guard is not None:
                try:
                    # Before any parsing or storing: an oversized or flooding peer costs
                    # no database work.
                    guard.check(message)
                except WebSocketLimitExceeded as exc:
                    log.info("sync connection over its limits",
                             extra={"project": str(room.project_id), "reason": exc.reason})
                    peer.close(exc.code, exc.reason)
                    return
            if not await self._handle(room, peer, message):
                return

    async def _handle(self, room: Room, peer: Peer, message: bytes) -> bool:
        """False when the connection must end."""
        if len(message) < 1:
            peer.close(CLOSE_PROTOCOL_ERROR)
            return False
        if message[0] == YMessageType.AWARENESS:
            # Presence (cursors, names): relayed as is, never stored.
            for other in room.peers:
                if other is not peer:
                    other.send(message)
            return True
        if message[0] != YMessageType.SYNC:
            return True  # other y-protocols messages (auth, query awareness): ignored
        try:
            kind = message[1]
            payload = read_message(message[2:])
        except (IndexError, RuntimeError):
            peer.close(CLOSE_PROTOCOL_ERROR)
            return False
        if kind == YSyncMessageType.SYNC_STEP1:
            async with self._lock(room.project_id):
                try:
                    peer.send(_step2(room.doc.get_update(payload)))
                except ValueError:
                    peer.close(CLOSE_PROTOCOL_ERROR)
                    return False
            return True
        if kind not in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
            peer.close(CLOSE_PROTOCOL_ERROR)
            return False
        if not can_write(peer.role):
            # Viewers read only; their client may still send its (local) edits.
            log.info("dropped an update from a viewer", extra={"project": str(room.project_id)})
            return True
        if payload == document.EMPTY_UPDATE:
            return True
        if not document.is_valid_update(payload):
            peer.close(CLOSE_PROTOCOL_ERROR)
            return False
        async with self._lock(room.project_id):
            if room.broken:
                peer.close(CLOSE_SERVER_ERROR)
                return False
            try:
                await self._commit_and_relay(room, payload, sender=peer)
            except Exception:
                # The database may or may not hold it: drop the room so that every peer
                # reconnects to a document reloaded from what was committed.
                log.exception("could not store an update", extra={"project": str(room.project_id)})
                room.broken = True
                if self._rooms.get(room.project_id) is room:
                    del self._rooms[room.project_id]
                for other in room.peers:
                    other.close(CLOSE_SERVER_ERROR)
                return False
        return True
