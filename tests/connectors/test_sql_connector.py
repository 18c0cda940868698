"""The SQL connector on a SQLite file and on a real PostgreSQL (when ONPACE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from onpace.connectors.base import SourceError
from onpace.connectors.sql import fetch
from onpace.domain.model import Source
from onpace.storage.db import make_engine

TEST_URL_VARIABLE = "ONPACE_TEST_DATABASE_URL"
QUERY = "SELECT day AS date, metric, value FROM kpi_daily"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    path = tmp_path / "wms.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE kpi_daily (day TEXT, metric TEXT, value)")
        db.executemany(
            "INSERT INTO kpi_daily VALUES (?, ?, ?)",
            [
                ("2026-01-05", "orders", 120),
                ("2026-01-06", "orders", 118.5),
                ("2026-01-07", "orders", "n/a"),
                ("2026-01-07", None, 3),
                ("2026-01-08", "orders", None),
            ],
        )
    return f"sqlite:///{path}"


def test_it_reads_a_sqlite_query_and_rejects_bad_rows(sqlite_url: str) -> None:
    source = Source("wms", "sql", options={"url": "env:WMS_DB_URL", "query": QUERY})
    result = fetch(source, None, env={"WMS_DB_URL": sqlite_url})
    assert result.records.rows() == [
        ("orders", dt.date(2026, 1, 5), 120.0, "wms", 1),
        ("orders", dt.date(2026, 1, 6), 118.5, "wms", 2),
    ]
    assert [(r.locator, r.reason) for r in result.rejected] == [
        ("query row:3", "unparseable number 'n/a'"),
        ("query row:4", "missing metric"),
        ("query row:5", "missing value"),
    ]


def test_since_is_bound_when_the_query_asks_for_it(sqlite_url: str) -> None:
    query = QUERY + " WHERE day >= :since_date AND metric IS NOT NULL AND typeof(value) != 'text'"
    source = Source("wms", "sql", options={"url": sqlite_url, "query": query})
    assert fetch(source, dt.datetime(2026, 1, 6, 9), env={}).records["value"].to_list() == [118.5]
    assert fetch(source, None, env={}).records.height == 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT * FROM no_such_table", "no such table"),
        ("SELEC day FROM kpi_daily", "syntax error"),
        (
            "SELECT day, metric FROM kpi_daily",
            "the query must return columns date, metric, value; missing date, value",
        ),
    ],
)
def test_a_bad_query_is_a_permanent_error(sqlite_url: str, query: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(Source("wms", "sql", options={"url": sqlite_url, "query": query}), None, env={})
    assert caught.value.permanent
    assert message in str(caught.value)


def test_a_bad_url_is_permanent_and_a_refused_connection_transient() -> None:
    with pytest.raises(SourceError) as caught:
        fetch(Source("wms", "sql", options={"url": "nosuchdb://x", "query": "SELECT 1"}), None, env={})
    assert caught.value.permanent
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://onpace:onpace@127.0.0.1:{port}/onpace"
    with pytest.raises(SourceError) as caught:
        fetch(Source("wms", "sql", options={"url": url, "query": "SELECT 1"}), None, env={})
    assert not caught.value.permanent


@pytest.fixture
def postgres_url() -> str:
    """Return the PostgreSQL server of the store tests (CI's PostgreSQL stage sets it)."""
    url = os.environ.get(TEST_URL_VARIABLE)
    if not url or not url.startswith("postgres"):
        pytest.skip(f"{TEST_URL_VARIABLE} does not point at a PostgreSQL database")
    return url


# Marked like the store tests, so the PostgreSQL stage (``pytest -m store``) runs it.
@pytest.mark.store
def test_it_reads_a_postgresql_query_with_native_types(postgres_url: str) -> None:
    table = f"kpi_daily_{uuid.uuid4().hex[:8]}"
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(f"CREATE TABLE {table} (day date, metric text, value numeric(12, 2), src text)")
            )
            conn.execute(
                sa.text(f"INSERT INTO {table} VALUES (:d, :m, :v, :s)"),
                [
                    {"d": dt.date(2026, 1, 5), "m": "orders", "v": 120.25, "s": None},
                    {"d": dt.date(2026, 1, 6), "m": "orders", "v": 130, "s": "wms-eu"},
                    {"d": dt.date(2026, 1, 7), "m": "orders", "v": None, "s": None},
                ],
            )
        query = (
            f"SELECT metric, day AS date, value, src AS source FROM {table} WHERE day >= :since ORDER BY day"
        )
        source = Source("wms", "sql", options={"url": "env:WMS_DB_URL", "query": query})
        result = fetch(source, dt.datetime(2026, 1, 1), env={"WMS_DB_URL": postgres_url})
        assert result.records.rows() == [
            ("orders", dt.date(2026, 1, 5), 120.25, "wms", 1),
            ("orders", dt.date(2026, 1, 6), 130.0, "wms-eu", 2),
        ]
        assert [r.reason for r in result.rejected] == ["missing value"]
        later = fetch(source, dt.datetime(2026, 1, 6), env={"WMS_DB_URL": postgres_url})
        assert later.records["date"].to_list() == [dt.date(2026, 1, 6)]
        missing = Source(
            "wms", "sql", options={"url": postgres_url, "query": "SELECT * FROM no_such_table_here"}
        )
        with pytest.raises(SourceError) as caught:
            fetch(missing, None, env={})
        assert caught.value.permanent
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
