"""Run the store's migrations, on a connection given by ``onpace.storage.db`` or from settings.

``onpace.storage.db.upgrade`` passes its connection in ``config.attributes["connection"]``.
Without one (the ``alembic`` command with ``alembic.ini`` next to this file, for writing a new
revision), the database comes from ``sqlalchemy.url`` in the ini file or ``ONPACE_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from onpace.storage.db import make_engine, migration_connection
from onpace.storage.tables import metadata

config = context.config


def run_on(connection: Connection) -> None:
    """Run the pending migrations on ``connection``."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Print the migrations as SQL for the URL's dialect instead of running them."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the given connection, or on the configured database."""
    given = config.attributes.get("connection")
    if given is not None:
        run_on(given)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    try:
        with migration_connection(engine) as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
