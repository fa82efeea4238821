"""Blobs: resumable uploads (PUT with Content-Range), verified against their SHA-256,
deduplicated per account; downloads with range requests.

An account sees only the hashes it references: any other hash is 404, whether or not
another account stores it, and uploading requires the full bytes either way.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Path, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from cloud.blobs import BlobStorage, Staging, make_storage
from cloud.config import Settings
from cloud.db.models import Blob, BlobUpload, User
from cloud.deps import ServiceDep, SessionDep, UserDep
from cloud.errors import ApiError
from cloud.schemas import (
    API_PREFIX,
    BlobInfo,
    BlobList,
    BlobUploadCreate,
    ErrorResponse,
    Sha256Hex,
)
from cloud.schemas import BlobUpload as BlobUploadOut

router = APIRouter(prefix=f"{API_PREFIX}/blobs", tags=["blobs"])
UPLOADS_PREFIX = f"{API_PREFIX}/blobs/uploads/"

_err: dict[str, Any] = {"model": ErrorResponse}
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_OCTETS: dict[str, Any] = {"content": {"application/octet-stream": {}}}


def install(app: FastAPI, settings: Settings) -> None:
    app.state.blob_storage = make_storage(settings)
    app.state.blob_staging = Staging(settings.uploads_dir)
    app.include_router(router)


def _storage(request: Request) -> tuple[BlobStorage, Staging]:
    state = request.app.state
    return state.blob_storage, state.blob_staging


def _out(upload: BlobUpload) -> BlobUploadOut:
    return BlobUploadOut(id=upload.id, sha256=upload.sha256, size=upload.size,
                         offset=upload.received, complete=False)


async def _lock_hash(session: AsyncSession, sha256: str) -> None:
    # Serialises storing and deleting the bytes of one hash across accounts and replicas.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:h, 0))"),
                          {"h": sha256})


async def _used_bytes(session: AsyncSession, user_id: uuid.UUID) -> int:
    blobs = select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.user_id == user_id)
    uploads = select(func.coalesce(func.sum(BlobUpload.size), 0)).where(
        BlobUpload.user_id == user_id)
    return int(await session.scalar(blobs) or 0) + int(await session.scalar(uploads) or 0)


async def _own_upload(session: AsyncSession, user: User, upload_id: uuid.UUID,
                      lock: bool = False) -> BlobUpload:
    query = select(BlobUpload).where(BlobUpload.id == upload_id, BlobUpload.user_id == user.id)
    upload = await session.scalar(query.with_for_update() if lock else query)
    if upload is None:
        raise ApiError(404, "not_found", "no such upload")
    return upload


@router.post(
    "/uploads", response_model=BlobUploadOut, status_code=201,
    responses={200: {"model": BlobUploadOut}, 401: _err, 413: _err, 507: _err},
)
async def start_upload(body: BlobUploadCreate, request: Request, service: ServiceDep,
                       session: SessionDep, user: UserDep, response: Response) -> BlobUploadOut:
    """Start uploading a file, or learn where an earlier attempt stopped. 201: a new
    upload; 200: the account already holds the blob (`complete`) or an upload of it is
    under way (resume from `offset`)."""
    settings = service.settings
    if body.size > settings.max_blob_bytes:
        raise ApiError(413, "too_large",
                       f"a blob may have at most {settings.max_blob_bytes} bytes")
    # Row lock on the account: two uploads started at once cannot both fit the quota.
    await session.execute(select(User.id).where(User.id == user.id).with_for_update())
    if await session.get(Blob, (user.id, body.sha256)) is not None:
        response.status_code = 200
        return BlobUploadOut(id=None, sha256=body.sha256, size=body.size, offset=body.size,
                             complete=True)
    existing = await session.scalar(select(BlobUpload).where(
        BlobUpload.user_id == user.id, BlobUpload.sha256 == body.sha256))
    if existing is not None:
        if existing.size == body.size:
            response.status_code = 200
            return _out(existing)
        # Same hash, other size: one of the two claims is wrong; start over with this one.
        await session.delete(existing)
        await _storage(request)[1].discard(existing.id)
    used = await _used_bytes(session, user.id)
    if used + body.size > settings.storage_quota_bytes:
        raise ApiError(507, "quota_exceeded",
                       f"storage quota of {settings.storage_quota_bytes} bytes exceeded: "
                       f"{used} used, {body.size} more requested")
    upload = BlobUpload(user_id=user.id, sha256=body.sha256, size=body.size, received=0)
    session.add(upload)
    await session.commit()
    return _out(upload)


@router.get("/uploads/{upload_id}", response_model=BlobUploadOut, responses={404: _err})
async def upload_status(upload_id: uuid.UUID, session: SessionDep,
                        user: UserDep) -> BlobUploadOut:
    """Where an upload stands: send the rest from `offset`."""
    return _out(await _own_upload(session, user, upload_id))


@router.put(
    "/uploads/{upload_id}", response_model=BlobUploadOut,
    responses={201: {"model": BlobUploadOut}, 400: _err, 404: _err, 409: _err, 413: _err,
               422: _err},
    openapi_extra={"requestBody": {"required": True, **_OCTETS}},
)
async def upload_chunk(
    upload_id: uuid.UUID, request: Request, service: ServiceDep, session: SessionDep,
    user: UserDep, response: Response,
    content_range: Annotated[str, Header(description="bytes START-END/SIZE")],
) -> BlobUploadOut:
    """Send bytes START to END (inclusive) of the file. 200: stored, send more from
    `offset`; 201: that was the last chunk, the hash matched and the blob is stored."""
    match = _CONTENT_RANGE.match(content_range.strip())
    if match is None:
        raise ApiError(400, "invalid_content_range",
                       "Content-Range must be 'bytes START-END/SIZE'")
    start, end, total = (int(g) for g in match.groups())
    length = end - start + 1
    if length < 1:
        raise ApiError(400, "invalid_content_range", "END must not be before START")
    limit = service.settings.max_upload_chunk_bytes
    if length > limit:
        raise ApiError(413, "too_large", f"a chunk may have at most {limit} bytes")

    # Read the whole chunk before touching anything: a truncated one changes nothing.
    data = bytearray()
    try:
        async for piece in request.stream():
            data += piece
            if len(data) > length:
                raise ApiError(400, "content_range_mismatch",
                               f"the body is longer than the {length} bytes of Content-Range")
    except ClientDisconnect:
        raise ApiError(400, "truncated_chunk", "the client went away mid-chunk") from None
    if len(data) < length:
        raise ApiError(400, "truncated_chunk",
                       f"the body has {len(data)} bytes, Content-Range announced {length}; "
                       "nothing of this chunk was kept")

    storage, staging = _storage(request)
    upload = await _own_upload(session, user, upload_id, lock=True)
    if total != upload.size or end >= upload.size:
        raise ApiError(400, "invalid_content_range",
                       f"the upload has {upload.size} bytes; Content-Range says otherwise")
    if start != upload.received:
        raise ApiError(409, "offset_mismatch",
                       f"the upload continues at byte {upload.received}, not {start}",
                       headers={"Upload-Offset": str(upload.received)})
    await staging.write(upload.id, start, bytes(data))
    upload.received = end + 1
    upload.updated_at = func.now()  # keeps the worker off it
    if upload.received < upload.size:
        await session.commit()
        return _out(upload)

    digest = await staging.sha256(upload.id)
    if digest != upload.sha256:
        await session.delete(upload)
        await session.commit()
        await staging.discard(upload.id)
        raise ApiError(422, "hash_mismatch",
                       f"the bytes hash to {digest}, not {upload.sha256}; nothing was stored "
                       "(start the upload again)")
    await _lock_hash(session, upload.sha256)
    await storage.put_file(upload.sha256, staging.path(upload.id))
    await session.execute(insert(Blob).values(user_id=user.id, sha256=upload.sha256,
                                              size=upload.size).on_conflict_do_nothing())
    await session.delete(upload)
    await session.commit()
    response.status_code = 201
    return BlobUploadOut(id=None, sha256=upload.sha256, size=upload.size, offset=upload.size,
                         complete=True)


@router.delete("/uploads/{upload_id}", status_code=204, responses={404: _err})
async def abort_upload(upload_id: uuid.UUID, request: Request, session: SessionDep,
                       user: UserDep) -> Response:
    upload = await _own_upload(session, user, upload_id, lock=True)
    await session.delete(upload)
    await session.commit()
    await _storage(request)[1].discard(upload_id)
    return Response(status_code=204)


@router.get("", response_model=BlobList, responses={401: _err})
async def list_blobs(service: ServiceDep, session: SessionDep, user: UserDep) -> BlobList:
    rows = await session.scalars(
        select(Blob).where(Blob.user_id == user.id).order_by(Blob.created_at, Blob.sha256))
    return BlobList(
        blobs=[BlobInfo(sha256=b.sha256, size=b.size, created_at=b.created_at) for b in rows],
        used_bytes=await _used_bytes(session, user.id),
        quota_bytes=service.settings.storage_quota_bytes,
    )


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) of a single satisfiable range; None to send everything. Raises 416."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None  # several ranges or a syntax we do not serve: RFC 9110 lets us ignore it
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
        if int(last) == 0:
            start = size
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    if start >= size:
        raise ApiError(416, "range_not_satisfiable", f"the blob has {size} bytes",
                       headers={"Content-Range": f"bytes */{size}"})
    return start, end


@router.get(
    "/{sha256}", response_class=StreamingResponse,
    responses={200: _OCTETS, 206: _OCTETS, 404: _err, 416: _err},
)
async def download(sha256: Annotated[Sha256Hex, Path()], request: Request, session: SessionDep,
                   user: UserDep,
                   range: Annotated[str | None, Header()] = None) -> StreamingResponse:
    """The blob's bytes; a `Range: bytes=…` header (one range) gets 206."""
    blob = await session.get(Blob, (user.id, sha256))
    if blob is None:
        raise ApiError(404, "not_found", "no such blob")
    await session.close()  # give the connection back before a long download
    wanted = _parse_range(range, blob.size)
    start, end = wanted or (0, blob.size - 1)
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{sha256}"',
               "Content-Length": str(end - start + 1)}
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    storage = _storage(request)[0]

    async def body() -> AsyncIterator[bytes]:
        async for chunk in storage.read(sha256, start, end):
            yield chunk

    return StreamingResponse(body(), status_code=206 if wanted else 200, headers=headers,
                             media_type="application/octet-stream")


@router.delete("/{sha256}", status_code=204, responses={404: _err})
async def delete_blob(sha256: Annotated[Sha256Hex, Path()], request: Request,
                      session: SessionDep, user: UserDep) -> Response:
    """Drop this account's reference; the bytes go when no account references them."""
    await _lock_hash(session, sha256)
    gone = await session.execute(
        delete(Blob).where(Blob.user_id == user.id, Blob.sha256 == sha256).returning(Blob.size))
    if gone.first() is None:
        raise ApiError(404, "not_found", "no such blob")
    others = select(func.count()).select_from(Blob).where(Blob.sha256 == sha256)
    if await session.scalar(others) == 0:
        await _storage(request)[0].delete(sha256)
    await session.commit()
    return Response(status_code=204)
