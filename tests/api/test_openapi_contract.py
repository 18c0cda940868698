"""Schemathesis against ``/openapi.json``: no 5xx and every response matches the schema.

Bounded on purpose (a few examples per operation) so it runs in seconds. It calls the app
with an admin's token, on the shared demo store; generated writes are refused or harmless.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import BaseSchema
from web_world import Persona

pytestmark = pytest.mark.store


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> BaseSchema:
    """Return the app's OpenAPI schema loaded by schemathesis."""
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_every_generated_request_without_a_server_error(
    case: schemathesis.Case, personas: dict[str, Persona]
) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {personas['admin'].token}"},
        checks=[schemathesis.checks.not_a_server_error, schemathesis.checks.response_schema_conformance],
    )
