"""A re-baseline takes effect on its day, also inside a bucket: never backwards over earlier days."""

from __future__ import annotations

import datetime as dt

import pytest
from test_evaluate_world import CYCLE, evaluate, kpi, model, weekly

from onpace.domain.model import Cycle, Plan, PlanVersion

QUARTER = Cycle("Q2", dt.date(2026, 4, 1), dt.date(2026, 6, 30))


def test_a_monthly_flow_plan_changed_from_the_16th_plans_each_half_month_with_its_own_version() -> None:
    versions = {
        "sales": [
            PlanVersion("sales", 1, QUARTER.start, Plan(per_bucket=30_000)),
            PlanVersion("sales", 2, dt.date(2026, 6, 16), Plan(per_bucket=34_000)),
        ]
    }
    the_model = model(
        kpi(
            "sales", plan=Plan(per_bucket=30_000), measure="flow", aggregate="sum", grain="month", cycle="Q2"
        ),
        cycles=(QUARTER,),
    )
    rows = [("sales", dt.date(2026, m, 10), 30_000.0) for m in (4, 5, 6)]
    found = evaluate(the_model, rows, QUARTER.end, versions).results["sales"]
    # April and May at 30,000; June: 15 days at 30,000/month and 15 days at 34,000/month.
    assert found.plan_to_date == pytest.approx(30_000 + 30_000 + 15_000 + 17_000)


def test_a_phased_flow_plan_rebaselined_mid_bucket_keeps_the_old_path_before_the_day() -> None:
    original = Plan(baseline=0, target=1200)  # 100 a week over 12 weeks
    raised = Plan(baseline=0, target=2400)  # 200 a week
    wednesday = CYCLE.start + dt.timedelta(days=7 * 4 + 2)
    versions = {"k": [PlanVersion("k", 1, CYCLE.start, original), PlanVersion("k", 2, wednesday, raised)]}
    the_model = model(kpi("k", plan=original, measure="flow", aggregate="sum"))
    frame = evaluate(the_model, [], CYCLE.end, versions).buckets.filter(subject="k").sort("bucket_start")
    plans = frame["plan"].to_list()
    # Week 5: Monday and Tuesday on the old path (2/7 of 100), Wednesday on on the new one (5/7 of 200).
    assert plans[4] == pytest.approx(100 * 2 / 7 + 200 * 5 / 7)
    assert plans[3] == pytest.approx(100.0)
    assert plans[5] == pytest.approx(200.0)


def test_re_evaluating_a_day_before_a_rebaseline_in_its_week_gives_the_verdict_stored_then() -> None:
    original = Plan(per_bucket=100)
    lowered = Plan(per_bucket=60)
    the_model = model(kpi("k", plan=original))
    monday = CYCLE.start + dt.timedelta(days=7 * 4)
    rows = weekly("k", [100, 100, 100, 100, 85])  # week 5's point is on its Wednesday
    rows[-1] = ("k", monday, 85.0)
    before = evaluate(the_model, rows, monday, {"k": [PlanVersion("k", 1, CYCLE.start, original)]})
    later_versions = {
        "k": [
            PlanVersion("k", 1, CYCLE.start, original),
            PlanVersion("k", 2, monday + dt.timedelta(days=2), lowered),
        ]
    }
    again = evaluate(the_model, rows, monday, later_versions)
    assert before.results["k"].status == "red"
    assert again.results["k"].status == before.results["k"].status
    assert again.results["k"].plan_to_date == before.results["k"].plan_to_date == 100
    # From the re-baseline's day on, the week is judged against the new plan.
    assert (
        evaluate(the_model, rows, monday + dt.timedelta(days=2), later_versions).results["k"].status
        == "green"
    )
