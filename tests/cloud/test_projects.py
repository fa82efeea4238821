"""Projects over HTTP: every endpoint, and who may do what (owner, editor, viewer,
stranger). A stranger learns nothing: 404 everywhere, exactly as for a missing id."""

from __future__ import annotations

import uuid

import pytest
from cloud_support import bearer, sign_in, sign_up
from fastapi.testclient import TestClient
from pycrdt import Doc, Map

Headers = dict[str, str]


def _user(client: TestClient, name: str) -> tuple[Headers, str]:
    account = sign_up(client, f"{name}@example.com")
    return bearer(sign_in(client, f"{name}@example.com")), account["id"]


@pytest.fixture
def team(client: TestClient) -> dict[str, Headers]:
    """A project of the owner's, shared with an editor and a viewer; and a stranger."""
    owner, _ = _user(client, "owner")
    editor, _ = _user(client, "editor")
    viewer, _ = _user(client, "viewer")
    stranger, _ = _user(client, "stranger")
    project = client.post("/v1/projects", json={"name": "Song"}, headers=owner).json()
    for email, role in (("editor@example.com", "editor"), ("viewer@example.com", "viewer")):
        r = client.put(f"/v1/projects/{project['id']}/members",
                       json={"email": email, "role": role}, headers=owner)
        assert r.status_code == 200, r.text
    return {"owner": owner, "editor": editor, "viewer": viewer, "stranger": stranger,
            "id": {"project": project["id"]}}  # type: ignore[dict-item]


def _pid(team: dict) -> str:
    return str(team["id"]["project"])


def test_create_list_get_rename_delete(client: TestClient) -> None:
    me, my_id = _user(client, "ada")
    created = client.post("/v1/projects", json={"name": "First"}, headers=me)
    assert created.status_code == 201
    project = created.json()
    assert project["name"] == "First" and project["role"] == "owner"
    assert project["owner_id"] == my_id
    client.post("/v1/projects", json={"name": "Second"}, headers=me)
    listed = client.get("/v1/projects", headers=me).json()["projects"]
    assert sorted(p["name"] for p in listed) == ["First", "Second"]
    assert client.get(f"/v1/projects/{project['id']}", headers=me).json()["name"] == "First"
    renamed = client.patch(f"/v1/projects/{project['id']}", json={"name": "Renamed"}, headers=me)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
    assert renamed.json()["updated_at"] >= project["updated_at"]
    assert client.delete(f"/v1/projects/{project['id']}", headers=me).status_code == 204
    assert client.get(f"/v1/projects/{project['id']}", headers=me).status_code == 404
    assert [p["name"] for p in client.get("/v1/projects", headers=me).json()["projects"]] \
        == ["Second"]


def test_bad_input_and_no_token(client: TestClient) -> None:
    me, _ = _user(client, "ada")
    assert client.post("/v1/projects", json={"name": ""}, headers=me).status_code == 422
    assert client.post("/v1/projects", json={"name": "x" * 201}, headers=me).status_code == 422
    assert client.post("/v1/projects", json={"nom": "x"}, headers=me).status_code == 422
    assert client.get("/v1/projects/not-a-uuid", headers=me).status_code == 422
    assert client.get("/v1/projects").status_code == 401
    assert client.post("/v1/projects", json={"name": "x"}).status_code == 401
    missing = client.get(f"/v1/projects/{uuid.uuid4()}", headers=me)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "project_not_found"


# (method, path suffix, body, the lowest role that may do it)
ACTIONS = [
    ("GET", "", None, "viewer"),
    ("PATCH", "", {"name": "New name"}, "editor"),
    ("GET", "/members", None, "viewer"),
    ("PUT", "/members", {"email": "other@example.com", "role": "viewer"}, "owner"),
    ("GET", "/document", None, "viewer"),
    ("GET", "/versions", None, "viewer"),
    ("POST", "/versions", {"name": "v1"}, "editor"),
    ("DELETE", "", None, "owner"),
]
RANK = {"stranger": -1, "viewer": 0, "editor": 1, "owner": 2}
OK = {"GET": 200, "PATCH": 200, "PUT": 200, "POST": 201, "DELETE": 204}


@pytest.mark.parametrize("who", ["owner", "editor", "viewer", "stranger"])
def test_authorization_matrix(client: TestClient, team: dict, who: str) -> None:
    sign_up(client, "other@example.com")
    pid = _pid(team)
    for method, suffix, body, needs in ACTIONS:
        r = client.request(method, f"/v1/projects/{pid}{suffix}", json=body, headers=team[who])
        if who == "stranger":
            expected = 404  # the same answer as for a project that does not exist
        elif RANK[who] >= RANK[needs]:
            expected = OK[method]
        else:
            expected = 403
        assert r.status_code == expected, (who, method, suffix, r.text)
    # Strangers do not see it in their list either; members do, with their role.
    listed = client.get("/v1/projects", headers=team[who]).json()["projects"]
    if who == "stranger":
        assert listed == []
    elif who != "owner":  # the owner's last action deleted it
        assert [(p["id"], p["role"]) for p in listed] == [(pid, who)]


def test_stranger_answers_match_a_missing_project(client: TestClient, team: dict) -> None:
    pid, missing = _pid(team), str(uuid.uuid4())
    for method, suffix, body, _ in ACTIONS:
        a = client.request(method, f"/v1/projects/{pid}{suffix}", json=body,
                           headers=team["stranger"])
        b = client.request(method, f"/v1/projects/{missing}{suffix}", json=body,
                           headers=team["stranger"])
        assert (a.status_code, a.json()) == (b.status_code, b.json())


def test_members_share_change_role_unshare_leave(client: TestClient, team: dict) -> None:
    pid, owner = _pid(team), team["owner"]
    members = client.get(f"/v1/projects/{pid}/members", headers=team["viewer"]).json()["members"]
    assert [(m["email"], m["role"]) for m in members] == [
        ("owner@example.com", "owner"), ("editor@example.com", "editor"),
        ("viewer@example.com", "viewer"),
    ]
    # Change a role: the viewer becomes an editor and may now rename.
    r = client.put(f"/v1/projects/{pid}/members",
                   json={"email": "VIEWER@example.com", "role": "editor"}, headers=owner)
    assert r.status_code == 200 and r.json()["role"] == "editor"
    assert client.patch(f"/v1/projects/{pid}", json={"name": "x"},
                        headers=team["viewer"]).status_code == 200
    # Editors cannot share or unshare others.
    editor_id = members[1]["user_id"]
    viewer_id = members[2]["user_id"]
    assert client.delete(f"/v1/projects/{pid}/members/{viewer_id}",
                         headers=team["editor"]).status_code == 403
    # The owner unshares; the account no longer sees the project at all.
    assert client.delete(f"/v1/projects/{pid}/members/{viewer_id}",
                         headers=owner).status_code == 204
    assert client.get(f"/v1/projects/{pid}", headers=team["viewer"]).status_code == 404
    assert client.delete(f"/v1/projects/{pid}/members/{viewer_id}",
                         headers=owner).status_code == 404
    # A member leaves by removing their own share.
    assert client.delete(f"/v1/projects/{pid}/members/{editor_id}",
                         headers=team["editor"]).status_code == 204
    assert client.get("/v1/projects", headers=team["editor"]).json()["projects"] == []


def test_share_errors(client: TestClient, team: dict) -> None:
    pid, owner = _pid(team), team["owner"]
    nobody = client.put(f"/v1/projects/{pid}/members",
                        json={"email": "nobody@example.com", "role": "viewer"}, headers=owner)
    assert nobody.status_code == 404 and nobody.json()["error"]["code"] == "account_not_found"
    self_share = client.put(f"/v1/projects/{pid}/members",
                            json={"email": "owner@example.com", "role": "editor"}, headers=owner)
    assert self_share.status_code == 409
    bad_role = client.put(f"/v1/projects/{pid}/members",
                          json={"email": "editor@example.com", "role": "owner"}, headers=owner)
    assert bad_role.status_code == 422


def _doc_with(title: str) -> bytes:
    doc: Doc = Doc()
    doc.get("meta", type=Map)["title"] = title
    return doc.get_update()


def test_versions_list_and_restore_is_a_forward_edit(client: TestClient, team: dict) -> None:
    """Restore makes the content equal to the version's; the log only grows."""
    from cloud.projects import document
    from cloud.routers.projects import rooms_of

    pid, editor = _pid(team), team["editor"]
    app = client.app
    # Nobody is connected: restore must work without a live room too (test_sync covers one).
    assert rooms_of(app).peer_count(uuid.UUID(pid)) == 0  # type: ignore[arg-type]

    def current_title() -> object:
        doc: Doc = Doc()
        doc.apply_update(client.get(f"/v1/projects/{pid}/document", headers=editor).content)
        return doc.get("meta", type=Map).to_py()

    service = app.state.service  # type: ignore[attr-defined]

    async def append(update: bytes) -> None:
        async with service.sessions() as session:
            await document.append_update(session, uuid.UUID(pid), update)
            await session.commit()

    base = Doc()
    meta = base.get("meta", type=Map)
    meta["title"] = "first"
    client.portal.call(append, base.get_update())  # type: ignore[union-attr]
    v1 = client.post(f"/v1/projects/{pid}/versions", json={"name": "v1"}, headers=editor)
    assert v1.status_code == 201
    before = base.get_state()
    meta["title"] = "second"
    meta["tempo"] = 90
    client.portal.call(append, base.get_update(before))  # type: ignore[union-attr]
    assert current_title() == {"title": "second", "tempo": 90}
    client.post(f"/v1/projects/{pid}/versions", json={"name": "v2"}, headers=editor)
    versions = client.get(f"/v1/projects/{pid}/versions", headers=team["viewer"]).json()
    assert [v["name"] for v in versions["versions"]] == ["v2", "v1"]
    # Viewers cannot restore; the editor can.
    url = f"/v1/projects/{pid}/versions/{v1.json()['id']}/restore"
    assert client.post(url, headers=team["viewer"]).status_code == 403
    assert client.post(url, headers=editor).status_code == 204
    assert current_title() == {"title": "first"}
    # The pre-restore state is still reachable: v2 restores forward again.
    v2_id = versions["versions"][0]["id"]
    client.post(f"/v1/projects/{pid}/versions/{v2_id}/restore", headers=editor)
    assert current_title() == {"title": "second", "tempo": 90}
    # A peer holding the old state merges the restore (no rewind broke its history).
    assert base.get("meta", type=Map).to_py() == {"title": "second", "tempo": 90}
    missing = client.post(f"/v1/projects/{pid}/versions/{uuid.uuid4()}/restore", headers=editor)
    assert missing.status_code == 404


def test_account_deletion_removes_projects(client: TestClient, team: dict) -> None:
    pid = _pid(team)
    r = client.request("DELETE", "/v1/accounts/me", json={"password": "correct horse battery"},
                       headers=team["owner"])
    assert r.status_code == 204
    assert client.get(f"/v1/projects/{pid}", headers=team["editor"]).status_code == 404
    assert client.get("/v1/projects", headers=team["viewer"]).json()["projects"] == []
