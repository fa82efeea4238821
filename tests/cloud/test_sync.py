"""The WebSocket sync endpoint: pycrdt clients, tickets, roles, persistence, compaction."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from cloud_support import bearer, sign_in, sign_up
from fastapi.testclient import TestClient
from pycrdt import Doc
from starlette.websockets import WebSocketDisconnect
from ysync import YClient, content

from cloud.app import create_app
from cloud.config import Settings
from cloud.limits import origin_allowed

FIXTURES = Path(__file__).parents[1] / "fixtures" / "documents"


def _fixture_doc(name: str) -> Doc:
    doc: Doc = Doc()
    doc.apply_update((FIXTURES / name).read_bytes())
    return doc


def _user(client: TestClient, name: str) -> dict[str, str]:
    sign_up(client, f"{name}@example.com")
    return bearer(sign_in(client, f"{name}@example.com"))


def _ticket(client: TestClient, headers: dict[str, str]) -> str:
    r = client.post("/v1/auth/ws-tickets", headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["ticket"])


def _url(client: TestClient, pid: str, headers: dict[str, str]) -> str:
    return f"/v1/sync/{pid}?ticket={_ticket(client, headers)}"


@pytest.fixture
def shared(client: TestClient) -> tuple[str, dict[str, dict[str, str]]]:
    users = {n: _user(client, n) for n in ("owner", "editor", "viewer", "stranger")}
    pid = client.post("/v1/projects", json={"name": "Song"}, headers=users["owner"]).json()["id"]
    for role in ("editor", "viewer"):
        client.put(f"/v1/projects/{pid}/members",
                   json={"email": f"{role}@example.com", "role": role}, headers=users["owner"])
    return pid, users


def _stored(client: TestClient, pid: str, headers: dict[str, str]) -> Doc:
    doc: Doc = Doc()
    doc.apply_update(client.get(f"/v1/projects/{pid}/document", headers=headers).content)
    return doc


def test_two_clients_converge_on_the_fixture_song(client: TestClient, shared: tuple) -> None:
    pid, users = shared
    song = _fixture_doc("small_song_v1.ystate")
    expected = content(song)
    assert expected["tracks"] and expected["clips"]  # the fixture is not empty
    with client.websocket_connect(_url(client, pid, users["owner"])) as ws_a:
        a = YClient(ws_a, song)
        a.handshake()  # uploads the whole song in its step 2
        with client.websocket_connect(_url(client, pid, users["editor"])) as ws_b:
            b = YClient(ws_b)
            b.handshake()
            assert content(b.doc) == expected
            # Concurrent edits on both sides meet in the middle.
            b.edit("meta", "title", "From B")
            a.receive_until(2)
            a.edit("markers", "m.1", {"tick": 960, "name": "Verse"})
            b.receive_until(2)
            assert content(a.doc) == content(b.doc)
            assert content(a.doc)["meta"]["title"] == "From B"
    assert content(_stored(client, pid, users["viewer"])) == content(a.doc)


def test_viewer_updates_are_dropped(client: TestClient, shared: tuple) -> None:
    pid, users = shared
    with client.websocket_connect(_url(client, pid, users["editor"])) as ws_e, \
            client.websocket_connect(_url(client, pid, users["viewer"])) as ws_v:
        editor, viewer = YClient(ws_e), YClient(ws_v)
        editor.handshake()
        viewer.handshake()
        viewer.edit("meta", "title", "viewer was here")
        viewer.flush()  # the server has handled (and dropped) it
        editor.edit("meta", "tempo_note", "editor")
        editor.flush()
        # Never relayed to the editor, never stored.
        assert "title" not in content(editor.doc)["meta"]
        viewer.receive_until(2)
        assert content(_stored(client, pid, users["owner"]))["meta"] == {"tempo_note": "editor"}


def test_refused_without_a_valid_ticket_or_access(client: TestClient, shared: tuple) -> None:
    pid, users = shared
    for url in (
        f"/v1/sync/{pid}",
        f"/v1/sync/{pid}?ticket=nonsense",
        _url(client, pid, users["stranger"]),
        _url(client, str(uuid.uuid4()), users["owner"]),
    ):
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(url) as ws:
            ws.receive_bytes()
    # A ticket is single-use.
    url = _url(client, pid, users["owner"])
    with client.websocket_connect(url) as ws:
        YClient(ws).handshake()
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(url) as ws:
        ws.receive_bytes()


def test_malformed_update_closes_and_stores_nothing(client: TestClient, shared: tuple) -> None:
    pid, users = shared
    with client.websocket_connect(_url(client, pid, users["owner"])) as ws:
        c = YClient(ws)
        c.handshake()
        c.send_update(b"\x01\x02\x03garbage")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_bytes()
        assert closed.value.code == 1002
    assert content(_stored(client, pid, users["owner"])) == {}


def test_unshare_disconnects_a_live_peer(client: TestClient, shared: tuple) -> None:
    pid, users = shared
    members = client.get(f"/v1/projects/{pid}/members", headers=users["owner"]).json()["members"]
    editor_id = next(m["user_id"] for m in members if m["role"] == "editor")
    with client.websocket_connect(_url(client, pid, users["editor"])) as ws:
        YClient(ws).handshake()
        client.delete(f"/v1/projects/{pid}/members/{editor_id}", headers=users["owner"])
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_bytes()
        assert closed.value.code == 4403


def test_restore_reaches_connected_peers(client: TestClient, shared: tuple) -> None:
    pid, users = shared
    with client.websocket_connect(_url(client, pid, users["editor"])) as ws:
        peer = YClient(ws)
        peer.handshake()
        peer.edit("meta", "title", "one")
        peer.flush()  # stored: the version reads the database
        version = client.post(f"/v1/projects/{pid}/versions", json={"name": "one"},
                              headers=users["owner"]).json()
        peer.edit("meta", "title", "two")
        peer.flush()
        assert content(_stored(client, pid, users["owner"]))["meta"] == {"title": "two"}
        r = client.post(f"/v1/projects/{pid}/versions/{version['id']}/restore",
                        headers=users["owner"])
        assert r.status_code == 204
        peer.receive_until(2)
        assert content(peer.doc)["meta"] == {"title": "one"}


def test_compaction_and_restart_keep_the_document(
    settings: Settings, shared: tuple, client: TestClient
) -> None:
    """Many updates (past the compaction threshold), then a fresh app on the same
    database: the document is whole, and the log was folded into the snapshot."""
    import psycopg
    from cloud_support import libpq

    pid, users = shared
    small = settings.model_copy(update={"compact_after_updates": 5})
    with TestClient(create_app(small), raise_server_exceptions=False) as first, \
            first.websocket_connect(_url(first, pid, users["editor"])) as ws:
        c = YClient(ws)
        c.handshake()
        for i in range(12):
            c.edit("markers", f"m.{i}", {"tick": i * 960, "name": f"M{i}"})
        c.edit("meta", "title", "last")
        expected = content(c.doc)
        c.flush()
    with psycopg.connect(libpq(settings.database_url or "")) as conn:
        log_rows = conn.execute("SELECT count(*) FROM project_updates WHERE project_id = %s",
                                (pid,)).fetchone()
        snapshot = conn.execute("SELECT count(*) FROM project_snapshots WHERE project_id = %s",
                                (pid,)).fetchone()
    assert snapshot == (1,)
    assert log_rows is not None and log_rows[0] < 5
    with TestClient(create_app(settings), raise_server_exceptions=False) as second, \
            second.websocket_connect(_url(second, pid, users["viewer"])) as ws:
        fresh = YClient(ws)
        fresh.handshake()
        assert content(fresh.doc) == expected


# --- per-connection limits (docs/cloud-api.md, "Limits") --------------------------------


def _closed(ws: object) -> WebSocketDisconnect:
    """Reads (and discards) until the server closes; returns the close."""
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            ws.receive_bytes()  # type: ignore[attr-defined]
    return closed.value


def _limited(settings: Settings, **limits: float) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=limits)),
                      raise_server_exceptions=False)


def test_oversized_update_closes_with_1009(settings: Settings, shared: tuple) -> None:
    pid, users = shared
    with _limited(settings, ws_max_message_bytes=4096) as app, \
            app.websocket_connect(_url(app, pid, users["editor"])) as ws:
        c = YClient(ws)
        c.handshake()
        c.edit("meta", "title", "small")
        c.flush()
        c.edit("meta", "notes", "x" * 5000)  # one update message over 4 KiB
        closed = _closed(ws)
        assert closed.code == 1009
        assert "exceeds 4096" in closed.reason
        # The oversized update was refused before it was stored; the one before is kept.
        assert content(_stored(app, pid, users["owner"]))["meta"] == {"title": "small"}


def test_flood_closes_with_1008(settings: Settings, shared: tuple) -> None:
    pid, users = shared
    # A burst of 20 and one message per second refilling: 200 messages sent at once
    # cannot all fit, however slowly this machine runs the test (that would take 3 min).
    with _limited(settings, ws_messages_per_s=1, ws_message_burst=20) as app, \
            app.websocket_connect(_url(app, pid, users["editor"])) as ws:
        c = YClient(ws)
        c.handshake()
        for i in range(200):
            ws.send_bytes(bytes([1]) + bytes([1, 0]))  # tiny awareness messages
            del i
        closed = _closed(ws)
        assert closed.code == 1008
        assert "messages per second" in closed.reason


def test_normal_editing_is_within_the_limits(settings: Settings, shared: tuple) -> None:
    """Tight limits that a real editing session still stays inside: every edit is
    relayed and stored, and the connection stays open."""
    pid, users = shared
    with _limited(settings, ws_max_message_bytes=16384, ws_messages_per_s=1,
                  ws_message_burst=40) as app, \
            app.websocket_connect(_url(app, pid, users["editor"])) as ws_a, \
            app.websocket_connect(_url(app, pid, users["owner"])) as ws_b:
        a, b = YClient(ws_a), YClient(ws_b)
        a.handshake()
        b.handshake()
        for i in range(25):
            a.edit("markers", f"m.{i}", {"tick": i * 960, "name": f"M{i}"})
        a.flush()
        while len(content(b.doc).get("markers", {})) < 25:
            b.receive()
        assert content(b.doc) == content(a.doc)
        a.edit("meta", "title", "still open")
        a.flush()
        assert content(_stored(app, pid, users["owner"])) == content(a.doc)


# --- Origin allowlist ---------------------------------------------------------------------


def _refused(client: TestClient, url: str, origin: str) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as refused, \
            client.websocket_connect(url, headers={"origin": origin}) as ws:
        ws.receive_bytes()
    return refused.value


def test_browser_origins_outside_the_allowlist_are_refused(
    client: TestClient, shared: tuple
) -> None:
    pid, users = shared
    for origin in ("http://localhost:5173", "http://127.0.0.1:8080", "http://localhost"):
        with client.websocket_connect(_url(client, pid, users["owner"]),
                                      headers={"origin": origin}) as ws:
            YClient(ws).handshake()
    url = _url(client, pid, users["owner"])
    for origin in ("https://evil.example", "http://localhost.evil.example",
                   "http://localhost:80.evil.example", "null"):
        refused = _refused(client, url, origin)
        assert refused.code == 1008
    # Refused before the ticket was looked at: it is still good for a native client.
    with client.websocket_connect(url) as ws:
        YClient(ws).handshake()


def test_allowed_origins_come_from_settings(settings: Settings, shared: tuple) -> None:
    pid, users = shared
    app_origin = "https://app.strumspace.example"
    custom = settings.model_copy(update={"ws_allowed_origins": [app_origin]})
    with TestClient(create_app(custom), raise_server_exceptions=False) as app:
        assert _refused(app, _url(app, pid, users["owner"]), "http://localhost:5173").code == 1008
        with app.websocket_connect(_url(app, pid, users["owner"]),
                                   headers={"origin": app_origin.upper()}) as ws:
            YClient(ws).handshake()


def test_origin_setting_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STRUMSPACE_CLOUD_WS_ALLOWED_ORIGINS", '["https://a.example:*"]')
    loaded = Settings(database_url="postgresql://x/y", data_dir=tmp_path)
    assert loaded.ws_allowed_origins == ["https://a.example:*"]
    assert origin_allowed("https://a.example:8443", loaded.ws_allowed_origins)
    assert not origin_allowed("http://localhost:3000", loaded.ws_allowed_origins)
    assert origin_allowed(None, loaded.ws_allowed_origins)


# --- the open-WebSockets gauge ----------------------------------------------------------------

SYNC_GAUGE = 'strumspace_websockets_open{endpoint="/v1/sync/{project_id}"}'


def _open_sockets(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(SYNC_GAUGE + " "):
            return float(line.split()[1])
    return 0.0  # no connection was ever accepted: the labelled series does not exist yet


def _eventually_open(client: TestClient, expected: float) -> float:
    # The server finishes a connection just after the client's side of it has closed.
    deadline = time.monotonic() + 10
    while (found := _open_sockets(client)) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def test_open_websockets_gauge(settings: Settings, shared: tuple) -> None:
    pid, users = shared
    with _limited(settings, ws_max_message_bytes=4096) as app:
        assert _open_sockets(app) == 0
        with app.websocket_connect(_url(app, pid, users["owner"])) as ws_a:
            YClient(ws_a).handshake()
            assert _open_sockets(app) == 1
            with app.websocket_connect(_url(app, pid, users["editor"])) as ws_b:
                b = YClient(ws_b)
                b.handshake()
                assert _open_sockets(app) == 2
                b.edit("meta", "notes", "x" * 5000)  # closed by the server: 1009
                assert _closed(ws_b).code == 1009
            assert _eventually_open(app, 1) == 1
            # Refused handshakes were never open.
            _refused(app, _url(app, pid, users["owner"]), "https://evil.example")
            with pytest.raises(WebSocketDisconnect), \
                    app.websocket_connect(f"/v1/sync/{pid}?ticket=spent") as ws:
                ws.receive_bytes()
            assert _open_sockets(app) == 1
        assert _eventually_open(app, 0) == 0


def test_an_update_committed_after_a_compaction_is_not_hidden(
    settings: Settings, shared: tuple, client: TestClient
) -> None:
    """An update whose id was drawn before a compaction but which committed after it
    sits in the log below the snapshot's mark; it must still be part of the document."""
    import psycopg
    from cloud_support import libpq
    from pycrdt import Map

    pid, users = shared

    def edit(key: str) -> bytes:
        doc: Doc = Doc()
        doc.get("markers", type=Map)[key] = {"tick": 0, "name": key}
        return doc.get_update()

    early, late = edit("early"), edit("late")
    with psycopg.connect(libpq(settings.database_url), autocommit=True) as conn:
        low_id = conn.execute(
            "INSERT INTO project_updates (project_id, data) VALUES (%s, %s) RETURNING id",
            (pid, early)).fetchone()[0]  # type: ignore[index]
        # The compaction folded everything up to a later id and deleted those rows …
        conn.execute("INSERT INTO project_snapshots (project_id, state, last_update_id) "
                     "VALUES (%s, %s, %s)", (pid, early, low_id + 10))
        conn.execute("DELETE FROM project_updates WHERE project_id = %s", (pid,))
        # … while the late update, with an id below that mark, committed afterwards.
        conn.execute("INSERT INTO project_updates (id, project_id, data) "
                     "OVERRIDING SYSTEM VALUE VALUES (%s, %s, %s)", (low_id + 5, pid, late))
    markers = _stored(client, pid, users["owner"]).get("markers", type=Map).to_py()
    assert set(markers) == {"early", "late"}
