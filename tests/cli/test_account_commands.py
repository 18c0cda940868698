"""The account commands: every change is audited as made from the command line, and a new password ends sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from onpace.cli import app
from onpace.config import get_settings
from onpace.services.sessions import session_user, start_session
from onpace.services.users import find_user
from onpace.storage.db import make_engine, make_session_factory
from onpace.storage.tables import AuditRow

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    monkeypatch.setenv("ONPACE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_account_commands_are_audited_and_a_new_password_ends_every_session(store: str) -> None:
    added = runner.invoke(
        app, ["user", "add", "ana@example.org", "--name", "Ana", "--password", "first secret"]
    )
    assert added.exit_code == 0, added.output
    factory = make_session_factory(make_engine(store))
    now = dt.datetime.now(dt.UTC)
    with factory() as session:
        user = find_user(session, "ana@example.org")
        assert user is not None
        secret = start_session(session, user, now=now)
        session.commit()
    created = runner.invoke(app, ["token", "create", "ana@example.org", "--name", "ci"])
    assert created.exit_code == 0, created.output
    changed = runner.invoke(app, ["user", "password", "ana@example.org", "--password", "second secret"])
    assert changed.exit_code == 0, changed.output
    assert "sessions are ended" in changed.output
    short = runner.invoke(app, ["user", "password", "ana@example.org", "--password", "short"])
    assert short.exit_code == 1
    assert "Traceback" not in short.output
    with factory() as session:
        assert session_user(session, secret, user_id=user.id, now=now) is None
        rows = session.scalars(select(AuditRow).order_by(AuditRow.seq)).all()
    assert [(row.action, row.actor) for row in rows] == [
        ("user_added", "command line"),
        ("token_created", "command line"),
        ("user_password_changed", "command line"),
    ]
    assert rows[2].payload["sessions_ended"] == 1
