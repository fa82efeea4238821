"""Health, readiness, metrics, error bodies, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloud.app import create_app
from cloud.config import Settings, load_settings
from cloud.db.embedded import _free_port
from cloud.schemas import API_VERSION


def test_healthz_and_readyz(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["api_version"] == API_VERSION
    assert client.get("/readyz").json() == {"status": "ready", "database": "ok"}


def test_readyz_without_a_database(settings: Settings) -> None:
    # Nothing listens on this port: the process is alive but not ready.
    dead = settings.model_copy(update={
        "database_url": f"postgresql+psycopg://postgres:x@127.0.0.1:{_free_port()}/none"})
    # Without `with`: the lifespan (which loads keys from the database) does not run.
    c = TestClient(create_app(dead))
    assert c.get("/healthz").status_code == 200
    r = c.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable", "database": "unreachable"}


def test_metrics(client: TestClient) -> None:
    client.get("/healthz")
    client.get("/v1/accounts/me")
    text = client.get("/metrics").text
    count = "strumspace_http_request_duration_seconds_count"
    assert f'{count}{{method="GET",route="/healthz",status="200"}} 1.0' in text
    assert 'route="/v1/accounts/me",status="401"' in text
    assert 'strumspace_db_pool_connections{state="in_use"}' in text
    assert "strumspace_db_pool_size 2.0" in text


def test_errors_are_json_without_traces(client: TestClient) -> None:
    missing = client.get("/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "Not Found", "details": []}}
    wrong_method = client.put("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"

    def boom() -> None:
        raise RuntimeError("secret internals")

    client.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
    crash = client.get("/boom")
    assert crash.status_code == 500
    assert crash.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in crash.text and "Traceback" not in crash.text


def test_openapi_documents_the_error_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "ErrorResponse" in spec["components"]["schemas"]
    assert "/v1/auth/token" in spec["paths"]


def test_settings_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cloud.toml"
    config.write_text('port = 9999\naccess_token_ttl_s = 120\n')
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example/strum")
    monkeypatch.setenv("STRUMSPACE_CLOUD_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("STRUMSPACE_CLOUD_ACCESS_TOKEN_TTL_S", "60")
    s = load_settings(config)
    assert s.port == 9999  # from the file
    assert s.access_token_ttl_s == 60  # the environment wins over the file
    assert s.database_url == "postgres://u:p@db.example/strum"
    assert s.data_dir == tmp_path / "data"
    assert s.signing_keys_dir == tmp_path / "data" / "keys"
    config.write_text("prot = 1\n")  # a typo is an error, not silently ignored
    with pytest.raises(ValueError):
        load_settings(config)
