"""Fixtures for the worker tests: a fresh migrated store per test, since workers commit for real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from onpace.storage.db import make_engine, upgrade


@pytest.fixture
def store(empty_database_url: str) -> Iterator[Engine]:
    """Return an engine (immediate transactions on SQLite, as workers use) on a new migrated store."""
    engine = make_engine(empty_database_url, sqlite_immediate=True)
    upgrade(engine)
    yield engine
    engine.dispose()
