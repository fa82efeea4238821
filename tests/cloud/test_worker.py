"""The maintenance worker against the real database and local blob storage."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from cloud_support import PASSWORD, bearer, libpq, sign_in, sign_up
from fastapi.testclient import TestClient
from pycrdt import Doc, Map

from cloud.config import Settings
from cloud.worker import Counts, Worker


def _run(settings: Settings, **update: object) -> dict[str, Counts]:
    async def go() -> dict[str, Counts]:
        worker = Worker(settings.model_copy(update=update))
        try:
            return await worker.run_once()
        finally:
            await worker.aclose()

    return asyncio.run(go())


def _sql(settings: Settings, query: str, *params: object) -> list[tuple]:
    assert settings.database_url
    with psycopg.connect(libpq(settings.database_url), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _user(client: TestClient, email: str) -> dict[str, str]:
    sign_up(client, email)
    return bearer(sign_in(client, email))


def _upload(client: TestClient, auth: dict[str, str], data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    started = client.post("/v1/blobs/uploads", json={"sha256": sha, "size": len(data)},
                          headers=auth)
    assert started.status_code == 201, started.text
    done = client.put(f"/v1/blobs/uploads/{started.json()['id']}", content=data,
                      headers={**auth, "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"})
    assert done.status_code == 201, done.text
    return sha


def _stored(settings: Settings) -> set[str]:
    return {p.name for p in settings.blobs_dir.rglob("*") if p.is_file()}


def _age_files(settings: Settings, seconds: float) -> None:
    for path in settings.blobs_dir.rglob("*"):
        if path.is_file():
            t = path.stat().st_mtime - seconds
            os.utime(path, (t, t))


def _delete_account(client: TestClient, auth: dict[str, str]) -> None:
    gone = client.request("DELETE", "/v1/accounts/me", json={"password": PASSWORD},
                          headers=auth)
    assert gone.status_code == 204, gone.text


def test_expired_tokens_are_deleted(client: TestClient, settings: Settings) -> None:
    sign_up(client, "ada@example.com")
    tokens = sign_in(client, "ada@example.com")
    auth = bearer(tokens)
    assert client.post("/v1/auth/ws-tickets", headers=auth).status_code == 201
    # One refresh family entirely expired, one with a spent expired member and a live one.
    sign_in(client, "ada@example.com")
    families = [r[0] for r in _sql(settings, "SELECT family_id FROM refresh_tokens")]
    assert len(families) == 2
    dead, living = families
    _sql(settings, "UPDATE refresh_tokens SET expires_at = now() - interval '1 hour' "
         "WHERE family_id = %s", dead)
    _sql(settings, "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, "
         "rotated_at) SELECT user_id, family_id, 'spent', now() - interval '1 hour', now() "
         "FROM refresh_tokens WHERE family_id = %s", living)
    _sql(settings, "UPDATE one_time_tokens SET expires_at = now() - interval '1 second'")

    result = _run(settings)["expire_tokens"]
    assert result == {"one_time_tokens": 1, "refresh_tokens": 1}
    # The live family keeps its spent member: reuse detection still works for it.
    assert sorted(r[0] for r in _sql(settings, "SELECT count(*) FROM refresh_tokens "
                                     "GROUP BY family_id")) == [2]
    assert _sql(settings, "SELECT count(*) FROM one_time_tokens") == [(0,)]
    assert _run(settings)["expire_tokens"] == {"one_time_tokens": 0, "refresh_tokens": 0}


def test_idle_uploads_are_aborted_and_in_flight_ones_kept(
    client: TestClient, settings: Settings
) -> None:
    auth = _user(client, "ada@example.com")
    ids = []
    for data in (b"a" * 1000, b"b" * 1000):
        sha = hashlib.sha256(data).hexdigest()
        upload = client.post("/v1/blobs/uploads", json={"sha256": sha, "size": 1000},
                             headers=auth).json()
        chunk = client.put(f"/v1/blobs/uploads/{upload['id']}", content=data[:400],
                           headers={**auth, "Content-Range": "bytes 0-399/1000"})
        assert chunk.status_code == 200
        ids.append(upload["id"])
    idle, active = ids
    # Both started long ago; only `idle` has received nothing since.
    _sql(settings, "UPDATE blob_uploads SET created_at = now() - interval '3 days'")
    _sql(settings, "UPDATE blob_uploads SET updated_at = now() - interval '25 hours' "
         "WHERE id = %s", idle)

    assert _run(settings)["abort_idle_uploads"] == {"aborted": 1}
    assert client.get(f"/v1/blobs/uploads/{idle}", headers=auth).status_code == 404
    assert not (settings.uploads_dir / idle).exists()
    assert (settings.uploads_dir / active).stat().st_size == 400
    rest = client.put(f"/v1/blobs/uploads/{active}", content=b"b" * 600,
                      headers={**auth, "Content-Range": "bytes 400-999/1000"})
    assert rest.status_code == 201
    # A shorter idle timeout reaches the other upload too, had it not finished.
    assert _run(settings, upload_idle_timeout_s=60)["abort_idle_uploads"] == {"aborted": 0}


def test_account_deletion_then_worker_removes_orphaned_bytes(
    client: TestClient, settings: Settings
) -> None:
    ada = _user(client, "ada@example.com")
    bob = _user(client, "bob@example.com")
    shared, own = os.urandom(5000), os.urandom(6000)
    shared_sha, own_sha = _upload(client, ada, shared), _upload(client, ada, own)
    _upload(client, bob, shared)
    _delete_account(client, ada)
    assert _stored(settings) == {shared_sha, own_sha}  # deletion alone leaves the bytes

    # Within the grace period nothing goes.
    assert _run(settings)["collect_orphans"] == {"deleted": 0, "busy": 0, "referenced": 0}
    assert _stored(settings) == {shared_sha, own_sha}
    _age_files(settings, 2 * 3600)
    assert _run(settings)["collect_orphans"] == {"deleted": 1, "busy": 0, "referenced": 1}
    assert _stored(settings) == {shared_sha}
    assert client.get(f"/v1/blobs/{shared_sha}", headers=bob).content == shared


def test_an_upload_finishing_now_is_never_hit(client: TestClient, settings: Settings) -> None:
    """The upload handler holds the hash's advisory lock from storing the bytes until
    its reference commits; this connection plays that handler at that moment."""
    auth = _user(client, "ada@example.com")
    sha = _upload(client, auth, os.urandom(3000))
    _sql(settings, "DELETE FROM blobs")  # as if the reference were not committed yet
    assert settings.database_url
    with psycopg.connect(libpq(settings.database_url)) as uploader:
        uploader.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (sha,))
        result = _run(settings, orphan_grace_s=0)["collect_orphans"]
        assert result == {"deleted": 0, "busy": 1, "referenced": 0}
        assert _stored(settings) == {sha}
        uploader.rollback()
    assert _run(settings, orphan_grace_s=0)["collect_orphans"]["deleted"] == 1
    assert _stored(settings) == set()


def _grow_log(settings: Settings, project_id: str, n: int) -> None:
    doc: Doc = Doc()
    root = doc.get("project", type=Map)
    updates = []
    for i in range(n):
        before = doc.get_state()
        root[f"k{i}"] = i
        updates.append(doc.get_update(before))
    assert settings.database_url
    with psycopg.connect(libpq(settings.database_url), autocommit=True) as conn:
        for data in updates:
            conn.execute("INSERT INTO project_updates (project_id, data) VALUES (%s, %s)",
                         (project_id, data))


def test_grown_update_logs_are_compacted(client: TestClient, settings: Settings) -> None:
    auth = _user(client, "ada@example.com")
    big = client.post("/v1/projects", json={"name": "big"}, headers=auth).json()["id"]
    small = client.post("/v1/projects", json={"name": "small"}, headers=auth).json()["id"]
    _grow_log(settings, big, 12)
    _grow_log(settings, small, 3)
    before = client.get(f"/v1/projects/{big}", headers=auth)

    assert _run(settings, compact_after_updates=10)["compact_projects"] == \
        {"compacted": 1, "busy": 0}
    counts = dict(_sql(settings, "SELECT project_id::text, count(*) FROM project_updates "
                       "GROUP BY project_id"))
    assert counts == {small: 3}
    assert _sql(settings, "SELECT project_id::text FROM project_snapshots") == [(big,)]
    # The document is the same, now read from the snapshot.
    state = _sql(settings, "SELECT state FROM project_snapshots")[0][0]
    doc: Doc = Doc()
    doc.apply_update(state)
    assert doc.get("project", type=Map).to_py() == {f"k{i}": i for i in range(12)}
    assert client.get(f"/v1/projects/{big}", headers=auth).status_code == before.status_code


def test_two_workers_at_once(client: TestClient, settings: Settings) -> None:
    ada = _user(client, "ada@example.com")
    blobs = {_upload(client, ada, os.urandom(2000 + i)) for i in range(8)}
    project = client.post("/v1/projects", json={"name": "p"}, headers=ada).json()["id"]
    _grow_log(settings, project, 5)
    for i in range(4):
        data = bytes([i]) * 100
        upload = client.post("/v1/blobs/uploads", json={
            "sha256": hashlib.sha256(data).hexdigest(), "size": 100}, headers=ada).json()
        client.put(f"/v1/blobs/uploads/{upload['id']}", content=data[:10],
                   headers={**ada, "Content-Range": "bytes 0-9/100"})
    _sql(settings, "UPDATE blob_uploads SET updated_at = now() - interval '2 days'")
    _sql(settings, "DELETE FROM blobs")  # every stored blob is now an orphan
    config = settings.model_copy(update={"orphan_grace_s": 0, "compact_after_updates": 5})

    async def both() -> list[dict[str, Counts]]:
        workers = [Worker(config), Worker(config)]
        try:
            return list(await asyncio.gather(*(w.run_once() for w in workers)))
        finally:
            for w in workers:
                await w.aclose()

    results = asyncio.run(both())
    assert all("failed" not in counts for r in results for counts in r.values())
    total = {job: sum(r[job].get(key, 0) for r in results)
             for job, key in (("collect_orphans", "deleted"), ("abort_idle_uploads", "aborted"),
                              ("compact_projects", "compacted"))}
    # Each item was handled by exactly one of them: nothing twice, nothing left over.
    assert total == {"collect_orphans": len(blobs), "abort_idle_uploads": 4,
                     "compact_projects": 1}
    assert _stored(settings) == set()
    assert _sql(settings, "SELECT count(*) FROM blob_uploads") == [(0,)]
    assert not any(settings.uploads_dir.iterdir())


def test_worker_command_once(settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": settings.database_url or "",
           "STRUMSPACE_CLOUD_DATA": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "cloud.cli", "worker", "--once"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    jobs = {line.split('"job": "')[1].split('"')[0]
            for line in done.stderr.splitlines() if '"msg": "job done"' in line}
    assert jobs == {"expire_tokens", "abort_idle_uploads", "collect_orphans",
                    "compact_projects"}
