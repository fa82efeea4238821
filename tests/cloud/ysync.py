"""A minimal Yjs sync-protocol client over Starlette's test WebSocket, for the tests."""

from __future__ import annotations

from typing import Any

from pycrdt import (
    Doc,
    Map,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    create_update_message,
    read_message,
    write_message,
)


def step2(update: bytes) -> bytes:
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(update)


def content(doc: Doc) -> dict[str, Any]:
    # Every root of the song document is a Y.Map (docs/document-schema.md).
    return {name: doc.get(name, type=Map).to_py() for name in sorted(doc.keys())}


class YClient:
    def __init__(self, ws: Any, doc: Doc | None = None) -> None:
        self.ws = ws
        self.doc: Doc = doc if doc is not None else Doc()
        self.received_updates: list[bytes] = []

    def handshake(self) -> None:
        """Answer the server's step 1, send ours, apply its step 2."""
        first = self.ws.receive_bytes()
        assert first[:2] == bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP1])
        self.ws.send_bytes(step2(self.doc.get_update(read_message(first[2:]))))
        self.ws.send_bytes(create_sync_message(self.doc))
        self.receive_until(YSyncMessageType.SYNC_STEP2)

    def receive(self) -> tuple[int, bytes]:
        message = self.ws.receive_bytes()
        if message[0] == YMessageType.AWARENESS:
            return -1, message  # another peer's presence, relayed by the server
        assert message[0] == YMessageType.SYNC, message[:4]
        kind, payload = message[1], read_message(message[2:])
        if kind in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
            self.doc.apply_update(payload)
            self.received_updates.append(payload)
        return kind, payload

    def receive_until(self, kind: int) -> bytes:
        while True:
            got, payload = self.receive()
            if got == kind:
                return payload

    def flush(self) -> None:
        """A step-1 round trip: the server handles a connection's messages in order, so
        once its answer is back, everything sent before was stored (or dropped)."""
        empty_state_vector = b"\x00"
        self.ws.send_bytes(
            bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP1])
            + write_message(empty_state_vector)
        )
        self.receive_until(YSyncMessageType.SYNC_STEP2)

    def send_update(self, update: bytes) -> None:
        self.ws.send_bytes(create_update_message(update))

    def edit(self, root: str, key: str, value: Any) -> bytes:
        before = self.doc.get_state()
        self.doc.get(root, type=Map)[key] = value
        update = self.doc.get_update(before)
        self.send_update(update)
        return update
