"""Blob storage: the bytes of audio files, keyed by their SHA-256 (lower-case hex).

Two backends behind one small interface: a local folder (the default, under the
service's data directory) and S3-compatible object storage. Uploads are staged on
local disk (`data_dir/uploads`) and handed to the backend only once their hash has
been verified, so the backend never holds unverified bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import anyio

from cloud.config import Settings

READ_CHUNK = 256 * 1024
# Only names that are hashes count as blobs: anything else in the store is left alone.
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobStorage(Protocol):
    async def put_file(self, sha256: str, path: Path) -> None:
        """Store the verified file at `path` as `sha256` (the file may be moved away)."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start` to `end` inclusive."""
        ...

    async def delete(self, sha256: str) -> None: ...

    async def stored_before(self, cutoff: datetime) -> list[str]:
        """Hashes of the blobs stored (last written) before `cutoff`."""
        ...


class LocalStorage:
    """Files in `root/ab/abcdef…`: two levels keep directories small."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    async def put_file(self, sha256: str, path: Path) -> None:
        target = self._path(sha256)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)  # atomic on one filesystem: never a half-written blob
            # The mtime is the time of storing: the worker's grace period counts from it.
            os.utime(target)

        await anyio.to_thread.run_sync(move)

    async def exists(self, sha256: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(sha256).is_file)

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        f = await anyio.open_file(self._path(sha256), "rb")
        try:
            await f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = await f.read(min(READ_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
        finally:
            await f.aclose()

    async def delete(self, sha256: str) -> None:
        await anyio.to_thread.run_sync(lambda: self._path(sha256).unlink(missing_ok=True))

    async def stored_before(self, cutoff: datetime) -> list[str]:
        limit = cutoff.timestamp()

        def scan() -> list[str]:
            if not self.root.is_dir():
                return []
            found = []
            for path in self.root.glob("??/*"):
                try:
                    mtime = path.stat().st_mtime
                except FileNotFoundError:
                    continue  # deleted while we looked
                if _SHA256.fullmatch(path.name) and mtime < limit:
                    found.append(path.name)
            return sorted(found)

        return await anyio.to_thread.run_sync(scan)


class S3Storage:
    """Objects `prefix + sha256` in one bucket of any S3-compatible store. boto3 is
    synchronous: every call runs in a worker thread."""

    def __init__(self, bucket: str, prefix: str = "blobs/", endpoint_url: str | None = None,
                 region: str | None = None, client: Any = None) -> None:
        import boto3

        self.bucket, self.prefix = bucket, prefix
        # Credentials come from boto3's usual chain (environment, files, instance role).
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def _key(self, sha256: str) -> str:
        return self.prefix + sha256

    async def put_file(self, sha256: str, path: Path) -> None:
        # upload_file switches to multipart for large files by itself.
        await anyio.to_thread.run_sync(
            lambda: self.client.upload_file(str(path), self.bucket, self._key(sha256))
        )
        await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))

    async def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            await anyio.to_thread.run_sync(
                lambda: self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        response = await anyio.to_thread.run_sync(
            lambda: self.client.get_object(
                Bucket=self.bucket, Key=self._key(sha256), Range=f"bytes={start}-{end}"
            )
        )
        body = response["Body"]
        try:
            while chunk := await anyio.to_thread.run_sync(body.read, READ_CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, sha256: str) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))
        )

    async def stored_before(self, cutoff: datetime) -> list[str]:
        def scan() -> list[str]:
            found = []
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(self.prefix):]
                    if _SHA256.fullmatch(name) and obj["LastModified"] < cutoff:
                        found.append(name)
            return sorted(found)

        return await anyio.to_thread.run_sync(scan)


def make_storage(settings: Settings) -> BlobStorage:
    if settings.s3_bucket:
        return S3Storage(settings.s3_bucket, settings.s3_prefix, settings.s3_endpoint_url,
                         settings.s3_region)
    return LocalStorage(settings.blobs_dir)


class Staging:
    """Partial uploads on local disk, one file per upload id."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, upload_id: object) -> Path:
        return self.root / str(upload_id)

    async def write(self, upload_id: object, offset: int, data: bytes) -> None:
        path = self.path(upload_id)

        def write() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(path, "r+b" if path.exists() else "wb") as f:
                f.seek(offset)
                f.write(data)
                f.truncate()  # drop anything a failed earlier attempt left past this chunk
                f.flush()
                os.fsync(f.fileno())

        await anyio.to_thread.run_sync(write)

    async def sha256(self, upload_id: object) -> str:
        def digest() -> str:
            h = hashlib.sha256()
            with open(self.path(upload_id), "rb") as f:
                while chunk := f.read(1024 * 1024):
                    h.update(chunk)
            return h.hexdigest()

        return await anyio.to_thread.run_sync(digest)

    async def discard(self, upload_id: object) -> None:
        await anyio.to_thread.run_sync(lambda: self.path(upload_id).unlink(missing_ok=True))
