"""Schemathesis against ``/openapi.json``: no 5xx and every response matches the schema.

Bounded on purpose (a few examples per operation) so it runs in well under a minute. It calls
the app with an admin's token, on a demo store of its own: generated requests may close cases
or add objects, which must not change what the other tests see.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from web_world import SECRET_KEY, Persona, build_world, new_database

from onpace.app import create_app
from onpace.config import Settings

pytestmark = pytest.mark.store

EXAMPLES_PER_OPERATION = 6


@pytest.fixture(scope="module")
def own_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, Persona]]]:
    """Return an app on a demo store used by this module only, and its personas."""
    url, drop = new_database(tmp_path_factory.mktemp("contract"), "contract")
    personas = build_world(url)
    yield create_app(Settings(database_url=url, secret_key=SecretStr(SECRET_KEY))), personas
    drop()


def test_the_api_answers_every_generated_request_without_a_server_error_and_as_documented(
    own_world: tuple[FastAPI, dict[str, Persona]],
) -> None:
    app, personas = own_world
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {personas['admin'].token}"}
    checks = [schemathesis.checks.not_a_server_error, schemathesis.checks.response_schema_conformance]
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30

    def exercise(operation: schemathesis.APIOperation) -> None:
        @given(data=st.data())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(data: st.DataObject) -> None:
            case = data.draw(operation.as_strategy())
            case.call_and_validate(headers=headers, checks=checks)

        run()

    for operation in operations:
        try:
            exercise(operation)
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
