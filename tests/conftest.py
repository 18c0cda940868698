"""Shared fixtures: a migrated store (SQLite by default, PostgreSQL on request) and a rolled-back session.

``ONPACE_TEST_DATABASE_URL`` selects PostgreSQL, e.g.
``postgresql://postgres@127.0.0.1:55432/onpace_test``. Each test process then works in a schema
of its own (created here, dropped at the end), so parallel workers (pytest-xdist) never meet.
Without it, each test process gets a temporary SQLite file. Either way the schema is built by
running the migrations, exactly as ``onpace db upgrade`` does.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from onpace.storage.db import make_engine, normalise_url, upgrade

TEST_URL_VARIABLE = "ONPACE_TEST_DATABASE_URL"
STORE_FIXTURES = {"engine", "session", "database_url", "empty_database_url"}


def _new_database(folder: Path, label: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database and return its URL and a function that removes it."""
    base = os.environ.get(TEST_URL_VARIABLE)
    if not base:
        return f"sqlite:///{folder / f'{label}.db'}", lambda: None
    schema = f"test_{label}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    # libpq's "options" selects the schema for every connection, including other processes'.
    url = make_url(normalise_url(base)).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return the URL of this test process's migrated store (give it to subprocesses)."""
    url, drop = _new_database(tmp_path_factory.mktemp("store"), "store")
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    yield url
    drop()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """Return an engine on the migrated store shared by this test process."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """Return a session whose work is rolled back after the test, commits included.

    The test runs inside an outer transaction; the session joins it with SAVEPOINTs, so code
    under test may call ``commit()`` and ``rollback()`` as in production.
    """
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        if outer.is_active:
            outer.rollback()
        connection.close()


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """Return the URL of a new, empty database (no tables), removed after the test."""
    url, drop = _new_database(tmp_path, "empty")
    yield url
    drop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the store with ``store``, so ``-m "not store"`` skips them."""
    for item in items:
        if STORE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.store)
