"""`onpace evaluate` on a store: --no-govern writes nothing, and --as-of sets the clock of deadlines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console
from typer.testing import CliRunner

from onpace.cli import app, data_commands
from onpace.config import get_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "onpace.yaml"
ACTUALS = ROOT / "examples" / "actuals.csv"

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ONPACE_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    assert runner.invoke(app, ["load", str(EXAMPLE)]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(ACTUALS), "--no-evaluate"]).exit_code == 0
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_evaluate_without_governing_prints_the_verdicts_and_writes_nothing(store: sa.Engine) -> None:
    result = runner.invoke(app, ["evaluate", "--as-of", "2026-06-01", "--no-govern", "--json"])
    assert result.exit_code == 0, result.output
    assert '"status": "red"' in result.stdout
    assert count(store, "evaluations") == 0
    assert count(store, "cases") == 0
    assert count(store, "outbox") == 0


def test_a_dry_evaluation_does_not_become_the_previous_verdict_of_the_loop(store: sa.Engine) -> None:
    runner.invoke(app, ["evaluate", "--as-of", "2026-05-25", "--no-govern"])
    result = runner.invoke(app, ["evaluate", "--as-of", "2026-06-01"])
    assert result.exit_code == 0, result.output
    with store.connect() as connection:
        announced = connection.execute(
            sa.text("SELECT count(*) FROM outbox WHERE event = 'status_changed'")
        ).scalar_one()
        off_plan = connection.execute(
            sa.text(
                "SELECT count(*) FROM evaluations WHERE status IN ('amber', 'red')"
                " OR (at_risk AND status = 'green')"
            )
        ).scalar_one()
    # The first governed run announces every subject off plan: none is hidden by the dry look.
    assert off_plan > 0
    assert announced == off_plan


def test_deadlines_run_on_the_as_of_date_not_the_wall_clock(store: sa.Engine) -> None:
    assert runner.invoke(app, ["evaluate", "--as-of", "2026-05-10"]).exit_code == 0
    with store.connect() as connection:
        opened = connection.execute(sa.text("SELECT min(opened_at) FROM cases")).scalar_one()
    assert str(opened).startswith("2026-05-10")
    assert count(store, "cases") > 0
    with store.connect() as connection:
        escalated_before = connection.execute(
            sa.text("SELECT count(*) FROM cases WHERE level > 0")
        ).scalar_one()
    assert escalated_before == 0
    assert runner.invoke(app, ["evaluate", "--as-of", "2026-05-17"]).exit_code == 0
    with store.connect() as connection:
        escalated = connection.execute(sa.text("SELECT count(*) FROM cases WHERE level > 0")).scalar_one()
    assert escalated > 0


def test_a_check_in_by_someone_who_does_not_own_the_subject_is_refused(store: sa.Engine) -> None:
    args = ["checkin", "KR1", "--status", "green", "--confidence", "8", "--date", "2026-05-04"]
    refused = runner.invoke(app, [*args, "--by", "tom"])
    assert refused.exit_code == 1
    assert "does not own 'KR1'" in refused.stderr
    assert "Traceback" not in refused.output
    assert count(store, "checkins") == 0
    accepted = runner.invoke(app, [*args, "--by", "ana"])
    assert accepted.exit_code == 0, accepted.output
    assert count(store, "checkins") == 1


def test_the_verdicts_table_shows_figures_in_their_unit(store: sa.Engine) -> None:
    result = runner.invoke(app, ["evaluate", "--as-of", "2026-06-01", "--no-govern"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # The table's width follows the console the process started with: read the figures, not rows.
    assert "%" in result.stdout
    assert "€" in result.stdout


def test_a_large_organisations_table_lists_only_what_is_not_green_unless_asked_for_all(
    store: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The example organisation stands in for a large one: past two subjects the table is long.
    monkeypatch.setattr(data_commands, "LIST_ALL_UP_TO", 2)
    # One row a line: a console as wide as the table, whatever the terminal the tests run in.
    monkeypatch.setattr(data_commands, "out", Console(width=200, highlight=False))
    short = runner.invoke(app, ["evaluate", "--as-of", "2026-06-01", "--no-govern"], env={"COLUMNS": "200"})
    every = runner.invoke(
        app, ["evaluate", "--as-of", "2026-06-01", "--no-govern", "--all"], env={"COLUMNS": "200"}
    )
    assert short.exit_code == every.exit_code == 0, short.output + every.output
    assert "green ones not listed; --all lists them" in short.stdout
    assert "not listed" not in every.stdout
    rows = [sum(line.startswith("│") for line in r.stdout.splitlines()) for r in (short, every)]
    hidden = int(short.stdout.split(" green ones not listed")[0].rsplit(" ", 1)[-1])
    assert hidden > 0
    assert rows[0] + hidden == rows[1], (rows, hidden)
