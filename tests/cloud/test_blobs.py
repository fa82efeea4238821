"""Blobs over HTTP against the real database and the local storage backend."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cloud_support import bearer, sign_in, sign_up
from fastapi.testclient import TestClient

from cloud.app import create_app
from cloud.config import Settings

DATA = os.urandom(300_000)
SHA = hashlib.sha256(DATA).hexdigest()


def _user(client: TestClient, email: str = "ada@example.com") -> dict[str, str]:
    sign_up(client, email)
    return bearer(sign_in(client, email))


def _start(client: TestClient, auth: dict[str, str], sha: str = SHA, size: int = len(DATA)):
    return client.post("/v1/blobs/uploads", json={"sha256": sha, "size": size}, headers=auth)


def _put(client: TestClient, auth: dict[str, str], upload_id: str, start: int, chunk: bytes,
         total: int = len(DATA), declared: int | None = None):
    end = start + (declared if declared is not None else len(chunk)) - 1
    return client.put(f"/v1/blobs/uploads/{upload_id}", content=chunk,
                      headers={**auth, "Content-Range": f"bytes {start}-{end}/{total}"})


def _upload(client: TestClient, auth: dict[str, str], data: bytes = DATA) -> None:
    sha = hashlib.sha256(data).hexdigest()
    started = _start(client, auth, sha, len(data))
    assert started.status_code == 201, started.text
    done = _put(client, auth, started.json()["id"], 0, data, len(data))
    assert done.status_code == 201, done.text


def _stored_files(settings: Settings) -> list[Path]:
    return [p for p in settings.blobs_dir.rglob("*") if p.is_file()]


def test_resume_after_an_interrupted_upload(client: TestClient, settings: Settings) -> None:
    auth = _user(client)
    started = _start(client, auth)
    assert started.status_code == 201
    upload = started.json()
    assert upload["offset"] == 0 and not upload["complete"]
    first = _put(client, auth, upload["id"], 0, DATA[:100_000])
    assert first.status_code == 200 and first.json()["offset"] == 100_000
    # The connection drops: the client asks where to go on, by id or by starting again.
    assert client.get(f"/v1/blobs/uploads/{upload['id']}", headers=auth).json()["offset"] \
        == 100_000
    again = _start(client, auth)
    assert again.status_code == 200
    assert again.json()["id"] == upload["id"] and again.json()["offset"] == 100_000
    # A chunk from the wrong place is refused with the right offset.
    wrong = _put(client, auth, upload["id"], 50_000, DATA[50_000:60_000])
    assert wrong.status_code == 409
    assert wrong.headers["upload-offset"] == "100000"
    rest = _put(client, auth, upload["id"], 100_000, DATA[100_000:])
    assert rest.status_code == 201 and rest.json()["complete"]
    got = client.get(f"/v1/blobs/{SHA}", headers=auth)
    assert got.status_code == 200 and got.content == DATA
    assert got.headers["accept-ranges"] == "bytes"
    assert client.get(f"/v1/blobs/uploads/{upload['id']}", headers=auth).status_code == 404


def test_wrong_hash_is_refused_and_nothing_kept(client: TestClient, settings: Settings) -> None:
    auth = _user(client)
    other = hashlib.sha256(b"something else").hexdigest()
    upload = _start(client, auth, other).json()
    answer = _put(client, auth, upload["id"], 0, DATA)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "hash_mismatch"
    assert client.get(f"/v1/blobs/{other}", headers=auth).status_code == 404
    assert client.get("/v1/blobs", headers=auth).json()["blobs"] == []
    assert _stored_files(settings) == []
    assert not any(settings.uploads_dir.iterdir())


def test_truncated_chunk_changes_nothing(client: TestClient) -> None:
    auth = _user(client)
    upload = _start(client, auth).json()
    short = _put(client, auth, upload["id"], 0, DATA[:1000], declared=5000)
    assert short.status_code == 400
    assert short.json()["error"]["code"] == "truncated_chunk"
    assert client.get(f"/v1/blobs/uploads/{upload['id']}", headers=auth).json()["offset"] == 0
    long = _put(client, auth, upload["id"], 0, DATA[:6000], declared=5000)
    assert long.status_code == 400
    bad = client.put(f"/v1/blobs/uploads/{upload['id']}", content=b"x",
                     headers={**auth, "Content-Range": "bytes=0-1"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_content_range"
    past_end = _put(client, auth, upload["id"], 0, DATA + b"x", total=len(DATA) + 1)
    assert past_end.status_code == 400
    # Nothing of those attempts stuck: the whole file still goes through.
    assert _put(client, auth, upload["id"], 0, DATA).status_code == 201


def test_range_downloads(client: TestClient) -> None:
    auth = _user(client)
    _upload(client, auth)
    url = f"/v1/blobs/{SHA}"
    part = client.get(url, headers={**auth, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == DATA[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(DATA)}"
    tail = client.get(url, headers={**auth, "Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == DATA[-100:]
    open_ended = client.get(url, headers={**auth, "Range": "bytes=299990-"})
    assert open_ended.content == DATA[299_990:]
    clipped = client.get(url, headers={**auth, "Range": "bytes=299990-999999"})
    assert clipped.status_code == 206 and clipped.content == DATA[299_990:]
    beyond = client.get(url, headers={**auth, "Range": f"bytes={len(DATA)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(DATA)}"
    several = client.get(url, headers={**auth, "Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == DATA


def test_dedup_within_an_account(client: TestClient, settings: Settings) -> None:
    auth = _user(client)
    _upload(client, auth)
    again = _start(client, auth)
    assert again.status_code == 200
    assert again.json() == {"id": None, "sha256": SHA, "size": len(DATA), "offset": len(DATA),
                            "complete": True}
    listing = client.get("/v1/blobs", headers=auth).json()
    assert [b["sha256"] for b in listing["blobs"]] == [SHA]
    assert listing["used_bytes"] == len(DATA)
    assert len(_stored_files(settings)) == 1


def test_accounts_are_isolated(client: TestClient, settings: Settings) -> None:
    ada = _user(client, "ada@example.com")
    bob = _user(client, "bob@example.com")
    _upload(client, ada)
    # Bob learns nothing: not by download, listing, deletion or by starting an upload
    # of the same hash (which asks him for every byte, like any new file).
    assert client.get(f"/v1/blobs/{SHA}", headers=bob).status_code == 404
    assert client.get(f"/v1/blobs/{SHA}", headers={**bob, "Range": "bytes=0-0"}).status_code \
        == 404
    assert client.delete(f"/v1/blobs/{SHA}", headers=bob).status_code == 404
    assert client.get("/v1/blobs", headers=bob).json()["blobs"] == []
    started = _start(client, bob)
    assert started.status_code == 201 and started.json()["offset"] == 0
    upload_id = started.json()["id"]
    # Ada cannot see or touch Bob's upload.
    assert client.get(f"/v1/blobs/uploads/{upload_id}", headers=ada).status_code == 404
    assert _put(client, ada, upload_id, 0, DATA).status_code == 404
    assert client.delete(f"/v1/blobs/uploads/{upload_id}", headers=ada).status_code == 404
    assert _put(client, bob, upload_id, 0, DATA).status_code == 201
    # One copy of the bytes; deleting Ada's reference keeps Bob's blob readable.
    assert len(_stored_files(settings)) == 1
    assert client.delete(f"/v1/blobs/{SHA}", headers=ada).status_code == 204
    assert client.get(f"/v1/blobs/{SHA}", headers=ada).status_code == 404
    assert client.get(f"/v1/blobs/{SHA}", headers=bob).content == DATA
    assert client.delete(f"/v1/blobs/{SHA}", headers=bob).status_code == 204
    assert _stored_files(settings) == []
    assert client.get(f"/v1/blobs/{SHA}").status_code == 401


def test_abort_upload(client: TestClient, settings: Settings) -> None:
    auth = _user(client)
    upload = _start(client, auth).json()
    _put(client, auth, upload["id"], 0, DATA[:1000])
    assert client.delete(f"/v1/blobs/uploads/{upload['id']}", headers=auth).status_code == 204
    assert not any(settings.uploads_dir.iterdir())
    assert _start(client, auth).json()["offset"] == 0


@pytest.fixture
def small(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_blob_bytes": 1000, "max_upload_chunk_bytes": 400,
                                       "storage_quota_bytes": 1500})


def test_size_limits_and_quota(small: Settings) -> None:
    with TestClient(create_app(small), raise_server_exceptions=False) as client:
        auth = _user(client)
        blob = os.urandom(1000)
        sha = hashlib.sha256(blob).hexdigest()
        too_big = _start(client, auth, "0" * 64, 1001)
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "too_large"
        upload = _start(client, auth, sha, 1000).json()
        chunk = _put(client, auth, upload["id"], 0, blob[:500], total=1000)
        assert chunk.status_code == 413
        # 1000 of the 1500-byte quota are now reserved by the upload in progress.
        over = _start(client, auth, "1" * 64, 600)
        assert over.status_code == 507
        assert over.json()["error"]["code"] == "quota_exceeded"
        for start in range(0, 1000, 400):
            answer = _put(client, auth, upload["id"], start, blob[start:start + 400], 1000)
        assert answer.status_code == 201
        assert _start(client, auth, "1" * 64, 500).status_code == 201
        assert _start(client, auth, "2" * 64, 1).status_code == 507
