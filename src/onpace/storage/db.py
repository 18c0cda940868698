"""Open the store: engines for SQLite and PostgreSQL, sessions, and schema migrations.

SQLite is the embedded default: WAL journal (readers never block the writer), foreign keys on,
a busy timeout so concurrent writers wait instead of failing. PostgreSQL goes through psycopg 3.
Migrations are Alembic scripts shipped inside the package (``storage/migrations``), so
``upgrade(engine)`` works from an installed wheel whatever the working directory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from onpace.errors import UserError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_BUSY_TIMEOUT_MS = 30_000
# An execution option that makes a SQLite transaction begin IMMEDIATE (see :func:`writing`).
IMMEDIATE_OPTION = "onpace_sqlite_immediate"


class DatabaseUrlError(UserError, ValueError):
    """The database URL cannot be used; the message says why."""


def normalise_url(url: str) -> str:
    """Return ``url`` with PostgreSQL URLs pointed at the psycopg 3 driver.

    ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``; an explicit driver
    is kept. Raise :class:`DatabaseUrlError` for a URL SQLAlchemy cannot parse.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"cannot parse database URL {url!r}; expected e.g. sqlite:///onpace.db "
            "or postgresql://user@host/dbname"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str | None = None, *, sqlite_immediate: bool = False, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (default: the ``ONPACE_DATABASE_URL`` setting).

    On SQLite every connection gets WAL, ``foreign_keys=ON`` and a busy timeout, and SQLAlchemy
    (not the sqlite3 module) emits ``BEGIN``, so SAVEPOINTs and transactional DDL work.
    ``sqlite_immediate=True`` starts every transaction with ``BEGIN IMMEDIATE``: use it for
    processes that read and then write under contention (workers), where a deferred transaction
    can fail to upgrade its lock. Extra keyword arguments go to :func:`sqlalchemy.create_engine`.
    """
    if url is None:
        from onpace.config import get_settings

        url = get_settings().database_url
    url = normalise_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if backend == "sqlite":
        _configure_sqlite(engine, immediate=sqlite_immediate)
    return engine


def _configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Hand transaction control to SQLAlchemy: the sqlite3 module's implicit BEGIN breaks
        # SAVEPOINT and runs DDL outside transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                # With WAL, NORMAL keeps the database consistent after a crash and is much faster.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        wants = connection.get_execution_options().get(IMMEDIATE_OPTION, immediate)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if wants else "BEGIN")


def reading(engine: Engine) -> Engine:
    """Return ``engine`` for transactions that only read: deferred ones on SQLite, whatever its default.

    A deferred SQLite transaction takes no write lock, so a long read (an evaluation's points)
    never holds up writers. It shares ``engine``'s pool; on PostgreSQL it changes nothing.
    """
    return engine.execution_options(**{IMMEDIATE_OPTION: False})


def writing(engine: Engine) -> Engine:
    """Return ``engine`` for transactions that read then write: immediate ones on SQLite.

    A deferred SQLite transaction that reads and then writes cannot wait for the write lock: if
    another writer committed meanwhile it fails at once with "database is locked". An immediate
    one takes the lock at ``BEGIN``, so concurrent writers queue (up to the busy timeout)
    instead of failing. It shares ``engine``'s pool; on PostgreSQL it changes nothing.
    """
    return engine.execution_options(**{IMMEDIATE_OPTION: True})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory; objects stay readable after commit (no expiry round trips)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_for(engine: Engine) -> Iterator[Session]:
    """Yield a session on ``engine`` and close it afterwards; work not committed is rolled back."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic config for the packaged migrations, bound to ``connection`` if given."""
    config = Config()
    # ConfigParser interpolates "%": escape it so any install path works.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """Yield a connection in a transaction for schema changes, committed on success.

    On SQLite, foreign keys are switched off for the duration: batch migrations rebuild tables
    by copy-and-drop, and dropping a referenced table with foreign keys on would cascade deletes.
    The pragma only takes effect outside a transaction, so it is set on the raw connection first,
    and ``PRAGMA foreign_key_check`` must come back empty before the commit.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw = connection.connection.driver_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema up to ``revision`` (default: the latest), in one transaction."""
    with migration_connection(engine) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the schema down to ``revision`` (``"base"`` drops every table)."""
    with migration_connection(engine) as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """Return the latest revision shipped with this version of onpace."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found in the package")
    return head
