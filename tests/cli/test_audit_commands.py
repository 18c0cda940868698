"""`onpace audit verify` and `onpace audit checkpoint`: a cut or rewritten log exits 1 naming the row."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onpace.cli import app
from onpace.config import get_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "onpace.yaml"

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ONPACE_AUDIT_KEY", "a key kept outside the database")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run_sql(store: Path, sql: str) -> None:
    with sqlite3.connect(store / "cli.db") as connection:
        connection.execute(sql)


def row_count(store: Path) -> int:
    with sqlite3.connect(store / "cli.db") as connection:
        return int(connection.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0])


def audited_store(store: Path) -> None:
    assert runner.invoke(app, ["load", str(EXAMPLE)]).exit_code == 0
    actuals = store / "a.csv"
    actuals.write_text("metric,date,value\nonline_orders,2026-04-07,120\nonline_orders,2026-04-08,121\n")
    assert runner.invoke(app, ["ingest", str(actuals)]).exit_code == 0
    actuals.write_text("metric,date,value\nonline_orders,2026-04-07,125\n")
    assert runner.invoke(app, ["ingest", str(actuals)]).exit_code == 0


def test_verify_says_intact_then_exits_one_naming_a_deleted_last_row(store: Path) -> None:
    audited_store(store)
    assert "audit log intact" in runner.invoke(app, ["audit", "verify"]).output
    rows = row_count(store)
    run_sql(store, "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit row {rows}: is missing (deleted? the head record counts {rows} rows)" in result.stderr
    assert "Traceback" not in result.output


def test_an_exported_checkpoint_finds_a_log_emptied_with_its_anchors(store: Path) -> None:
    audited_store(store)
    taken = runner.invoke(app, ["audit", "checkpoint", "-o", "anchors.json"])
    assert taken.exit_code == 0, taken.output
    assert f'"row_count": {row_count(store)}' in (store / "anchors.json").read_text()
    for table in ("audit_log", "audit_head", "audit_checkpoints"):
        run_sql(store, f"DELETE FROM {table}")
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    result = runner.invoke(app, ["audit", "verify", "--checkpoint", "anchors.json"])
    assert result.exit_code == 1
    assert "audit row 1: is missing" in result.stderr


def test_verify_names_an_edited_row(store: Path) -> None:
    audited_store(store)
    run_sql(store, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "audit row 2: content does not match its MAC" in result.stderr


def test_checkpoint_prints_json_and_a_bad_checkpoint_file_is_one_line(store: Path) -> None:
    audited_store(store)
    printed = runner.invoke(app, ["audit", "checkpoint"])
    assert printed.exit_code == 0
    assert '"format": "onpace-audit-checkpoints"' in printed.stdout
    (store / "bad.json").write_text("not json")
    result = runner.invoke(app, ["audit", "verify", "--checkpoint", "bad.json"])
    assert result.exit_code == 1
    assert "bad.json: not a checkpoint file" in result.stderr
    assert "Traceback" not in result.output
