"""Seasonal plans: a KPI planned from its own actuals of a reference period, times a growth."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from test_evaluate_world import evaluate, kpi, model, result

from onpace.domain.model import Cycle, Plan
from onpace.domain.seasonal import reference_period

LAST_YEAR = Cycle("2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
THIS_YEAR = Cycle("2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def wave(month: int) -> float:
    return 100.0 + 50.0 * math.sin(month / 12 * 2 * math.pi)


def monthly(metric: str, year: int, factor: float = 1.0, months: range = range(1, 13)) -> list:
    return [(metric, dt.date(year, m, 10), wave(m) * factor) for m in months]


def seasonal_kpi(**fields: object) -> object:
    values = {"grain": "month", "aggregate": "sum", "cycle": "2026"}
    values.update(fields)
    return kpi("sales", plan=Plan(seasonal_from="2025", growth=0.05), **values)


def test_a_seasonal_kpi_growing_as_planned_is_on_plan_in_every_season() -> None:
    the_model = model(seasonal_kpi(), cycles=[LAST_YEAR, THIS_YEAR])
    rows = [*monthly("sales", 2025), *monthly("sales", 2026, 1.05)]
    for month in (3, 6, 9):
        as_of = dt.date(2026, month + 1, 1) - dt.timedelta(days=1)
        r = result(evaluate(the_model, rows, as_of), "sales")
        assert r.plan_to_date == pytest.approx(wave(month) * 1.05)
        assert (r.status, r.at_risk) == ("green", False)
        assert r.plan_end == pytest.approx(wave(12) * 1.05)
        assert r.forecast_end == pytest.approx(wave(12) * 1.05)


def test_the_deviation_from_a_seasonal_plan_has_no_season_left() -> None:
    the_model = model(seasonal_kpi(), cycles=[LAST_YEAR, THIS_YEAR])
    rows = [*monthly("sales", 2025), *monthly("sales", 2026, 0.8, range(1, 5))]
    r = result(evaluate(the_model, rows, dt.date(2026, 4, 30)), "sales")
    assert r.status == "red"
    # Every month 0.8/1.05 of plan: the deviation is a constant share, projected on December's plan.
    assert r.forecast_end is not None
    assert r.forecast_end < r.plan_end * 0.9  # type: ignore[operator]


def test_a_seasonal_flow_plan_is_the_reference_amount_of_each_month() -> None:
    revenue = kpi(
        "revenue",
        measure="flow",
        aggregate="sum",
        grain="month",
        cycle="2026",
        plan=Plan(seasonal_from="2025-01-01..2025-12-31", growth=0.1),
    )
    rows = [*monthly("revenue", 2025), *monthly("revenue", 2026, 1.1, range(1, 7))]
    r = result(evaluate(model(revenue, cycles=[LAST_YEAR, THIS_YEAR]), rows, dt.date(2026, 6, 30)), "revenue")
    assert r.plan_to_date == pytest.approx(sum(wave(m) for m in range(1, 7)) * 1.1)
    assert r.plan_end == pytest.approx(sum(wave(m) for m in range(1, 13)) * 1.1)
    assert r.status == "green"


def test_a_reference_month_without_data_is_interpolated_between_its_neighbours() -> None:
    the_model = model(seasonal_kpi(), cycles=[LAST_YEAR, THIS_YEAR])
    rows = [r for r in monthly("sales", 2025) if r[1].month != 5]
    chart = evaluate(the_model, rows, dt.date(2026, 1, 31)).chart(["sales"])
    may = chart.filter(chart["bucket_start"] == dt.date(2026, 5, 1))["plan"].item()
    assert may == pytest.approx((wave(4) + wave(6)) / 2 * 1.05)


def test_the_same_weeks_last_year_plan_this_years_weeks() -> None:
    last = Cycle("W25", dt.date(2025, 1, 6), dt.date(2025, 3, 30))
    this = Cycle("W26", dt.date(2026, 1, 5), dt.date(2026, 3, 29))
    weekly_kpi = kpi("visits", cycle="W26", plan=Plan(seasonal_from="W25"))
    rows = [("visits", last.start + dt.timedelta(days=7 * i + 2), 10.0 * (i + 1)) for i in range(12)]
    chart = evaluate(model(weekly_kpi, cycles=[last, this]), rows, this.start).chart(["visits"])
    assert chart["plan"].to_list() == [10.0 * (i + 1) for i in range(12)]


def test_a_seasonal_plan_reads_only_actuals_dated_by_the_as_of_date() -> None:
    the_model = model(seasonal_kpi(), cycles=[LAST_YEAR, THIS_YEAR])

    def september(as_of: dt.date) -> float:
        chart = evaluate(the_model, monthly("sales", 2025), as_of).chart(["sales"])
        return float(chart.filter(chart["bucket_start"] == dt.date(2026, 9, 1))["plan"].item())

    # As of June 2025 the months after June are not known yet: held flat at June's.
    assert september(dt.date(2025, 6, 30)) == pytest.approx(wave(6) * 1.05)
    assert september(dt.date(2026, 1, 31)) == pytest.approx(wave(9) * 1.05)


def test_a_reference_period_is_a_cycle_or_a_date_range() -> None:
    cycles = {"2025": LAST_YEAR}
    assert reference_period("2025", cycles) == (LAST_YEAR.start, LAST_YEAR.end)
    assert reference_period("2025-10-01..2025-12-31", cycles) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert reference_period("2025-12-31..2025-10-01", cycles) is None
    assert reference_period("last year", cycles) is None
