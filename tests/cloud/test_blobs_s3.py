"""Blobs over HTTP with the S3 backend, against moto's S3 server on 127.0.0.1 (a real
HTTP endpoint, so boto3's requests, ranges and pagination go over the wire)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cloud_support import PASSWORD, bearer, sign_in, sign_up
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from cloud.app import create_app
from cloud.config import Settings
from cloud.worker import Worker

BUCKET = "strumspace-test"
PREFIX = "blobs/"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    # moto accepts any credentials; boto3 needs some to sign with.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def s3_settings(settings: Settings, s3: Any, s3_endpoint: str) -> Settings:
    return settings.model_copy(update={"s3_bucket": BUCKET, "s3_endpoint_url": s3_endpoint,
                                       "s3_region": "us-east-1", "s3_prefix": PREFIX})


def _keys(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def _upload(client: TestClient, auth: dict[str, str], data: bytes, chunk: int) -> None:
    sha = hashlib.sha256(data).hexdigest()
    started = client.post("/v1/blobs/uploads", json={"sha256": sha, "size": len(data)},
                          headers=auth)
    assert started.status_code == 201, started.text
    for start in range(0, len(data), chunk):
        part = data[start:start + chunk]
        answer = client.put(
            f"/v1/blobs/uploads/{started.json()['id']}", content=part,
            headers={**auth, "Content-Range":
                     f"bytes {start}-{start + len(part) - 1}/{len(data)}"})
        assert answer.status_code in (200, 201), answer.text
    assert answer.status_code == 201


def test_upload_dedup_range_and_delete_on_s3(s3_settings: Settings, s3: Any) -> None:
    data = os.urandom(700_000)
    sha = hashlib.sha256(data).hexdigest()
    with TestClient(create_app(s3_settings), raise_server_exceptions=False) as client:
        sign_up(client, "ada@example.com")
        sign_up(client, "bob@example.com")
        ada = bearer(sign_in(client, "ada@example.com"))
        bob = bearer(sign_in(client, "bob@example.com"))
        _upload(client, ada, data, 300_000)
        assert _keys(s3) == [PREFIX + sha]
        assert s3.get_object(Bucket=BUCKET, Key=PREFIX + sha)["Body"].read() == data
        # Nothing staged is left behind once the bytes are in the bucket.
        assert not any(s3_settings.uploads_dir.iterdir())

        again = client.post("/v1/blobs/uploads", json={"sha256": sha, "size": len(data)},
                            headers=ada)
        assert again.status_code == 200 and again.json()["complete"]
        _upload(client, bob, data, 700_000)  # another account sends every byte itself
        assert _keys(s3) == [PREFIX + sha]  # and one object holds them

        url = f"/v1/blobs/{sha}"
        assert client.get(url, headers=ada).content == data
        part = client.get(url, headers={**ada, "Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == data[1000:2000]
        tail = client.get(url, headers={**bob, "Range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == data[-10:]

        assert client.delete(url, headers=ada).status_code == 204
        assert _keys(s3) == [PREFIX + sha]  # Bob still references it
        assert client.delete(url, headers=bob).status_code == 204
        assert _keys(s3) == []
        assert client.get(url, headers=bob).status_code == 404


def test_worker_collects_orphans_on_s3(s3_settings: Settings, s3: Any) -> None:
    data = os.urandom(50_000)
    sha = hashlib.sha256(data).hexdigest()
    with TestClient(create_app(s3_settings), raise_server_exceptions=False) as client:
        sign_up(client, "ada@example.com")
        ada = bearer(sign_in(client, "ada@example.com"))
        _upload(client, ada, data, 50_000)
        gone = client.request("DELETE", "/v1/accounts/me", json={"password": PASSWORD},
                              headers=ada)
        assert gone.status_code == 204
    # An unrelated object under the prefix is not a blob and stays.
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "README", Body=b"not a blob")

    async def once(grace: int) -> dict[str, int]:
        worker = Worker(s3_settings.model_copy(update={"orphan_grace_s": grace}))
        try:
            return await worker.collect_orphans()
        finally:
            await worker.aclose()

    assert asyncio.run(once(3600))["deleted"] == 0
    assert PREFIX + sha in _keys(s3)
    assert asyncio.run(once(0))["deleted"] == 1
    assert _keys(s3) == [PREFIX + "README"]
