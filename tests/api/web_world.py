# ruff: noqa: E402 - the warning filter must run before the test client is imported
"""Build the demo organisation's store for the API, page and browser tests, and its personas.

The store is made by the services, as production makes it: ``replay_into`` saves the example
model, then for each week ingests the actuals and check-ins dated up to that week and evaluates
and governs the store. It stops at 2026-06-07, when ``fulfilment_spend`` is red with an open
case owned by Ana.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.engine import make_url

# The test client still runs on httpx; the deprecation says nothing about onpace.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient

from onpace.app import create_app
from onpace.config import Settings
from onpace.domain.calendar import end_of_day as end_of
from onpace.modelfile.load import load_model_file
from onpace.services.checkins import read_checkins_csv
from onpace.services.ingest import read_actuals_csv
from onpace.services.replay import as_of_dates, replay_into
from onpace.services.tokens import create_token
from onpace.services.users import add_user
from onpace.storage.db import make_engine, make_session_factory, normalise_url, upgrade

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FIRST_WEEK = dt.date(2026, 4, 12)
LAST_WEEK = dt.date(2026, 6, 7)
PASSWORD = "correct horse battery"
SECRET_KEY = "test-secret-key-0123456789abcdef"


@dataclass(frozen=True)
class Persona:
    """A test user: how to sign in, the token to call the API with, and the person they are."""

    key: str
    email: str
    role: str
    person: str | None
    token: str
    read_token: str


PERSONAS: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "editor": ("editor", "grace"),
    "owner": ("owner", "ana"),
    "outsider": ("owner", "ivo"),
    "viewer": ("viewer", None),
}


def new_database(folder: Path, label: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database (SQLite file, or a PostgreSQL schema when the tests use one)."""
    base = os.environ.get("ONPACE_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{folder / f'{label}.db'}", lambda: None
    schema = f"test_{label}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(normalise_url(base)).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def build_world(url: str) -> dict[str, Persona]:
    """Fill the empty store at ``url`` with the demo organisation and the personas; return them."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        model = load_model_file(EXAMPLES / "onpace.yaml")
        actuals = read_actuals_csv(EXAMPLES / "actuals.csv")
        checkins = read_checkins_csv(EXAMPLES / "checkins.csv", model)
        weeks = as_of_dates(FIRST_WEEK, LAST_WEEK, "week")
        with make_session_factory(engine)() as session:
            replayed = replay_into(
                session,
                model,
                actuals,
                checkins,
                weeks,
                actor="loader",
                origin="examples",
                loaded_at=end_of(FIRST_WEEK - dt.timedelta(days=7)),
                clock=end_of,
            )
            # The weeks run as the generator is drained; the store then stands as of LAST_WEEK.
            assert [step.as_of for step in replayed] == weeks
            personas: dict[str, Persona] = {}
            created = end_of(LAST_WEEK)
            for key, (role, person) in PERSONAS.items():
                email = f"{key}@greenway.example"
                add_user(
                    session,
                    email=email,
                    name=key.title(),
                    role=role,
                    password=PASSWORD,
                    now=created,
                    person_id=person,
                )
                write = create_token(session, email=email, name="tests", scope="write", now=created)
                read = create_token(session, email=email, name="tests read", scope="read", now=created)
                personas[key] = Persona(key, email, role, person, write.token, read.token)
            session.commit()
        return personas
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# fixtures, imported by the conftest of each test folder that needs them


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Persona]]]:
    """Return the URL of a store holding the demo organisation, and its personas."""
    url, drop = new_database(tmp_path_factory.mktemp("web"), "web")
    personas = build_world(url)
    yield url, personas
    drop()


@pytest.fixture(scope="session")
def app(world: tuple[str, dict[str, Persona]]) -> FastAPI:
    """Return the app on the demo store."""
    return create_app(Settings(database_url=world[0], secret_key=SecretStr(SECRET_KEY)))


@pytest.fixture(scope="session")
def personas(world: tuple[str, dict[str, Persona]]) -> dict[str, Persona]:
    """Return the personas by key: admin, editor, owner (Ana), outsider (Ivo), viewer."""
    return world[1]


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """Return a client on the app (no cookies shared between tests)."""
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def sign_in(client: TestClient, persona: Persona) -> str:
    """Sign in through the form; return the session's CSRF token."""
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = client.post(
        "/login",
        data={"email": persona.email, "password": PASSWORD, "csrf_token": csrf.group(1), "next": "/"},
    )
    assert answer.status_code == 303
    desk = client.get("/")
    found = re.search(r'name="csrf_token" value="([^"]+)"', desk.text)
    assert found is not None
    return found.group(1)
