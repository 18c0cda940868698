"""Schemathesis against ``/openapi.json``: no 5xx and every response matches the schema.

Bounded on purpose (a few examples per operation) so it runs in well under a minute. It calls
the app as an admin, on a demo store of its own: generated requests may close cases, add
objects or revoke tokens, which must not change what the other tests see. Each generated request
carries a token made for it alone, so a request that revokes tokens (a generated id may be the
caller's own) cannot turn the requests after it, or Hypothesis's replay of it, into 401s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from web_world import SECRET_KEY, build_world, new_database

from onpace.app import create_app
from onpace.config import Settings
from onpace.services.tokens import create_token
from onpace.storage.db import make_engine, make_session_factory

pytestmark = pytest.mark.store

EXAMPLES_PER_OPERATION = 6


@pytest.fixture(scope="module")
def own_world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FastAPI, Callable[[], str]]]:
    """Return an app on a demo store used by this module only, and a maker of fresh admin tokens."""
    url, drop = new_database(tmp_path_factory.mktemp("contract"), "contract")
    admin = build_world(url)["admin"]
    engine = make_engine(url)
    sessions = make_session_factory(engine)

    def admin_token() -> str:
        with sessions() as session:
            made = create_token(
                session, email=admin.email, name="contract", scope="write", now=dt.datetime.now(dt.UTC)
            )
            session.commit()
        return made.token

    yield create_app(Settings(database_url=url, secret_key=SecretStr(SECRET_KEY))), admin_token
    engine.dispose()
    drop()


def test_the_api_answers_every_generated_request_without_a_server_error_and_as_documented(
    own_world: tuple[FastAPI, Callable[[], str]],
) -> None:
    app, admin_token = own_world
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [
        schemathesis.checks.not_a_server_error,
        schemathesis.checks.response_schema_conformance,
        schemathesis.checks.status_code_conformance,
    ]
    failures: list[str] = []
    signed_in: set[str] = set()  # operations that answered at least once past the sign-in check
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
            headers = {"Authorization": f"Bearer {admin_token()}"}
            if case.call_and_validate(headers=headers, checks=checks).status_code != 401:
                signed_in.add(operation.label)

        run()

    for operation in operations:
        try:
            exercise(operation)
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
    assert signed_in == {operation.label for operation in operations}
