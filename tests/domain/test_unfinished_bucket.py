"""The unfinished bucket is not a debt: a flow KPI is not short because its current bucket has not ended."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_evaluate_world import START, WEEK_END, evaluate, kpi, model, result

from onpace.domain.model import Cycle, Plan

HALF = Cycle("H1", dt.date(2026, 1, 1), dt.date(2026, 6, 30))
MONTH_ENDS = [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]


def revenue(**fields: object) -> object:
    values = {"measure": "flow", "aggregate": "sum", "grain": "month", "cycle": "H1"}
    values.update(fields)
    return kpi("revenue", plan=Plan(per_bucket=100_000.0), **values)


def booked(*days: dt.date) -> list[tuple[str, dt.date, float]]:
    return [("revenue", day, 100_000.0) for day in days]


def test_monthly_revenue_booked_at_month_end_is_not_red_in_the_middle_of_the_month() -> None:
    the_model = model(revenue(), cycles=[HALF])
    r = result(evaluate(the_model, booked(*MONTH_ENDS[:2]), dt.date(2026, 3, 15)), "revenue")
    assert r.plan_to_date == pytest.approx(200_000.0)
    assert r.actual_to_date == pytest.approx(200_000.0)
    assert r.status == "green"
    later = result(evaluate(the_model, booked(*MONTH_ENDS), dt.date(2026, 4, 15)), "revenue")
    assert later.status == "green"
    assert later.at_risk is False
    assert later.forecast_end == pytest.approx(600_000.0)  # April's plan is still to come in full


def test_a_month_that_ended_without_its_booking_is_unknown_not_owed_until_the_series_goes_stale() -> None:
    # A complete bucket after the last one with data is unknown, not zero ("Data that stops"):
    # a late booking is flagged stale after stale_after buckets, never read as a shortfall.
    the_model = model(revenue(), cycles=[HALF])
    missing = result(evaluate(the_model, booked(*MONTH_ENDS[:2]), MONTH_ENDS[2]), "revenue")
    assert missing.plan_to_date == pytest.approx(200_000.0)
    assert missing.status == "green"
    assert missing.stale is False
    there = result(evaluate(the_model, booked(*MONTH_ENDS), MONTH_ENDS[2]), "revenue")
    assert there.plan_to_date == pytest.approx(300_000.0)
    assert there.status == "green"


def test_a_running_month_is_owed_through_its_last_day_with_data() -> None:
    the_model = model(revenue(), cycles=[HALF])
    rows = [*booked(*MONTH_ENDS[:2]), ("revenue", dt.date(2026, 3, 10), 20_000.0)]
    r = result(evaluate(the_model, rows, dt.date(2026, 3, 20)), "revenue")
    assert r.plan_to_date == pytest.approx(200_000.0 + 100_000.0 * 10 / 31)
    assert r.actual_to_date == pytest.approx(220_000.0)
    assert r.status == "amber"  # 12,258 short of 232,258: a real shortfall on the days it reported


def test_weekly_uploads_on_fridays_are_not_owed_before_friday() -> None:
    the_model = model(kpi("uploads", measure="flow", aggregate="sum", plan=Plan(per_bucket=70.0)))
    fridays = [("uploads", START + dt.timedelta(days=7 * i + 4), 70.0) for i in range(2)]
    wednesday = START + dt.timedelta(days=16)
    r = result(evaluate(the_model, fridays, wednesday), "uploads")
    assert r.plan_to_date == pytest.approx(140.0)
    assert r.status == "green"
    # The week is over on Sunday: an upload that never came is unknown, not zero, until stale.
    late = result(evaluate(the_model, fridays, WEEK_END[2]), "uploads")
    assert late.plan_to_date == pytest.approx(140.0)
    assert late.status == "green"
    short = [
        ("uploads", START + dt.timedelta(days=4), 70.0),
        ("uploads", START + dt.timedelta(days=11), 30.0),
    ]
    owed = result(
        evaluate(the_model, [*short, ("uploads", START + dt.timedelta(days=18), 70.0)], WEEK_END[2]),
        "uploads",
    )
    assert owed.plan_to_date == pytest.approx(210.0)  # a week that ended with data is owed in full
    assert owed.status == "red"


def test_a_daily_kpi_owes_every_day_through_its_last_day_with_data_and_the_as_of_day_once_it_has_data() -> (
    None
):
    the_model = model(kpi("orders", measure="flow", aggregate="sum", grain="day", plan=Plan(per_bucket=10.0)))
    days = [("orders", START + dt.timedelta(days=i), 10.0) for i in range(9)]
    today = START + dt.timedelta(days=9)
    before_load = result(evaluate(the_model, days, today), "orders")
    assert before_load.plan_to_date == pytest.approx(90.0)
    assert before_load.status == "green"
    loaded = result(evaluate(the_model, [*days, ("orders", today, 10.0)], today), "orders")
    assert loaded.plan_to_date == pytest.approx(100.0)
    assert loaded.status == "green"
    missed = result(evaluate(the_model, days, today + dt.timedelta(days=1)), "orders")
    assert missed.plan_to_date == pytest.approx(90.0)  # day 10 is over and missing: unknown, not zero
    assert missed.status == "green"
    assert missed.stale is False


@settings(max_examples=40, deadline=None)
@given(day=st.integers(min_value=0, max_value=180))
def test_a_flow_kpi_exactly_on_plan_every_finished_month_is_never_short(day: int) -> None:
    as_of = HALF.start + dt.timedelta(days=day)
    ends = [d for d in (dt.date(2026, m + 1, 1) - dt.timedelta(days=1) for m in range(1, 7)) if d <= as_of]
    r = result(evaluate(model(revenue(), cycles=[HALF]), booked(*ends), as_of), "revenue")
    if ends:
        assert r.status == "green"
        assert r.actual_to_date is not None
        assert r.plan_to_date is not None
        assert r.actual_to_date >= r.plan_to_date - 1e-6
