"""`onpace demo --no-serve`: the demo store is built from scratch in its own folder, never in someone else's."""

from __future__ import annotations

import hashlib
import re
import socket
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from onpace.cli import app

runner = CliRunner()
LOGIN = re.compile(r"^\s+(admin|owner)\s+(\S+@\S+)\s+password (\S+)", re.MULTILINE)


def counts(database: Path) -> tuple[int, int, int]:
    with sqlite3.connect(database) as connection:
        open_cases = connection.execute("SELECT count(*) FROM cases WHERE status = 'open'").fetchone()[0]
        outbox = connection.execute("SELECT count(*) FROM outbox").fetchone()[0]
        users = connection.execute("SELECT count(*) FROM users").fetchone()[0]
    return open_cases, outbox, users


def test_the_demo_builds_a_store_with_open_cases_an_outbox_and_printed_logins(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    first = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(folder)])
    assert first.exit_code == 0, first.output
    logins = LOGIN.findall(first.stdout)
    assert [role for role, _, _ in logins] == ["admin", "owner"]
    assert "replaying 12 weeks" in first.stdout
    assert "not serving (--no-serve)" in first.stdout
    open_cases, outbox, users = counts(folder / "demo.db")
    assert open_cases > 0
    assert outbox > 0
    assert users == 2

    again = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(folder)])
    assert again.exit_code == 0, again.output
    assert "the previous demo store there is replaced" in again.stdout
    assert counts(folder / "demo.db") == (open_cases, outbox, users)
    assert LOGIN.findall(again.stdout) != logins, "every run makes new passwords"


def test_a_folder_holding_another_store_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    other = tmp_path / "project"
    other.mkdir()
    with sqlite3.connect(other / "onpace.db") as connection:
        connection.execute("CREATE TABLE orgs (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO orgs (name) VALUES ('Acme Logistics')")
    before = hashlib.sha256((other / "onpace.db").read_bytes()).hexdigest()
    result = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(other)])
    assert result.exit_code == 1
    assert "is not an onpace demo folder" in result.stderr
    assert "choose another --data-dir" in result.stderr
    assert "Traceback" not in result.output
    assert hashlib.sha256((other / "onpace.db").read_bytes()).hexdigest() == before
    assert sorted(p.name for p in other.iterdir()) == ["onpace.db"]


def test_a_port_in_use_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path / "demo"), "--port", str(port)])
    assert result.exit_code == 1
    assert f"127.0.0.1:{port} is in use" in result.stderr
    assert not (tmp_path / "demo").exists()
