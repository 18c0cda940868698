"""The command line as a user meets it: exit codes, one-line errors, round trips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onpace.cli import app
from onpace.config import get_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "onpace.yaml"
BROKEN = ROOT / "tests" / "modelfile" / "fixtures" / "broken.yaml"

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_validate_accepts_the_example_and_exits_zero() -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_validate_lists_every_problem_with_its_line_and_exits_one() -> None:
    result = runner.invoke(app, ["validate", str(BROKEN)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(BROKEN))]
    assert len(lines) > 10
    assert any("did you mean `calendar`" in line for line in lines)
    assert "Traceback" not in result.output


def test_validate_of_a_missing_file_is_one_plain_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "nope.yaml" in result.stderr


def test_load_then_export_then_load_gives_the_same_model(store: Path) -> None:
    from onpace.modelfile import load_model_file, parse_model_text

    assert runner.invoke(app, ["load", str(EXAMPLE)]).exit_code == 0
    exported = runner.invoke(app, ["export", "-o", str(store / "back.yaml")])
    assert exported.exit_code == 0, exported.output
    assert load_model_file(store / "back.yaml") == load_model_file(EXAMPLE)
    again = runner.invoke(app, ["load", str(store / "back.yaml")])
    assert again.exit_code == 0
    assert "0 added, 0 updated, 0 archived" in again.output
    assert parse_model_text((store / "back.yaml").read_text()) == load_model_file(EXAMPLE)


def test_commands_on_an_empty_store_explain_what_to_do(store: Path) -> None:
    result = runner.invoke(app, ["cases"])
    assert result.exit_code == 1
    assert "onpace load" in result.stderr


def test_ingest_evaluate_and_cases_run_the_loop_on_the_example(store: Path) -> None:
    assert runner.invoke(app, ["load", str(EXAMPLE)]).exit_code == 0
    ingested = runner.invoke(app, ["ingest", str(ROOT / "examples" / "actuals.csv")])
    assert ingested.exit_code == 0, ingested.output
    assert "0 quarantined" in ingested.output
    evaluated = runner.invoke(app, ["evaluate", "--as-of", "2026-06-01", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    rows = [json.loads(line) for line in evaluated.stdout.splitlines() if line.startswith("{")]
    assert {r["level"] for r in rows} == {"kpi", "kr", "objective"}
    assert any(r["status"] == "red" for r in rows)
    listed = runner.invoke(app, ["cases", "--open"])
    assert listed.exit_code == 0
    assert "red" in listed.output


def test_ingest_reports_bad_rows_by_line_and_keeps_the_good_ones(store: Path) -> None:
    assert runner.invoke(app, ["load", str(EXAMPLE)]).exit_code == 0
    bad = store / "bad.csv"
    bad.write_text(
        "metric,date,value\nonline_orders,2026-04-07,100\nonline_orders,not-a-date,5\nno_such_kpi,2026-04-07,1\n"
    )
    result = runner.invoke(app, ["ingest", str(bad)])
    assert result.exit_code == 1
    assert "1 added" in result.output
    assert "2 quarantined" in result.output
    assert f"{bad}:3:" in result.stderr
    assert f"{bad}:4:" in result.stderr


def test_replay_prints_the_same_json_lines_twice() -> None:
    args = [
        "replay",
        str(EXAMPLE),
        "--actuals",
        str(ROOT / "examples" / "actuals.csv"),
        "--checkins",
        str(ROOT / "examples" / "checkins.csv"),
        "--from",
        "2026-04-12",
        "--to",
        "2026-05-31",
        "--json",
    ]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    events = [json.loads(line) for line in first.stdout.splitlines()]
    assert events, "the example story raises events"
    assert set(events[0]) == {"as_of", "event", "kind", "subject", "owner", "participants", "level", "detail"}


def test_replay_refuses_a_bad_step_with_exit_two() -> None:
    result = runner.invoke(
        app,
        [
            "replay",
            str(EXAMPLE),
            "--actuals",
            "x.csv",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
            "--every",
            "year",
        ],
    )
    assert result.exit_code == 2
