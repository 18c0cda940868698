"""Every status an API route answers is listed in the OpenAPI schema: the schema is walked and each route provoked.

For each operation of ``/openapi.json`` the test makes the requests that provoke its error
statuses — no credential, a read-scope token, a body that is not the schema's, an id that
does not exist, a store with no model yet — and checks that the status it gets is one the
schema lists for that operation, with the error body the schema describes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from web_world import SECRET_KEY, Persona, new_database

from onpace.app import create_app
from onpace.config import Settings
from onpace.services.tokens import create_token
from onpace.services.users import add_user
from onpace.storage.db import make_engine, make_session_factory, upgrade

pytestmark = pytest.mark.store

UNKNOWN = {"integer": "987654", "string": "no_such_thing"}


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, object]]]:
    schema = app.openapi()
    return [
        (method.upper(), path, operation)
        for path, methods in schema["paths"].items()
        if path.startswith("/api/")
        for method, operation in methods.items()
    ]


def concrete(path: str, operation: dict[str, object]) -> str:
    """Return ``path`` with each path parameter replaced by a value that names nothing."""
    types = {
        p["name"]: p.get("schema", {}).get("type", "string")  # type: ignore[index, union-attr]
        for p in operation.get("parameters", [])  # type: ignore[union-attr]
        if p["in"] == "path"  # type: ignore[index]
    }
    return re.sub(r"\{(\w+)\}", lambda m: UNKNOWN.get(str(types.get(m.group(1))), "no_such_thing"), path)


def check(answer_status: int, body: object, method: str, path: str, operation: dict[str, object]) -> None:
    listed = operation["responses"]
    assert str(answer_status) in listed, (
        f"{method} {path} answered {answer_status}, not listed in {sorted(listed)}"
    )  # type: ignore[operator]
    if answer_status >= 400:
        assert isinstance(body, dict), (method, path, body)
        assert isinstance(body.get("error"), str), (method, path, body)


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    """Return an app on a store with an admin account and no model, and the admin's token."""
    url, drop = new_database(tmp_path_factory.mktemp("empty"), "empty")
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    with make_session_factory(engine)() as session:
        add_user(
            session,
            email="root@empty.example",
            name="Root",
            role="admin",
            password="long enough pw 1",
            now=now,
        )
        token = create_token(session, email="root@empty.example", name="t", scope="write", now=now).token
        session.commit()
    engine.dispose()
    yield create_app(Settings(database_url=url, secret_key=SecretStr(SECRET_KEY))), token
    drop()


def test_every_route_lists_every_status_it_answers(
    app: FastAPI, client: TestClient, personas: dict[str, Persona], empty_store: tuple[FastAPI, str]
) -> None:
    walked = operations(app)
    assert len(walked) > 30
    empty_app, empty_token = empty_store
    with TestClient(empty_app) as empty:
        for method, path, operation in walked:
            url = concrete(path, operation)
            has_body = "requestBody" in operation
            provocations: list[tuple[TestClient, dict[str, str], object]] = [
                (client, {}, None),  # no credential
                (client, {"Authorization": "Bearer not-a-token"}, None),
                (client, {"Authorization": f"Bearer {personas['viewer'].read_token}"}, {"not_a_field": 1}),
                (client, {"Authorization": f"Bearer {personas['admin'].token}"}, {"not_a_field": 1}),
                (empty, {"Authorization": f"Bearer {empty_token}"}, None),
            ]
            if not has_body:  # an unknown id, with nothing else wrong
                provocations.append((client, {"Authorization": f"Bearer {personas['admin'].token}"}, None))
            for caller, headers, body in provocations:
                if method in ("GET", "DELETE") and body is not None:
                    continue
                answer = caller.request(method, url, headers=headers, json=body if has_body else None)
                check(answer.status_code, answer.json(), method, path, operation)
            # A NUL character anywhere in the query is refused by every route.
            answer = client.request(
                method, url + "?q=%00", headers={"Authorization": f"Bearer {personas['admin'].token}"}
            )
            check(answer.status_code, answer.json(), method, path, operation)


def test_the_error_body_is_documented_as_the_one_sent() -> None:
    from onpace.api.responses import ErrorOut

    assert set(ErrorOut.model_fields) == {"error", "where", "problems"}
