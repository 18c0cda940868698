"""`onpace ingest`: a file with a progress bar, or one of the model's sources pulled now as the worker would."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from onpace import cli
from onpace.config import get_settings
from onpace.storage.db import make_engine
from onpace.storage.tables import IngestRunRow, JobRow, PointRow, QuarantineRow

runner = CliRunner()

MODEL = """\
org: Pullco
calendar: {week_start: monday}
units:
  - {id: ops, name: Operations, head: maria}
people:
  - {id: maria, name: Maria Chen, email: maria@pull.example, unit: ops}
cycles:
  - {id: 2026-Q1, start: 2026-01-05, end: 2026-03-29}
objectives:
  - id: O1
    title: Ship more orders
    cycle: 2026-Q1
    unit: ops
    owner: maria
    key_results:
      - {id: KR1, title: Throughput at 100 a day, owner: maria, kpi: throughput, weight: 1}
kpis:
  - id: throughput
    title: Orders shipped per day
    unit: ops
    owner: maria
    measure: level
    direction: up
    grain: week
    aggregate: mean
    plan: {per_bucket: 100}
    source: wms
    leading: true
sources:
  - {id: wms, kind: sql, url: "env:ONPACE_SOURCE_WMS_DB_URL", query: "SELECT day AS date, metric, value FROM kpi_daily", every: 1h}
  - {id: broken, kind: sql, url: "env:ONPACE_SOURCE_WMS_DB_URL", query: "SELECT day AS date, metric, value FROM no_such_table"}
"""


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    model = tmp_path / "onpace.yaml"
    model.write_text(MODEL, encoding="utf-8")
    loaded = runner.invoke(cli.app, ["load", str(model)])
    assert loaded.exit_code == 0, loaded.output
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def wms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sqlite3.Connection:
    """Return the warehouse's own SQLite database, named by ONPACE_SOURCE_WMS_DB_URL as the model says."""
    path = tmp_path / "wms.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE kpi_daily (day TEXT, metric TEXT, value)")
    db.executemany(
        "INSERT INTO kpi_daily VALUES (?, ?, ?)",
        [
            ("2026-01-05", "throughput", 95),
            ("2026-01-06", "throughput", 101.5),
            ("2026-01-07", "throughput", 99),
        ],
    )
    monkeypatch.setenv("ONPACE_SOURCE_WMS_DB_URL", f"sqlite:///{path}")
    return db


def rows_of(folder: Path, table: type[IngestRunRow] | type[JobRow]) -> list[IngestRunRow] | list[JobRow]:
    engine = make_engine(f"sqlite:///{folder / 'cli.db'}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(table).order_by(table.id)))  # type: ignore[arg-type]
    finally:
        engine.dispose()


def count(folder: Path, table: type[PointRow] | type[QuarantineRow]) -> int:
    engine = make_engine(f"sqlite:///{folder / 'cli.db'}")
    try:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(table)) or 0
    finally:
        engine.dispose()


def test_ingest_source_pulls_the_source_now_and_reports_accepted_unchanged_and_quarantined(
    store: Path, wms: sqlite3.Connection
) -> None:
    # Left to a worker: nothing is evaluated yet, so the correction below is not retroactive.
    first = runner.invoke(cli.app, ["ingest", "--source", "wms", "--no-evaluate"])
    assert first.exit_code == 0, first.output
    assert "wms: 3 accepted (3 added, 0 corrected, 0 retroactive), 0 unchanged, 0 quarantined" in first.stdout
    assert count(store, PointRow) == 3

    # Pulled again: nothing new, one value corrected, one row the connector cannot read.
    wms.execute("UPDATE kpi_daily SET value = 97 WHERE day = '2026-01-07'")
    wms.execute("INSERT INTO kpi_daily VALUES ('2026-01-08', 'throughput', 'n/a')")
    again = runner.invoke(cli.app, ["ingest", "--source", "wms"])
    assert again.exit_code == 1, again.stderr
    assert "wms: 1 accepted (0 added, 1 corrected, 0 retroactive), 2 unchanged, 1 quarantined" in again.stdout
    assert "wms (line 4): query row:4: unparseable number 'n/a'" in again.stderr
    assert "Traceback" not in again.output
    assert count(store, PointRow) == 4
    assert count(store, QuarantineRow) == 1


def test_ingest_source_runs_through_the_worker_schedule_and_keeps_its_lineage(
    store: Path, wms: sqlite3.Connection
) -> None:
    result = runner.invoke(cli.app, ["ingest", "--source", "wms"])
    assert result.exit_code == 0, result.output
    runs = rows_of(store, IngestRunRow)
    assert [(r.source, r.origin, r.status, r.accepted) for r in runs] == [("wms", "sql", "ok", 3)]  # type: ignore[union-attr]
    jobs = {row.kind: row for row in rows_of(store, JobRow)}  # type: ignore[union-attr]
    pull = jobs["pull"]
    # The source's one schedule row ran: it remembers the pull and comes back an hour later.
    assert (pull.dedupe_key or "").endswith(":wms")
    assert (pull.done_at, pull.attempts) == (None, 0)
    assert pull.payload["since"] is not None
    assert pull.run_after - dt.datetime.fromisoformat(pull.payload["since"]) >= dt.timedelta(minutes=59)
    assert "evaluate" in jobs  # new points ask for an evaluation, as after a scheduled pull


def test_a_failing_source_is_recorded_like_a_worker_pull_and_exits_one(
    store: Path, wms: sqlite3.Connection
) -> None:
    result = runner.invoke(cli.app, ["ingest", "--source", "broken"])
    assert result.exit_code == 1
    assert "source broken could not be read (permanent failure, recorded as run" in result.stderr
    assert "no such table" in result.stderr
    assert "Traceback" not in result.output
    [run] = rows_of(store, IngestRunRow)
    assert (run.source, run.status) == ("broken", "failed")  # type: ignore[union-attr]
    assert "no such table" in (run.error or "")  # type: ignore[union-attr]
    [job] = rows_of(store, JobRow)
    assert (job.attempts, job.done_at) == (1, None)  # type: ignore[union-attr]
    assert count(store, PointRow) == 0


def test_an_unknown_source_is_one_plain_line_naming_the_sources(store: Path) -> None:
    result = runner.invoke(cli.app, ["ingest", "--source", "nope"])
    assert result.exit_code == 1
    assert "the model has no source 'nope' (sources: broken, wms)" in result.stderr
    assert "Traceback" not in result.output
    assert rows_of(store, JobRow) == []


def test_ingest_without_a_file_or_a_source_is_a_usage_error(store: Path) -> None:
    result = runner.invoke(cli.app, ["ingest"])
    assert result.exit_code == 2
    assert "--source" in result.stderr


def test_ingest_of_a_large_file_shows_a_bar_of_the_rows_stored(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 210_000  # more than one insert chunk
    big = store / "big.csv"
    pl.DataFrame(
        {
            "metric": ["throughput"] * rows,
            "date": pl.date_range(
                dt.date(1500, 1, 1), dt.date(1500, 1, 1) + dt.timedelta(days=rows - 1), eager=True
            ),
            "value": [100.0] * rows,
        }
    ).write_csv(big)
    # A terminal on stderr, as a user running the command has; the bar goes there, not to stdout.
    monkeypatch.setattr(cli.data_commands, "err", Console(stderr=True, force_terminal=True, width=120))
    result = runner.invoke(cli.app, ["ingest", str(big)])
    assert result.exit_code == 0, result.output
    assert f"{rows} rows: {rows} added" in result.stdout
    assert "━" in result.stderr
    assert f"{rows}/{rows}" in result.stderr
    assert "━" not in result.stdout
