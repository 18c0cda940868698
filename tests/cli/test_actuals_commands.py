"""`onpace actuals`: manual entries wait for approval, and the unit head approves or rejects them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from onpace import cli
from onpace.cli import actuals_commands
from onpace.config import get_settings
from onpace.storage.db import make_engine
from onpace.storage.tables import JobRow, PointRow

runner = CliRunner()

MODEL = """\
org: Handco
units:
  - {id: ops, name: Operations, head: olga}
people:
  - {id: olga, name: Olga Berg, email: olga@hand.example, unit: ops}
  - {id: mia, name: Mia Lund, email: mia@hand.example, unit: ops}
cycles:
  - {id: 2026-Q1, start: 2026-01-05, end: 2026-03-29}
kpis:
  - {id: orders, title: Orders shipped, unit: ops, owner: mia, measure: flow, grain: week,
     aggregate: sum, plan: {per_bucket: 100}, source: csv}
sources:
  - {id: csv, kind: push}
policy:
  approve_manual: true
"""


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    (tmp_path / "onpace.yaml").write_text(MODEL, encoding="utf-8")
    assert runner.invoke(cli.app, ["load", "onpace.yaml"]).exit_code == 0
    (tmp_path / "feed.csv").write_text("metric,date,value\norders,2026-01-07,410\n", encoding="utf-8")
    (tmp_path / "hand.csv").write_text("metric,date,value\norders,2026-01-07,500\n", encoding="utf-8")
    fed = runner.invoke(cli.app, ["ingest", "feed.csv"])  # evaluates at once: no request left waiting
    assert fed.exit_code == 0, fed.output
    yield tmp_path
    get_settings.cache_clear()


def stored() -> list[tuple[int, float, bool, bool]]:
    """Return (version, value, approved, superseded) of every stored point."""
    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(PointRow.version, PointRow.value, PointRow.approved, PointRow.superseded_at).order_by(
                    PointRow.version
                )
            ).all()
            return [(v, value, approved, gone is not None) for v, value, approved, gone in rows]
    finally:
        engine.dispose()


def entry_of_hand_entry() -> int:
    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(PointRow.run_id).where(PointRow.version == 2)))
    finally:
        engine.dispose()


def evaluation_requests() -> int:
    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as connection:
            waiting = select(JobRow.id).where(JobRow.kind == "evaluate", JobRow.done_at.is_(None))
            return len(connection.execute(waiting).all())
    finally:
        engine.dispose()


def test_a_manual_entry_waits_for_approval_when_the_policy_asks_for_it(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(cli.app, ["ingest", "hand.csv", "--manual", "--by", "mia", "--no-evaluate"])
    assert result.exit_code == 0, result.output
    assert "1 point(s) wait for approval" in result.output
    assert stored() == [(1, 410.0, True, False), (2, 500.0, False, False)]
    # The console's width is fixed when it is made; a wide one keeps each row on one line.
    monkeypatch.setattr(actuals_commands, "out", Console(width=200, highlight=False))
    listed = runner.invoke(cli.app, ["actuals", "pending"])
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.output.splitlines() if "Orders shipped" in row)
    assert all(part in line for part in ("7 Jan 2026", "410", "500", "Mia Lund"))


def test_a_manual_entry_without_its_author_is_refused(store: Path) -> None:
    result = runner.invoke(cli.app, ["ingest", "hand.csv", "--manual"])
    assert result.exit_code == 1
    assert "say who entered them with --by" in result.output
    assert stored() == [(1, 410.0, True, False)]


def test_the_unit_head_approves_an_entry_and_its_value_comes_into_force(store: Path) -> None:
    runner.invoke(cli.app, ["ingest", "hand.csv", "--manual", "--by", "mia", "--no-evaluate"])
    entry = entry_of_hand_entry()
    assert evaluation_requests() == 0  # an entry waiting for approval changes nothing yet
    result = runner.invoke(cli.app, ["actuals", "approve", str(entry), "--by", "olga"])
    assert result.exit_code == 0, result.output
    assert f"entry {entry}: 1 point(s) approved" in result.output
    assert stored() == [(1, 410.0, True, True), (2, 500.0, True, False)]
    assert evaluation_requests() == 1
    assert "no manual entry waits" in runner.invoke(cli.app, ["actuals", "pending"]).output


def test_a_rejected_entry_leaves_the_value_in_force(store: Path) -> None:
    runner.invoke(cli.app, ["ingest", "hand.csv", "--manual", "--by", "mia", "--no-evaluate"])
    entry = entry_of_hand_entry()
    result = runner.invoke(cli.app, ["actuals", "reject", str(entry), "--by", "olga"])
    assert result.exit_code == 0, result.output
    assert "rejected; the values in force stay" in result.output
    assert stored() == [(1, 410.0, True, False), (2, 500.0, False, True)]


def test_the_author_an_outsider_an_unknown_entry_and_a_second_decision_are_refused(store: Path) -> None:
    runner.invoke(cli.app, ["ingest", "hand.csv", "--manual", "--by", "mia", "--no-evaluate"])
    entry = str(entry_of_hand_entry())
    own = runner.invoke(cli.app, ["actuals", "approve", entry, "--by", "mia", "--editor"])
    assert own.exit_code == 1
    assert "four eyes" in own.output
    outsider = runner.invoke(cli.app, ["actuals", "approve", entry, "--by", "someone"])
    assert outsider.exit_code == 1
    assert "head of its unit" in outsider.output
    unknown = runner.invoke(cli.app, ["actuals", "approve", "987654", "--by", "olga"])
    assert unknown.exit_code == 1
    assert "no manual entry 987654" in unknown.output
    assert runner.invoke(cli.app, ["actuals", "reject", entry, "--by", "olga"]).exit_code == 0
    again = runner.invoke(cli.app, ["actuals", "approve", entry, "--by", "olga"])
    assert again.exit_code == 1
    assert "no longer wait for approval" in again.output
    assert "Traceback" not in again.output
    assert stored() == [(1, 410.0, True, False), (2, 500.0, False, True)]
