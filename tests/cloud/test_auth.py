"""Tokens: rotation and reuse detection, expiry, forgery, key rotation, JWKS, tickets."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
import pytest
from cloud_support import bearer, sign_in, sign_up
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from cloud.auth.tickets import issue_ticket, verify_ticket
from cloud.deps import Service


def refresh(client: TestClient, token: str) -> tuple[int, dict]:
    r = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token})
    return r.status_code, r.json()


def service(client: TestClient) -> Service:
    svc: Service = client.app.state.service  # type: ignore[attr-defined]
    return svc


def test_refresh_rotates(client: TestClient) -> None:
    sign_up(client)
    first = sign_in(client)
    status, second = refresh(client, first["refresh_token"])
    assert status == 200
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/v1/accounts/me", headers=bearer(second)).status_code == 200
    status, _third = refresh(client, second["refresh_token"])
    assert status == 200


def test_reuse_of_a_rotated_token_revokes_the_family(client: TestClient) -> None:
    sign_up(client)
    stolen = sign_in(client)
    other_device = sign_in(client)
    _, legit = refresh(client, stolen["refresh_token"])
    status, body = refresh(client, stolen["refresh_token"])  # replayed by a thief
    assert status == 401
    assert body["error"]["code"] == "refresh_token_reused"
    # The legitimate successor died with its family ...
    status, body = refresh(client, legit["refresh_token"])
    assert status == 401
    assert body["error"]["code"] == "invalid_grant"
    # ... but another sign-in (another family) lives on.
    assert refresh(client, other_device["refresh_token"])[0] == 200


def test_sign_out_revokes_the_family(client: TestClient) -> None:
    sign_up(client)
    tokens = sign_in(client)
    _, rotated = refresh(client, tokens["refresh_token"])
    out = client.post("/v1/auth/sign-out", json={"refresh_token": rotated["refresh_token"]})
    assert out.status_code == 204
    assert refresh(client, rotated["refresh_token"])[0] == 401
    # Signing out twice, or with garbage, is not an error.
    assert client.post("/v1/auth/sign-out", json={"refresh_token": "x"}).status_code == 204


def test_refresh_errors(client: TestClient) -> None:
    assert refresh(client, "never-issued")[0] == 401
    missing = client.post("/v1/auth/token", data={"grant_type": "refresh_token"})
    assert missing.status_code == 400
    bad_grant = client.post("/v1/auth/token", data={"grant_type": "client_credentials"})
    assert bad_grant.status_code == 422
    no_password = client.post("/v1/auth/token", data={"grant_type": "password", "username": "a"})
    assert no_password.status_code == 400


def test_expired_refresh_token(client: TestClient) -> None:
    sign_up(client)
    tokens = sign_in(client)

    async def expire() -> None:
        from sqlalchemy import text

        async with service(client).sessions() as session:
            await session.execute(text("UPDATE refresh_tokens SET expires_at = now()"))
            await session.commit()

    client.portal.call(expire)  # type: ignore[union-attr]
    status, body = refresh(client, tokens["refresh_token"])
    assert status == 401
    assert "expired" in body["error"]["message"]


def test_missing_expired_forged_access_tokens(client: TestClient) -> None:
    account = sign_up(client)
    me = "/v1/accounts/me"
    missing = client.get(me)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "not_authenticated"
    keyring = service(client).keyring
    user_id = uuid.UUID(account["id"])
    expired = keyring.sign_access_token(user_id, ttl_s=60, now=time.time() - 3600)
    r = client.get(me, headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "token expired"
    valid = keyring.sign_access_token(user_id, ttl_s=60)
    assert client.get(me, headers={"Authorization": f"Bearer {valid}"}).status_code == 200
    # Same kid, someone else's key: the signature does not verify.
    forged = jwt.encode(jwt.decode(valid, options={"verify_signature": False}),
                        Ed25519PrivateKey.generate(), algorithm="EdDSA",
                        headers={"kid": keyring.signing_kid})
    # "none" algorithm and plain garbage.
    unsigned = jwt.encode({"sub": account["id"]}, None, algorithm="none",
                          headers={"kid": keyring.signing_kid})
    for token in (forged, unsigned, "garbage", valid[:-4] + "AAAA"):
        r = client.get(me, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert r.json()["error"]["code"] == "invalid_token"


def test_key_rotation_and_retirement(client: TestClient) -> None:
    sign_up(client)
    old = sign_in(client)
    svc = service(client)
    old_kid = svc.keyring.signing_kid

    async def rotate() -> str:
        async with svc.sessions() as session:
            return await svc.keyring.rotate(session)

    async def retire(kid: str) -> None:
        async with svc.sessions() as session:
            await svc.keyring.retire(session, kid)

    new_kid = client.portal.call(rotate)  # type: ignore[union-attr]
    new = sign_in(client)
    assert jwt.get_unverified_header(new["access_token"])["kid"] == new_kid != old_kid
    assert {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]} == {
        old_kid, new_kid}
    # Old tokens verify until their key is retired.
    assert client.get("/v1/accounts/me", headers=bearer(old)).status_code == 200
    with pytest.raises(ValueError):
        client.portal.call(retire, new_kid)  # type: ignore[union-attr]
    client.portal.call(retire, old_kid)  # type: ignore[union-attr]
    assert client.get("/v1/accounts/me", headers=bearer(old)).status_code == 401
    assert client.get("/v1/accounts/me", headers=bearer(new)).status_code == 200
    assert [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]] == [new_kid]


def test_jwks_verifies_tokens_without_any_secret(client: TestClient) -> None:
    sign_up(client)
    tokens = sign_in(client)
    jwks = client.get("/.well-known/jwks.json").json()
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    public = jwt.PyJWK(jwk)
    claims = jwt.decode(tokens["access_token"], public, algorithms=["EdDSA"],
                        issuer="strumspace-cloud")
    assert claims["sub"] == client.get("/v1/accounts/me", headers=bearer(tokens)).json()["id"]


def test_a_second_replica_verifies_the_firsts_tokens(client: TestClient, settings) -> None:
    from cloud.app import create_app

    sign_up(client)
    tokens = sign_in(client)
    # Its own key folder: nothing secret is shared, only the database.
    other = settings.model_copy(update={"keys_dir": settings.data_dir / "replica2"})
    with TestClient(create_app(other)) as replica:
        assert replica.get("/v1/accounts/me", headers=bearer(tokens)).status_code == 200
        theirs = sign_in(replica)
    assert client.get("/v1/accounts/me", headers=bearer(theirs)).status_code == 200
    assert jwt.get_unverified_header(theirs["access_token"])["kid"] != jwt.get_unverified_header(
        tokens["access_token"])["kid"]


def test_ws_tickets_are_single_use(client: TestClient) -> None:
    account = sign_up(client)
    tokens = sign_in(client)
    assert client.post("/v1/auth/ws-tickets").status_code == 401
    r = client.post("/v1/auth/ws-tickets", headers=bearer(tokens))
    assert r.status_code == 201
    ticket = r.json()["ticket"]
    assert r.json()["expires_in"] == 30
    sessions = service(client).sessions
    first = client.portal.call(verify_ticket, sessions, ticket)  # type: ignore[union-attr]
    second = client.portal.call(verify_ticket, sessions, ticket)  # type: ignore[union-attr]
    assert str(first) == account["id"]
    assert second is None
    for bad in (None, "", "unknown", "x" * 500):
        assert client.portal.call(verify_ticket, sessions, bad) is None  # type: ignore[union-attr]


def test_expired_ws_ticket(client: TestClient) -> None:
    account = sign_up(client)
    sessions = service(client).sessions

    async def expired_ticket() -> str:
        async with sessions() as session:
            ticket = await issue_ticket(session, uuid.UUID(account["id"]), ttl_s=-1)
            await session.commit()
            return ticket

    ticket = client.portal.call(expired_ticket)  # type: ignore[union-attr]
    assert client.portal.call(verify_ticket, sessions, ticket) is None  # type: ignore[union-attr]


def test_concurrent_use_of_one_ticket_admits_one(client: TestClient) -> None:
    sign_up(client)
    ticket = client.post("/v1/auth/ws-tickets", headers=bearer(sign_in(client))).json()["ticket"]
    sessions = service(client).sessions

    async def race() -> list[object]:
        return list(await asyncio.gather(*(verify_ticket(sessions, ticket) for _ in range(5))))

    results = client.portal.call(race)  # type: ignore[union-attr]
    assert sum(r is not None for r in results) == 1
