"""A project's Yjs document in Postgres: a snapshot plus the log of updates after it.

Readers rebuild the document from the snapshot and the log; compaction merges the log
into the snapshot in one transaction (under the project's row lock), so a reader sees
either the old snapshot with its log or the new snapshot, never a gap."""

from __future__ import annotations

import uuid
from typing import Any

from pycrdt import Array, Doc, Map, Text
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Project, ProjectSnapshot, ProjectUpdate

# What Doc().get_update() returns: an update that changes nothing.
EMPTY_UPDATE = b"\x00\x00"


def is_valid_update(data: bytes) -> bool:
    try:
        Doc().apply_update(data)
    except ValueError:
        return False
    return True


async def load_doc(session: AsyncSession, project_id: uuid.UUID) -> tuple[Doc, int]:
    """The document and the number of updates in its log (not yet compacted)."""
    doc: Doc = Doc()
    snapshot = await session.get(ProjectSnapshot, project_id)
    if snapshot is not None:
        doc.apply_update(snapshot.state)
    # Every row still in the log, not only those above the snapshot's last id: an update
    # whose id was drawn before a compaction but that committed after it is neither in
    # the snapshot nor deleted with the rows it folded. Yjs updates are idempotent, so
    # a row the snapshot already holds changes nothing.
    rows = await session.scalars(
        select(ProjectUpdate.data)
        .where(ProjectUpdate.project_id == project_id)
        .order_by(ProjectUpdate.id)
    )
    count = 0
    for data in rows:
        doc.apply_update(data)
        count += 1
    return doc, count


async def load_state(session: AsyncSession, project_id: uuid.UUID) -> bytes:
    doc, _ = await load_doc(session, project_id)
    return doc.get_update()


async def append_update(session: AsyncSession, project_id: uuid.UUID, data: bytes) -> int:
    """Add one update to the log; the caller commits."""
    row = ProjectUpdate(project_id=project_id, data=data)
    session.add(row)
    await session.flush()
    return row.id


async def compact(session: AsyncSession, project_id: uuid.UUID) -> None:
    """Merge the log into the snapshot; the caller commits. Rebuilding through a Doc
    (rather than concatenating updates) also drops deleted content's payload."""
    # Concurrent compactions of one project would each delete the other's log rows.
    await session.execute(select(Project.id).where(Project.id == project_id).with_for_update())
    last = await session.scalar(
        select(func.max(ProjectUpdate.id)).where(ProjectUpdate.project_id == project_id)
    )
    if last is None:
        return
    doc, _ = await load_doc(session, project_id)
    state = doc.get_update()
    stmt = insert(ProjectSnapshot).values(project_id=project_id, state=state, last_update_id=last)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ProjectSnapshot.project_id],
            set_={"state": state, "last_update_id": last, "updated_at": func.now()},
        )
    )
    await session.execute(
        delete(ProjectUpdate).where(
            ProjectUpdate.project_id == project_id, ProjectUpdate.id <= last
        )
    )


# --- restoring a version: a forward edit ---------------------------------------------

def restore_update(current_state: bytes, version_state: bytes) -> bytes:
    """The Yjs update that makes the current document's content equal to the version's.

    It is a new edit on top of the history (peers merge it like any other), not a
    rewind: the document's own history and every peer's state stay valid. Root and
    nested Y.Maps are synced key by key (the document schema uses only those)."""
    current: Doc = Doc()
    current.apply_update(current_state)
    version: Doc = Doc()
    version.apply_update(version_state)
    before = current.get_state()
    with current.transaction(origin="restore"):
        # A root's type is not stored in the update; the schema makes every root a Y.Map.
        for name in set(version.keys()) | set(current.keys()):
            _sync_map(current.get(name, type=Map), version.get(name, type=Map))
    return current.get_update(before)


def _sync_map(target: Map[Any], source: Map[Any]) -> None:
    wanted: dict[str, Any] = dict(source.items())
    for key in list(target.keys()):
        if key not in wanted:
            del target[key]
    for key, value in wanted.items():
        existing = target.get(key)
        if isinstance(value, Map):
            if not isinstance(existing, Map):
                target[key] = Map()
                existing = target[key]
            _sync_map(existing, value)
        elif isinstance(value, (Text, Array)):
            # Not in the schema; written back as a plain value of the same content.
            target[key] = value.to_py()
        elif isinstance(existing, (Map, Text, Array)) or existing != value:
            target[key] = value
