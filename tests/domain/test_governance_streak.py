"""Auto-resolve counts good evaluations on distinct as-of dates, not worker ticks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from test_governance_world import Store, events, results, with_policy, world

from onpace.domain.cases import Case
from onpace.domain.governance import GOOD_DAY, Decision, counts_towards_streak, govern
from onpace.domain.results import SubjectResult

RED_DAY = dt.date(2026, 1, 19)
GOOD = RED_DAY + dt.timedelta(days=1)


def tick(store: Store, found: Mapping[str, SubjectResult], as_of: dt.date, now: dt.datetime) -> Decision:
    """Govern as the worker does on a tick: as of today, at the tick's own time."""
    decision = govern(
        world(), found, list(store.cases.values()), as_of=as_of, now=now, previous=store.previous, findings=[]
    )
    store.apply(decision)
    return decision


def red_case() -> Case:
    store = Store()
    store.run(world(), results(lab_yield="red"), RED_DAY)
    (case,) = store.open("lab_yield")
    return case


def test_worker_ticks_minutes_apart_on_one_day_count_as_one_good_evaluation() -> None:
    store = Store()
    store.run(world(), results(lab_yield="red"), RED_DAY)
    morning = dt.datetime.combine(GOOD, dt.time(6, 0), tzinfo=dt.UTC)
    for minutes in range(0, 60, 5):
        decision = tick(store, results(), GOOD, morning + dt.timedelta(minutes=minutes))
        assert events(decision, "case_resolved") == []
    (case,) = store.open("lab_yield")
    assert case.good_streak == 1
    assert case.detail[GOOD_DAY] == GOOD.isoformat()


def test_the_case_resolves_on_the_second_distinct_good_date() -> None:
    store = Store()
    store.run(world(), results(lab_yield="red"), RED_DAY)
    next_day = GOOD + dt.timedelta(days=1)
    tick(store, results(), GOOD, dt.datetime.combine(GOOD, dt.time(6, 0), tzinfo=dt.UTC))
    tick(store, results(), GOOD, dt.datetime.combine(GOOD, dt.time(18, 0), tzinfo=dt.UTC))
    resolved = tick(store, results(), next_day, dt.datetime.combine(next_day, dt.time(0, 5), tzinfo=dt.UTC))
    assert events(resolved, "case_resolved") == [("case_resolved", "red", "lab_yield")]
    assert resolved.events[-1].detail["evaluations"] == 2


def test_an_earlier_as_of_date_looked_at_again_does_not_move_the_streak_on() -> None:
    store = Store()
    store.run(world(), results(lab_yield="red"), RED_DAY)
    store.run(world(), results(), GOOD + dt.timedelta(days=3))
    again = store.run(world(), results(), GOOD)
    assert events(again, "case_resolved") == []
    assert store.open("lab_yield")[0].good_streak == 1


def test_a_relapse_resets_the_streak_and_forgets_the_counted_date() -> None:
    store = Store()
    store.run(world(), results(lab_yield="red"), RED_DAY)
    store.run(world(), results(), GOOD)
    store.run(world(), results(lab_yield="red"), GOOD + dt.timedelta(days=1))
    (case,) = store.open("lab_yield")
    assert case.good_streak == 0
    assert GOOD_DAY not in case.detail


def test_a_policy_of_three_needs_three_distinct_dates_however_often_each_is_evaluated() -> None:
    model = with_policy(world(), auto_resolve_after=3)
    store = Store()
    store.run(model, results(lab_yield="red"), RED_DAY)
    days = [GOOD + dt.timedelta(days=i) for i in range(3)]
    for day in days[:2]:
        for _ in range(4):
            assert events(store.run(model, results(), day), "case_resolved") == []
    assert events(store.run(model, results(), days[2]), "case_resolved") == [
        ("case_resolved", "red", "lab_yield")
    ]


def test_only_a_date_after_the_last_counted_one_counts() -> None:
    case = dataclasses.replace(red_case(), detail={GOOD_DAY: GOOD.isoformat()})
    assert not counts_towards_streak(case, GOOD)
    assert not counts_towards_streak(case, GOOD - dt.timedelta(days=1))
    assert counts_towards_streak(case, GOOD + dt.timedelta(days=1))


def test_a_case_with_no_counted_date_counts_its_first_good_evaluation() -> None:
    assert counts_towards_streak(red_case(), GOOD)
    assert counts_towards_streak(dataclasses.replace(red_case(), detail={GOOD_DAY: "not a date"}), GOOD)
