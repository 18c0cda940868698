"""Data that stops or never comes: a gap is unknown, not zero; stale keeps the last status."""

from __future__ import annotations

import datetime as dt

from test_evaluate_world import WEEK_END, daily, evaluate, kpi, model, result, weekly
from test_governance_world import Store, results, world
from test_governance_world import result as made

from onpace.domain.governance import govern
from onpace.domain.model import Plan

FLOW = {"measure": "flow", "aggregate": "sum", "plan": Plan(per_bucket=70.0)}


def test_a_flow_kpi_whose_data_stops_is_not_red_before_it_is_stale() -> None:
    the_model = model(kpi("k", **FLOW))
    rows = daily("k", [10.0] * 14)
    seen = [result(evaluate(the_model, rows, WEEK_END[week]), "k") for week in range(1, 7)]
    assert [r.status for r in seen] == ["green"] * 6
    assert [r.stale for r in seen] == [False, False, False, True, True, True]
    assert {(r.plan_to_date, r.actual_to_date) for r in seen} == {(140.0, 140.0)}


def test_a_short_flow_kpi_whose_data_stops_stays_red_and_is_flagged_stale() -> None:
    the_model = model(kpi("k", **FLOW))
    rows = daily("k", [5.0] * 14)
    seen = [result(evaluate(the_model, rows, WEEK_END[week]), "k") for week in range(1, 8)]
    assert {r.status for r in seen} == {"red"}
    assert seen[-1].stale is True
    assert seen[-1].actual_to_date == 70.0


def test_a_planned_kpi_that_never_gets_data_goes_stale_once_its_first_buckets_are_past_the_window() -> None:
    the_model = model(kpi("k"), kpi("other"))
    rows = weekly("other", [100.0] * 5)
    early = result(evaluate(the_model, rows, WEEK_END[1]), "k")
    late = result(evaluate(the_model, rows, WEEK_END[2]), "k")
    assert (early.status, early.stale) == ("no_data", False)
    assert (late.status, late.stale) == ("no_data", True)


def test_an_unplanned_kpi_without_data_is_not_also_stale() -> None:
    the_model = model(kpi("k", plan=None))
    r = result(evaluate(the_model, [], WEEK_END[6]), "k")
    assert (r.status, r.stale) == ("unplanned", False)


def test_a_kpi_that_never_sends_data_opens_a_stale_case() -> None:
    never = made("throughput", "no_data", stale=True, last_point=None)
    decision = govern(
        world(),
        results(throughput=never),
        [],
        as_of=dt.date(2026, 1, 25),
        now=_end(dt.date(2026, 1, 25)),
        findings=[],
    )
    assert [(c.subject, c.kind) for c in decision.cases] == [("throughput", "stale")]


def test_a_red_case_does_not_resolve_on_stale_evaluations() -> None:
    store = Store()
    day = dt.date(2026, 1, 18)
    store.run(world(), results(throughput="red"), day)
    (case,) = store.open("throughput")
    for week in range(1, 4):
        as_of = day + dt.timedelta(weeks=week)
        stale_green = made("throughput", "green", as_of=as_of, stale=True, last_point=day)
        decision = store.run(world(), results(throughput=stale_green), as_of)
        assert [e.event for e in decision.events if e.event == "case_resolved"] == []
    assert [c.id for c in store.open("throughput") if c.family == "variance"] == [case.id]
    for week in (5, 6):
        as_of = day + dt.timedelta(weeks=week)
        store.run(
            world(), results(throughput=made("throughput", "green", as_of=as_of, last_point=as_of)), as_of
        )
    assert [c for c in store.open("throughput") if c.family == "variance"] == []


def _end(day: dt.date) -> dt.datetime:
    from onpace.domain.calendar import end_of_day

    return end_of_day(day)
