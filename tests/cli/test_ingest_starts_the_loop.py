"""`onpace ingest` starts the loop: it evaluates the new points itself, or says it left them to a worker."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from onpace import cli
from onpace.config import get_settings
from onpace.storage.db import make_engine
from onpace.storage.tables import CaseRow, EvaluationRow, JobRow, OutboxRow

runner = CliRunner()


def model_text(today: dt.date) -> str:
    start = today - dt.timedelta(days=today.weekday() + 28)
    return f"""\
org: Inlineco
units:
  - {{id: ops, name: Operations, head: olga}}
people:
  - {{id: olga, name: Olga Berg, email: olga@inline.example, unit: ops}}
cycles:
  - {{id: c1, start: {start}, end: {start + dt.timedelta(days=90)}}}
kpis:
  - {{id: k1, title: KPI 1, unit: ops, owner: olga, measure: level, grain: week, aggregate: last,
      plan: {{per_bucket: 100}}, constraint: true}}
policy:
  open_case_on: [red]
"""


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    today = dt.datetime.now(dt.UTC).date()
    (tmp_path / "onpace.yaml").write_text(model_text(today), encoding="utf-8")
    loaded = runner.invoke(cli.app, ["load", "onpace.yaml"])
    assert loaded.exit_code == 0, loaded.output
    (tmp_path / "red.csv").write_text(f"metric,date,value\nk1,{today.isoformat()},12\n", encoding="utf-8")
    yield tmp_path
    get_settings.cache_clear()


def rows(
    folder: Path, table: type[JobRow] | type[CaseRow] | type[EvaluationRow] | type[OutboxRow]
) -> list[object]:
    engine = make_engine(f"sqlite:///{folder / 'cli.db'}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(table)))
    finally:
        engine.dispose()


def test_ingest_evaluates_and_governs_the_new_points_itself(store: Path) -> None:
    result = runner.invoke(cli.app, ["ingest", "red.csv"])
    assert result.exit_code == 0, result.output
    assert f"evaluated and governed as of {dt.datetime.now(dt.UTC).date().isoformat()}" in result.stdout
    [case] = rows(store, CaseRow)
    assert case.subject == "k1"  # type: ignore[attr-defined]
    assert rows(store, OutboxRow)  # the case is on its way to its owner once a worker runs
    [job] = rows(store, JobRow)
    assert (job.kind, job.done_at is not None) == ("evaluate", True)  # type: ignore[attr-defined]


def test_ingest_with_no_evaluate_leaves_one_request_for_a_worker_and_says_so(store: Path) -> None:
    result = runner.invoke(cli.app, ["ingest", "red.csv", "--no-evaluate"])
    assert result.exit_code == 0, result.output
    assert (
        "evaluation queued: a running `onpace worker` evaluates and governs the new points" in result.stdout
    )
    assert rows(store, CaseRow) == []
    assert rows(store, EvaluationRow) == []
    [job] = rows(store, JobRow)
    assert (job.kind, job.done_at) == ("evaluate", None)  # type: ignore[attr-defined]


def test_ingest_of_nothing_new_asks_for_no_evaluation(store: Path) -> None:
    assert runner.invoke(cli.app, ["ingest", "red.csv", "--no-evaluate"]).exit_code == 0
    again = runner.invoke(cli.app, ["ingest", "red.csv"])
    assert again.exit_code == 0, again.output
    assert "evaluated" not in again.stdout
    [job] = rows(store, JobRow)
    assert job.done_at is None  # type: ignore[attr-defined]
