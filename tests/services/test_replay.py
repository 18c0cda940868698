"""`replay`: the whole loop as of each date, one public event per line, deterministic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from test_govern_story import write_story

from onpace.errors import UserError
from onpace.services.replay import as_of_dates, replay

pytestmark = pytest.mark.slow

FIRST, LAST = dt.date(2026, 1, 11), dt.date(2026, 3, 29)
KEYS = {"as_of", "event", "kind", "subject", "owner", "participants", "level", "detail"}
EVENTS = {"case_opened", "case_escalated", "case_resolved", "status_changed"}
KINDS = {"red", "amber", "at_risk", "mirage", "stale", "dependency_late", "hygiene", "threatened"}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path | None]:
    return write_story(tmp_path_factory.mktemp("story"))


@pytest.fixture(scope="module")
def lines(story: tuple[Path, Path, Path | None]) -> list[dict[str, Any]]:
    return list(replay(*story, FIRST, LAST, "week"))


def find(
    lines: list[dict[str, Any]], event: str, subject: str, kind: str | None = None
) -> list[dict[str, Any]]:
    return [e for e in lines if e["event"] == event and e["subject"] == subject and kind in (None, e["kind"])]


def test_every_line_has_the_public_shape(lines: list[dict[str, Any]]) -> None:
    assert lines
    for line in lines:
        assert set(line) == KEYS
        assert line["event"] in EVENTS
        assert line["kind"] in KINDS
        assert isinstance(line["participants"], list)
        assert isinstance(line["level"], int)


def test_the_red_weeks_open_a_joint_review_as_soon_as_the_week_closes(lines: list[dict[str, Any]]) -> None:
    (opened, *_) = find(lines, "case_opened", "throughput", "red")
    assert opened["as_of"] == "2026-02-01"
    assert (opened["owner"], opened["participants"]) == ("lee", ["lee", "raj", "maria"])


def test_nothing_about_throughput_is_raised_while_it_is_on_plan(lines: list[dict[str, Any]]) -> None:
    assert [e for e in lines if e["subject"] == "throughput" and e["as_of"] < "2026-02-01"] == []


def test_a_silent_owner_is_escalated_rung_by_rung(lines: list[dict[str, Any]]) -> None:
    climbed = [
        (e["as_of"], e["detail"]["to"], e["level"]) for e in find(lines, "case_escalated", "throughput")
    ]
    assert climbed[:2] == [("2026-02-08", "maria", 1), ("2026-02-08", "ceo", 2)]


def test_the_case_resolves_after_two_good_weeks_and_reopens_on_relapse(lines: list[dict[str, Any]]) -> None:
    assert next(e["as_of"] for e in find(lines, "case_resolved", "throughput")) == "2026-02-22"
    reopened = [e for e in find(lines, "case_opened", "throughput", "red") if e["detail"].get("reopened")]
    assert [e["as_of"] for e in reopened] == ["2026-03-08"]
    first = find(lines, "case_opened", "throughput", "red")[0]
    assert reopened[0]["detail"]["case"] == first["detail"]["case"]


def test_a_hand_off_past_due_is_a_case_for_both_sides(lines: list[dict[str, Any]]) -> None:
    (late,) = find(lines, "case_opened", "D1", "dependency_late")
    assert late["as_of"] == "2026-02-15"
    assert (late["owner"], late["participants"]) == ("raj", ["raj", "maria"])


def test_green_check_ins_on_a_red_kr_are_a_mirage(lines: list[dict[str, Any]]) -> None:
    mirages = find(lines, "case_opened", "KR1", "mirage")
    assert mirages[0]["as_of"] == "2026-02-01"
    assert mirages[0]["detail"]["severity"] == 2


def test_each_step_sees_only_its_past_and_the_same_input_gives_the_same_lines(
    story: tuple[Path, Path, Path | None], lines: list[dict[str, Any]]
) -> None:
    cut = dt.date(2026, 2, 8)
    shorter = list(replay(*story, FIRST, cut, "week"))
    assert shorter == [e for e in lines if e["as_of"] <= cut.isoformat()]


def test_without_check_ins_there_is_no_mirage(tmp_path: Path) -> None:
    model, actuals, _ = write_story(tmp_path, checkins=False)
    found = list(replay(model, actuals, None, FIRST, dt.date(2026, 2, 1), "week"))
    assert [e for e in found if e["kind"] == "mirage"] == []
    assert find(found, "case_opened", "throughput", "red")


def test_a_bad_check_in_is_refused_with_its_file_line_and_field(tmp_path: Path) -> None:
    model, actuals, checkins = write_story(tmp_path)
    assert checkins is not None
    checkins.write_text(
        "subject,date,status,confidence,by\nKR1,2026-01-11,purple,8,maria\n", encoding="utf-8"
    )
    with pytest.raises(
        UserError, match=r"checkins.csv:2: field `status`: 'purple' is not one of green, amber, red"
    ):
        list(replay(model, actuals, checkins, FIRST, LAST, "week"))


def test_a_missing_actuals_file_is_one_plain_error(tmp_path: Path) -> None:
    model, _, _ = write_story(tmp_path)
    with pytest.raises(UserError, match="no such file"):
        list(replay(model, tmp_path / "nope.csv", None, FIRST, LAST, "week"))


def test_as_of_dates_step_by_day_week_or_month() -> None:
    assert as_of_dates(dt.date(2026, 1, 30), dt.date(2026, 4, 30), "month") == [
        dt.date(2026, 1, 30),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 30),
        dt.date(2026, 4, 30),
    ]
    assert len(as_of_dates(FIRST, LAST, "week")) == 12
    assert as_of_dates(FIRST, FIRST + dt.timedelta(days=2), "day")[-1] == dt.date(2026, 1, 13)
    with pytest.raises(UserError, match="every must be day, week or month"):
        as_of_dates(FIRST, LAST, "year")
    with pytest.raises(UserError, match="ends"):
        as_of_dates(LAST, FIRST, "week")
