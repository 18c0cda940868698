"""Time-phased plans: the plan of every bucket, flow amounts, and re-baselines from their date on."""

from __future__ import annotations

import datetime as dt

import pytest
from test_evaluate_world import CYCLE, START, evaluate, kpi, model

from onpace.domain.model import Cycle, Plan, PlanVersion


def bucket_plans(
    the_kpi_plan: Plan, measure: str = "level", grain: str = "week", **fields: object
) -> list[float]:
    the_model = model(kpi("k", plan=the_kpi_plan, measure=measure, grain=grain, **fields))
    frame = evaluate(the_model, [], START).buckets.filter(subject="k").sort("bucket_start")
    return [round(v, 9) for v in frame["plan"].to_list()]


def test_a_linear_plan_reaches_each_twelfth_at_each_weeks_end() -> None:
    assert bucket_plans(Plan(baseline=0, target=12)) == [float(i) for i in range(1, 13)]


def test_front_loading_runs_ahead_of_linear_and_back_loading_behind() -> None:
    linear = bucket_plans(Plan(baseline=0, target=12))
    front = bucket_plans(Plan(baseline=0, target=12, phasing="front"))
    back = bucket_plans(Plan(baseline=0, target=12, phasing="back"))
    assert all(f >= x >= b for f, x, b in zip(front[:-1], linear[:-1], back[:-1], strict=True))
    assert front[5] > linear[5] > back[5]
    assert front[-1] == linear[-1] == back[-1] == 12


def test_a_step_plan_holds_the_baseline_then_climbs_at_each_months_end() -> None:
    plans = bucket_plans(Plan(baseline=0, target=30, phasing="step"))
    # Jan, Feb and the part of March: three steps of 10, at Jan 31, Feb 28 and the cycle end.
    assert plans[:3] == [0.0, 0.0, 0.0]
    assert plans[3] == 10.0  # the week of 2026-01-26 holds January's last day
    assert plans[7] == 20.0  # the week of 2026-02-23 holds February's last day
    assert plans[10] == 20.0
    assert plans[11] == 30.0


def test_points_are_interpolated_by_date_and_held_flat_outside() -> None:
    plan = Plan(points=((dt.date(2026, 1, 18), 10.0), (dt.date(2026, 2, 1), 24.0)))
    plans = bucket_plans(plan)
    assert plans[0] == 10.0  # before the first point
    assert plans[1] == 10.0  # on it
    assert plans[2] == 17.0  # halfway, by date
    assert plans[3] == 24.0
    assert plans[-1] == 24.0  # after the last point


def test_a_per_bucket_flow_plan_is_the_amount_of_every_bucket() -> None:
    assert bucket_plans(Plan(per_bucket=70), measure="flow", aggregate="sum") == [70.0] * 12


def test_a_phased_flow_plan_is_cumulative_and_its_buckets_add_up_to_the_move() -> None:
    plans = bucket_plans(Plan(baseline=0, target=1200), measure="flow", aggregate="sum")
    assert plans == [100.0] * 12


def test_a_flow_bucket_the_cycle_only_partly_covers_plans_its_share() -> None:
    wednesday_start = Cycle("Q1", dt.date(2026, 1, 7), dt.date(2026, 3, 29))
    the_model = model(
        kpi("k", plan=Plan(per_bucket=70), measure="flow", aggregate="sum"), cycles=(wednesday_start,)
    )
    frame = evaluate(the_model, [], dt.date(2026, 1, 7)).buckets.filter(subject="k").sort("bucket_start")
    assert frame["plan"].to_list()[:2] == pytest.approx([50.0, 70.0])


def test_a_month_grain_plan_is_taken_at_each_months_last_day() -> None:
    quarter = Cycle("Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    the_model = model(kpi("k", plan=Plan(baseline=0, target=90), grain="month"), cycles=(quarter,))
    frame = evaluate(the_model, [], dt.date(2026, 1, 1)).buckets.filter(subject="k").sort("bucket_start")
    assert frame["plan"].to_list() == pytest.approx([31.0, 59.0, 90.0])


def test_a_rebaseline_changes_the_plan_from_its_effective_date_never_the_past() -> None:
    original = Plan(baseline=0, target=12)
    lowered = Plan(baseline=0, target=6)
    versions = {
        "k": [
            PlanVersion("k", 1, CYCLE.start, original),
            PlanVersion("k", 2, dt.date(2026, 2, 4), lowered, reason="supplier lost", approved_by="ceo"),
        ]
    }
    the_model = model(kpi("k", plan=original))
    frame = evaluate(the_model, [], START, versions).buckets.filter(subject="k").sort("bucket_start")
    plans = frame["plan"].to_list()
    # Weeks ending before 2026-02-04 keep version 1; the week holding it and later take version 2.
    assert plans[:4] == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert plans[4] == pytest.approx(2.5)
    assert plans[-1] == pytest.approx(6.0)
