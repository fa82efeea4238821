"""The API fuzzed from its own OpenAPI schema (schemathesis), in process against the
ASGI app and the real database: no 5xx, and every answer matches the schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from cloud_support import bearer, sign_in, sign_up
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from cloud.app import create_app
from cloud.config import Settings

# Kept small: the whole cloud suite must stay fast on a shared 2-core machine.
EXAMPLES = 20


@pytest.fixture
def fuzzed_app(settings: Settings) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    # Rate limits high: the fuzzer should reach the handlers, not the limiter.
    relaxed = settings.model_copy(update={"rate_limit_auth_per_min": 100_000,
                                          "rate_limit_default_per_min": 100_000})
    app = create_app(relaxed)
    with TestClient(app) as client:
        sign_up(client)
        yield app, bearer(sign_in(client))


def test_api(fuzzed_app: tuple[FastAPI, dict[str, str]]) -> None:
    app, auth = fuzzed_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # schemathesis' pytest plugin does not run under pytest 9 yet: drive hypothesis here,
    # one operation at a time.
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            headers = dict(case.headers or {})
            # Authenticated unless the case is about the Authorization header itself.
            headers.setdefault("Authorization", auth["Authorization"])
            case.call_and_validate(
                headers=headers,
                checks=[not_a_server_error, response_schema_conformance,
                        content_type_conformance],
            )

        check()
