"""`onpace cycle …` as a user meets it: list, note, close with its decisions, show; plain errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onpace.cli import app
from onpace.config import get_settings

STORIES = Path(__file__).resolve().parents[1] / "stories"
STORY = STORIES / "four_quarters.yaml"

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Return a store holding the four-quarter story's model and its year of actuals, evaluated at Q1's end."""
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    sys.path.insert(0, str(STORIES))
    from test_four_quarters import actuals

    actuals().write_csv(tmp_path / "actuals.csv")
    ok("load", str(STORY))
    ok("ingest", str(tmp_path / "actuals.csv"))
    ok("evaluate", "--as-of", "2026-03-29")
    yield tmp_path
    get_settings.cache_clear()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.stderr


def test_a_quarter_is_noted_closed_and_shown_with_its_grades(store: Path) -> None:
    listed = ok("cycle", "list")
    assert "2026-Q1" in listed
    assert "2026-Q4" in listed
    assert "does not own KR-Q1" in refused("cycle", "note", "KR-Q1", "--text", "fine", "--by", "ada")
    ok("cycle", "note", "KR-Q1", "--text", "Steady quarter", "--by", "ben")
    closed = ok("cycle", "close", "2026-Q1", "--by", "ada")
    assert "closed 2026-Q1: 2 grades (2 green); 2026-Q2 is open" in closed
    shown = ok("cycle", "show", "2026-Q1")
    assert "Steady" in shown  # the note, in its column
    assert "closed" in ok("cycle", "list")
    assert "already closed" in refused("cycle", "close", "2026-Q1", "--by", "ada")


def test_a_close_that_needs_a_decision_lists_what_to_decide_and_changes_nothing(store: Path) -> None:
    ok("evaluate", "--as-of", "2026-09-27")
    said = refused("cycle", "close", "2026-Q3", "--by", "ada")
    assert "needs a decision" in said
    assert "KR-Q3" in said
    assert "--carry-plans" in said
    assert "closed" not in ok("cycle", "list").split("2026-Q3")[1].split("\n")[0]
    assert "not a key result" in refused(
        "cycle", "close", "2026-Q3", "--by", "ada", "--carry-kr", "KR-Q1", "--carry-plans", "none"
    )
    assert "carry-cases takes" in refused("cycle", "close", "2026-Q3", "--by", "ada", "--carry-cases", "x,y")
    assert "no cycle '2026-Q9'" in refused("cycle", "close", "2026-Q9", "--by", "ada")
    assert "#999 is not an open case" in refused(
        "cycle", "close", "2026-Q3", "--by", "ada", "--carry-cases", "999"
    )
    assert "nps: not a KPI planned in 2026-Q3 without a plan in 2026-Q4" in refused(
        "cycle", "close", "2026-Q3", "--by", "ada", "--carry-plans", "nps"
    )


def test_the_review_pack_can_look_at_a_past_cycle(store: Path) -> None:
    result = runner.invoke(app, ["review", "--cycle", "2026-Q1"])
    assert result.exit_code == 0, result.output
    assert "as of 2026-03-29" in result.stderr
    assert "no cycle 'nope'" in refused("review", "--cycle", "nope")
