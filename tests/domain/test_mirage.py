"""Mirages: check-ins reporting a better status than the data, and their severity."""

from __future__ import annotations

import datetime as dt

import pytest
from test_governance_world import Store, decide, result, results, world

from onpace.domain.checkins import CheckIn, find_mirages, latest_checkins, mirage_of

DAY = dt.date(2026, 1, 18)


def checkin(subject: str, status: str, day: dt.date = DAY, by: str = "ceo") -> CheckIn:
    return CheckIn(subject, day, status, 7, by, "all good")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reported", "computed", "at_risk", "severity"),
    [
        ("green", "amber", False, 1),
        ("green", "green", True, 1),
        ("green", "red", False, 2),
        ("amber", "red", False, 1),
    ],
)
def test_a_reported_status_better_than_the_data_is_a_mirage_of_the_gap(
    reported: str, computed: str, at_risk: bool, severity: int
) -> None:
    mirage = mirage_of(checkin("O1", reported), result("O1", computed, at_risk=at_risk))  # type: ignore[arg-type]
    assert mirage is not None
    assert mirage.severity == severity


@pytest.mark.parametrize(
    ("reported", "computed"),
    [("green", "green"), ("amber", "amber"), ("red", "amber"), ("red", "green"), ("green", "no_data")],
)
def test_an_honest_or_pessimistic_check_in_is_no_mirage(reported: str, computed: str) -> None:
    assert mirage_of(checkin("O1", reported), result("O1", computed)) is None  # type: ignore[arg-type]


def test_no_result_means_no_mirage() -> None:
    assert mirage_of(checkin("O1", "green"), None) is None


def test_the_latest_check_in_on_or_before_the_day_counts() -> None:
    items = [
        checkin("O1", "red", DAY - dt.timedelta(days=7)),
        checkin("O1", "green", DAY),
        checkin("O1", "red", DAY + dt.timedelta(days=1)),
    ]
    assert latest_checkins(items, DAY)["O1"].status == "green"


def test_check_ins_from_before_the_cycle_are_ignored() -> None:
    items = [checkin("O1", "green", dt.date(2025, 12, 20))]
    assert latest_checkins(items, DAY, {"O1": dt.date(2026, 1, 5)}) == {}


def test_find_mirages_holds_each_subjects_latest_word_against_todays_result() -> None:
    found = find_mirages(
        [checkin("O1", "green"), checkin("KR1", "green", by="maria")],
        results(O1="red", KR1="green"),
        DAY,
    )
    assert list(found) == ["O1"]
    assert (found["O1"].reported, found["O1"].computed, found["O1"].severity) == ("green", "red", 2)


def test_a_green_check_in_on_a_red_objective_opens_a_mirage_case_for_its_owner() -> None:
    decision = decide(world(), results(O1="red"), checkins=[checkin("O1", "green", by="lee")])
    opened = [e for e in decision.events if e.event == "case_opened" and e.kind == "mirage"]
    assert [(e.subject, e.owner, e.participants) for e in opened] == [("O1", "ceo", ("ceo", "lee"))]
    assert opened[0].detail["severity"] == 2
    case = next(c for c in decision.cases if c.family == "mirage")
    assert case.severity == 2.0


def test_a_mirage_case_follows_its_severity_and_resolves_when_the_word_is_honest() -> None:
    store = Store()
    store.run(world(), results(O1="amber"), DAY, [checkin("O1", "green")])
    (case,) = store.open("O1")
    assert case.severity == 1.0
    store.run(world(), results(O1="red"), DAY + dt.timedelta(weeks=1), [checkin("O1", "green")])
    assert [c.severity for c in store.open("O1") if c.family == "mirage"] == [2.0]
    honest = [checkin("O1", "green"), checkin("O1", "red", DAY + dt.timedelta(weeks=2))]
    store.run(world(), results(O1="red"), DAY + dt.timedelta(weeks=2), honest)
    last = store.run(world(), results(O1="red"), DAY + dt.timedelta(weeks=3), honest)
    assert [(e.event, e.kind) for e in last.events if e.subject == "O1" and e.event != "case_escalated"] == [
        ("case_resolved", "mirage")
    ]


def test_a_mirage_opens_no_case_when_the_policy_leaves_it_out() -> None:
    from test_governance_world import with_policy

    model = with_policy(world(), open_case_on=("red",))
    decision = decide(model, results(KR2="amber"), checkins=[checkin("KR2", "green", by="lee")])
    assert [c.family for c in decision.cases] == []


def test_a_three_week_old_check_in_raises_no_mirage() -> None:
    later = DAY + dt.timedelta(weeks=2)
    old = [checkin("O1", "green", later - dt.timedelta(weeks=3))]
    decision = decide(world(), results(O1="red"), as_of=later, checkins=old)
    assert [c for c in decision.cases if c.family == "mirage"] == []


def test_a_check_in_younger_than_the_policy_window_still_raises_a_mirage() -> None:
    recent = [checkin("O1", "green", DAY - dt.timedelta(days=13))]
    decision = decide(world(), results(O1="red"), as_of=DAY, checkins=recent)
    assert [(c.subject, c.family) for c in decision.cases if c.family == "mirage"] == [("O1", "mirage")]


def test_the_window_is_the_policys_checkin_valid_for() -> None:
    items = [checkin("O1", "green", DAY - dt.timedelta(days=20))]
    found = results(O1="red")
    assert find_mirages(items, found, DAY, valid_for=dt.timedelta(days=14)) == {}
    assert set(find_mirages(items, found, DAY, valid_for=dt.timedelta(days=21))) == {"O1"}
