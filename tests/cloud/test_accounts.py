"""Accounts over HTTP against the real database."""

from __future__ import annotations

import psycopg
from cloud_support import PASSWORD, RecordingMailer, bearer, libpq, sign_in, sign_up
from fastapi.testclient import TestClient

from cloud.config import Settings


def test_sign_up_then_me(client: TestClient) -> None:
    account = sign_up(client, "Ada@Example.COM")
    assert account["email"] == "ada@example.com"
    tokens = sign_in(client, "ADA@example.com")
    assert tokens["token_type"] == "bearer"
    me = client.get("/v1/accounts/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert me.json() == account


def test_sign_up_twice_is_a_conflict(client: TestClient) -> None:
    sign_up(client)
    again = client.post("/v1/accounts", json={"email": "ADA@example.com", "password": PASSWORD})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"


def test_sign_up_validation(client: TestClient) -> None:
    short = client.post("/v1/accounts", json={"email": "a@b.cd", "password": "short"})
    assert short.status_code == 422
    body = short.json()["error"]
    assert body["code"] == "invalid_request"
    assert body["details"][0]["loc"] == ["body", "password"]
    bad_email = client.post("/v1/accounts", json={"email": "nobody", "password": PASSWORD})
    assert bad_email.status_code == 422
    extra = client.post(
        "/v1/accounts", json={"email": "a@b.cd", "password": PASSWORD, "admin": True}
    )
    assert extra.status_code == 422
    malformed = client.post(
        "/v1/accounts", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert "Traceback" not in malformed.text


def test_wrong_password_and_unknown_account_look_the_same(client: TestClient) -> None:
    sign_up(client)
    answers = [
        client.post("/v1/auth/token",
                    data={"grant_type": "password", "username": user, "password": pw})
        for user, pw in [("ada@example.com", "wrong password"), ("who@example.com", PASSWORD)]
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json() == answers[1].json()
    assert answers[0].headers["www-authenticate"] == "Bearer"


def test_password_change_revokes_sessions(client: TestClient) -> None:
    sign_up(client)
    tokens = sign_in(client)
    wrong = client.post("/v1/accounts/me/password", headers=bearer(tokens),
                        json={"current_password": "nope", "new_password": "new password 1"})
    assert wrong.status_code == 401
    ok = client.post("/v1/accounts/me/password", headers=bearer(tokens),
                     json={"current_password": PASSWORD, "new_password": "new password 1"})
    assert ok.status_code == 204
    refresh = client.post("/v1/auth/token", data={"grant_type": "refresh_token",
                                                  "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
    assert client.post("/v1/auth/token", data={
        "grant_type": "password", "username": "ada@example.com", "password": PASSWORD,
    }).status_code == 401
    sign_in(client, password="new password 1")


def test_password_reset(client: TestClient, mailer: RecordingMailer) -> None:
    sign_up(client)
    old = sign_in(client)
    # Unknown addresses get the same answer and no mail.
    assert client.post("/v1/accounts/password-reset",
                       json={"email": "who@example.com"}).status_code == 202
    assert mailer.sent == []
    assert client.post("/v1/accounts/password-reset",
                       json={"email": "ada@example.com"}).status_code == 202
    (to, _subject, body), = mailer.sent
    assert to == "ada@example.com"
    token = body.rsplit(" ", 1)[1]
    confirm = {"token": token, "new_password": "reset password 1"}
    assert client.post("/v1/accounts/password-reset/confirm", json=confirm).status_code == 204
    # One-time: the second use fails, the old sessions are gone, the new password works.
    again = client.post("/v1/accounts/password-reset/confirm", json=confirm)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_reset_token"
    assert client.post("/v1/auth/token", data={
        "grant_type": "refresh_token", "refresh_token": old["refresh_token"]}).status_code == 401
    sign_in(client, password="reset password 1")


def test_unknown_reset_token(client: TestClient) -> None:
    response = client.post("/v1/accounts/password-reset/confirm",
                           json={"token": "made-up", "new_password": "whatever 123"})
    assert response.status_code == 400


def test_account_deletion_removes_the_users_data(
    client: TestClient, settings: Settings
) -> None:
    sign_up(client)
    other = sign_up(client, "bob@example.com")
    tokens = sign_in(client)
    sign_in(client, "bob@example.com")
    client.post("/v1/auth/ws-tickets", headers=bearer(tokens))
    client.post("/v1/accounts/password-reset", json={"email": "ada@example.com"})
    refused = client.request("DELETE", "/v1/accounts/me", headers=bearer(tokens),
                             json={"password": "wrong password"})
    assert refused.status_code == 401
    deleted = client.request("DELETE", "/v1/accounts/me", headers=bearer(tokens),
                             json={"password": PASSWORD})
    assert deleted.status_code == 204
    # The still-unexpired access token no longer opens anything.
    assert client.get("/v1/accounts/me", headers=bearer(tokens)).status_code == 401
    assert sign_up(client)["email"] == "ada@example.com"  # the address is free again
    assert settings.database_url
    with psycopg.connect(libpq(settings.database_url)) as conn:
        owners = {
            table: {str(r[0]) for r in conn.execute(f"SELECT DISTINCT user_id FROM {table}")}
            for table in ("refresh_tokens", "one_time_tokens")
        }
    assert owners["refresh_tokens"] == {other["id"]}
    assert owners["one_time_tokens"] == set()
