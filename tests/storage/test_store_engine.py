"""The engine: URLs, SQLite pragmas and transactions, UTC datetimes, foreign keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from onpace.config import get_settings
from onpace.errors import UserError
from onpace.storage.db import DatabaseUrlError, make_engine, make_session_factory, normalise_url, session_for
from onpace.storage.tables import OrgRow, UnitRow

NOW = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/onpace", "postgresql+psycopg://u:p@db:5432/onpace"),
        ("postgres://u@db/onpace", "postgresql+psycopg://u@db/onpace"),
        ("postgresql+psycopg://u@db/onpace", "postgresql+psycopg://u@db/onpace"),
        ("sqlite:///onpace.db", "sqlite:///onpace.db"),
    ],
)
def test_it_points_postgresql_urls_at_psycopg_3(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_it_explains_a_database_url_it_cannot_parse() -> None:
    with pytest.raises(DatabaseUrlError, match="cannot parse database URL"):
        normalise_url("not a url")


def test_it_opens_sqlite_with_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert (connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 1000
    engine.dispose()


def test_it_uses_the_configured_database_url_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'configured.db'}")
    get_settings.cache_clear()
    try:
        engine = make_engine()
        assert engine.url.database == str(tmp_path / "configured.db")
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_sqlite_savepoints_roll_back_only_the_inner_work(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (v INTEGER)")
    with engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        inner = connection.begin_nested()
        connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        inner.rollback()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT v FROM t").scalars().all() == [1]
    engine.dispose()


def test_a_rolled_back_sqlite_transaction_leaves_no_trace(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (v INTEGER)")
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        transaction.rollback()
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    engine.dispose()


def test_session_factory_keeps_objects_readable_after_commit(engine: Engine) -> None:
    factory = make_session_factory(engine)
    assert factory.kw["expire_on_commit"] is False


def test_datetimes_come_back_as_the_same_instant_in_utc(session: Session) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    org = OrgRow(name="Tz", week_start="monday", created_at=NOW.astimezone(paris), updated_at=NOW)
    session.add(org)
    session.flush()
    session.expire_all()
    stored = session.scalars(select(OrgRow).where(OrgRow.name == "Tz")).one()
    assert stored.created_at == NOW
    assert stored.created_at.utcoffset() == dt.timedelta(0)


def test_it_refuses_a_naive_datetime(session: Session) -> None:
    session.add(OrgRow(name="Naive", week_start="monday", created_at=dt.datetime(2026, 1, 5), updated_at=NOW))
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(
        UnitRow(
            org_id=987654,
            id="ops",
            name="Operations",
            position=0,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_session_for_rolls_back_what_was_not_committed(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (v INTEGER)")
    with session_for(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        session.commit()
        session.execute(text("INSERT INTO t VALUES (2)"))
    with session_for(engine) as session:
        assert session.execute(text("SELECT v FROM t")).scalars().all() == [1]
    engine.dispose()


def test_store_errors_are_shown_to_users_as_plain_lines() -> None:
    assert issubclass(DatabaseUrlError, UserError)
