"""The migrations build exactly the declared schema, on SQLite and PostgreSQL, both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from onpace.storage.db import current_revision, downgrade, head_revision, make_engine, upgrade
from onpace.storage.tables import metadata


def test_the_migrated_schema_matches_the_table_declarations(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_the_store_is_at_the_latest_revision_after_upgrade(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()


def test_migrations_go_down_to_nothing_and_up_again(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrading_an_up_to_date_store_changes_nothing(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine)
        before = sorted(inspect(engine).get_table_names())
        upgrade(engine)
        assert sorted(inspect(engine).get_table_names()) == before
    finally:
        engine.dispose()


def test_migrations_are_found_whatever_the_working_directory(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_every_table_but_orgs_carries_the_organisation() -> None:
    # Accounts, jobs and the audit trail may span organisations (an admin, a system job).
    may_be_global = {"users", "api_tokens", "jobs", "audit_log", "web_sessions", "login_failures"}
    # The audit chain is one chain over every organisation: its head and checkpoints are too.
    chain_anchors = {"audit_head", "audit_checkpoints"}
    for name, table in metadata.tables.items():
        if name == "orgs" or name in chain_anchors:
            continue
        assert "org_id" in table.c, f"{name} has no org_id"
        assert table.c.org_id.nullable == (name in may_be_global), name
