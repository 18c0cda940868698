"""Planned vs actual to date: measures, directions, tolerance bands and the empty cases of DESIGN.md §4."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from test_evaluate_world import (
    START,
    WEEK_END,
    daily,
    evaluate,
    kpi,
    kr,
    model,
    objective,
    points,
    result,
    tolerance,
    weekly,
)

from onpace.domain.engine import evaluate_model
from onpace.domain.model import Cycle, Plan, Policy


def status_of(actual: float, **fields: object) -> str:
    the_model = model(kpi("k", **fields))
    return result(evaluate(the_model, weekly("k", [actual]), WEEK_END[0]), "k").status


def test_a_level_kpi_compares_its_latest_bucket_with_that_buckets_plan() -> None:
    the_model = model(kpi("k", plan=Plan(baseline=0, target=12)))
    r = result(evaluate(the_model, weekly("k", [1.0, 1.5]), WEEK_END[3]), "k")
    assert r.actual_to_date == 1.5
    assert r.plan_to_date == 2.0  # the plan of week 2, where the latest data is
    assert r.variance_abs == -0.5
    assert r.variance_pct == -0.25
    assert r.status == "red"
    assert r.last_point == START + dt.timedelta(days=9)


@pytest.mark.parametrize(
    ("actual", "status"),
    [
        (95.0, "amber"),
        (90.0, "red"),
        (95.000001, "green"),
        (90.000001, "amber"),
        (100.0, "green"),
        (130.0, "green"),
    ],
)
def test_a_shortfall_equal_to_a_threshold_falls_in_the_worse_band(actual: float, status: str) -> None:
    assert status_of(actual) == status


def test_beating_the_plan_is_never_a_breach_whichever_the_direction() -> None:
    assert status_of(50.0, direction="down") == "green"
    assert status_of(105.0, direction="down") == "amber"
    assert status_of(150.0, direction="up") == "green"


def test_a_range_kpi_is_green_inside_its_band_and_measured_from_the_band_outside() -> None:
    banded = {"direction": "range", "plan": Plan(per_bucket=100, band=(90.0, 110.0))}
    assert status_of(91.0, **banded) == "green"
    assert status_of(115.0, **banded) == "amber"
    assert status_of(79.0, **banded) == "red"


def test_a_range_kpi_without_a_band_is_measured_by_its_distance_to_the_plan() -> None:
    assert status_of(105.0, direction="range") == "amber"
    assert status_of(95.0, direction="range") == "amber"
    assert status_of(101.0, direction="range") == "green"


def test_absolute_thresholds_are_amounts_not_shares() -> None:
    assert status_of(97.0, tolerance=tolerance(2, 4, relative=False)) == "amber"
    assert status_of(96.0, tolerance=tolerance(2, 4, relative=False)) == "red"


def test_a_kpi_without_tolerance_uses_the_org_default() -> None:
    lenient = Policy(default_tolerance=tolerance(0.2, 0.3))
    the_model = model(kpi("k"), policy=lenient)
    assert result(evaluate(the_model, weekly("k", [85.0]), WEEK_END[0]), "k").status == "green"
    assert status_of(85.0) == "red"


def test_a_zero_plan_uses_absolute_variance_only() -> None:
    zero = {"plan": Plan(per_bucket=0.0), "direction": "down"}
    the_model = model(kpi("k", **zero))
    r = result(evaluate(the_model, weekly("k", [0.07]), WEEK_END[0]), "k")
    assert r.status == "amber"  # 5 % of nothing is read as 0.05
    assert r.variance_abs == pytest.approx(0.07)
    assert r.variance_pct is None
    assert status_of(0.0, **zero) == "green"
    assert status_of(0.2, **zero) == "red"


def test_a_flow_kpi_compares_cumulative_actual_with_the_plan_prorated_in_the_current_bucket() -> None:
    the_model = model(kpi("k", measure="flow", aggregate="sum", plan=Plan(per_bucket=70.0)))
    wednesday_of_week_two = START + dt.timedelta(days=9)
    r = result(evaluate(the_model, daily("k", [10.0] * 30), wednesday_of_week_two), "k")
    assert r.actual_to_date == 100.0  # ten days, later points ignored
    assert r.plan_to_date == pytest.approx(100.0)  # 70 + 70 × 3/7
    assert r.status == "green"
    assert r.plan_end == pytest.approx(840.0)


def test_a_flow_kpi_sums_several_points_of_the_same_day() -> None:
    the_model = model(kpi("k", measure="flow", aggregate="sum", plan=Plan(per_bucket=70.0)))
    rows = [("k", START, 30.0), ("k", START, 40.0)]
    assert result(evaluate(the_model, rows, WEEK_END[0]), "k").actual_to_date == 70.0


def test_last_takes_the_latest_day_and_on_a_tie_the_larger_value() -> None:
    the_model = model(kpi("k", aggregate="last"))
    rows = [
        ("k", START, 500.0),
        ("k", START + dt.timedelta(days=3), 96.0),
        ("k", START + dt.timedelta(days=3), 98.0),
    ]
    assert result(evaluate(the_model, rows, WEEK_END[0]), "k").actual_to_date == 98.0


@pytest.mark.parametrize(
    ("aggregate", "expected"), [("mean", 95.0), ("min", 90.0), ("max", 100.0), ("sum", 190.0)]
)
def test_points_in_a_bucket_are_aggregated_as_the_kpi_says(aggregate: str, expected: float) -> None:
    the_model = model(kpi("k", aggregate=aggregate))
    rows = [("k", START, 90.0), ("k", START + dt.timedelta(days=1), 100.0)]
    assert result(evaluate(the_model, rows, WEEK_END[0]), "k").actual_to_date == expected


def test_a_kpi_without_actuals_yet_has_no_data() -> None:
    r = result(evaluate(model(kpi("k")), [], WEEK_END[2]), "k")
    assert r.status == "no_data"
    assert r.actual_to_date is None
    assert r.at_risk is False


def test_a_kpi_without_a_plan_is_unplanned() -> None:
    r = result(evaluate(model(kpi("k", plan=None)), weekly("k", [5.0]), WEEK_END[0]), "k")
    assert r.status == "unplanned"
    assert r.plan_to_date is None


def test_a_model_without_cycles_leaves_every_kpi_unplanned() -> None:
    the_model = model(kpi("k"), cycles=())
    assert result(evaluate(the_model, weekly("k", [100.0]), WEEK_END[0]), "k").status == "unplanned"


def test_points_after_the_as_of_date_are_ignored() -> None:
    the_model = model(kpi("k"))
    r = result(evaluate(the_model, weekly("k", [100.0, 10.0]), WEEK_END[0]), "k")
    assert r.status == "green"
    assert r.actual_to_date == 100.0


def test_a_kpi_goes_stale_after_more_than_two_empty_buckets_and_keeps_its_last_status() -> None:
    the_model = model(kpi("k"))
    rows = weekly("k", [100.0, 91.0])
    two_empty = result(evaluate(the_model, rows, WEEK_END[3]), "k")
    three_empty = result(evaluate(the_model, rows, WEEK_END[4]), "k")
    assert (two_empty.stale, three_empty.stale) == (False, True)
    assert three_empty.status == two_empty.status == "amber"
    assert three_empty.actual_to_date == 91.0


def test_the_policy_can_shorten_the_stale_delay() -> None:
    the_model = model(kpi("k"), policy=Policy(stale_after=1))
    assert result(evaluate(the_model, weekly("k", [100.0]), WEEK_END[2]), "k").stale is True


def test_a_stale_flow_kpi_is_judged_as_of_its_last_point_not_as_a_breach() -> None:
    the_model = model(kpi("k", measure="flow", aggregate="sum", plan=Plan(per_bucket=70.0)))
    r = result(evaluate(the_model, daily("k", [10.0] * 14), WEEK_END[6]), "k")
    assert r.stale is True
    assert r.status == "green"
    assert r.actual_to_date == r.plan_to_date == 140.0


def test_a_month_grain_kpi_buckets_by_calendar_month() -> None:
    quarter = Cycle("Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    the_model = model(
        kpi("k", grain="month", aggregate="sum", measure="flow", plan=Plan(per_bucket=31.0)),
        cycles=(quarter,),
    )
    rows = daily("k", [1.0] * 45, first=dt.date(2026, 1, 1))
    ev = evaluate(the_model, rows, dt.date(2026, 2, 14))
    frame = ev.buckets.filter(subject="k").sort("bucket_start")
    assert frame["actual"].to_list()[:2] == [31.0, 14.0]
    assert result(ev, "k").plan_to_date == pytest.approx(31 + 31 * 14 / 28)


def test_a_sunday_week_start_puts_sunday_points_in_the_new_week() -> None:
    sunday_cycle = Cycle("Q1", dt.date(2026, 1, 4), dt.date(2026, 3, 28))
    the_model = model(kpi("k", aggregate="sum"), week_start="sunday", cycles=(sunday_cycle,))
    rows = [("k", dt.date(2026, 1, 10), 1.0), ("k", dt.date(2026, 1, 11), 2.0)]
    frame = evaluate(the_model, rows, dt.date(2026, 1, 17)).buckets.filter(subject="k").sort("bucket_start")
    assert frame["bucket_start"].to_list()[:2] == [dt.date(2026, 1, 4), dt.date(2026, 1, 11)]
    assert frame["actual"].to_list()[:2] == [1.0, 2.0]


def test_non_finite_points_are_dropped_and_no_output_holds_nan_or_inf() -> None:
    the_model = model(kpi("k"), kpi("z", plan=Plan(per_bucket=0.0)))
    rows = [*weekly("k", [math.nan, math.inf, 99.0]), *weekly("z", [3.0, 4.0, 5.0])]
    ev = evaluate(the_model, rows, WEEK_END[2])
    assert result(ev, "k").actual_to_date == 99.0
    for frame in (ev.subjects, ev.buckets):
        for name, dtype in frame.schema.items():
            if dtype == pl.Float64:
                values = frame[name].drop_nulls()
                assert values.is_finite().all(), name


def test_a_kr_with_its_own_series_is_evaluated_from_points_named_after_it() -> None:
    the_kr = kr("KR1", plan=Plan(baseline=0, target=12), measure="level", aggregate="last")
    the_model = model(objectives=[objective("O1", the_kr)])
    r = result(evaluate(the_model, weekly("KR1", [1.0, 2.0]), WEEK_END[1]), "KR1")
    assert (r.level, r.status, r.actual_to_date) == ("kr", "green", 2.0)


def test_missing_point_columns_are_reported_plainly() -> None:
    with pytest.raises(ValueError, match="missing: value"):
        evaluate_model(model(kpi("k")), pl.DataFrame({"metric": ["k"], "date": [START]}), START)


def test_points_of_unknown_metrics_are_ignored() -> None:
    ev = evaluate(model(kpi("k")), [*weekly("k", [100.0]), ("nobody", START, 5.0)], WEEK_END[0])
    assert result(ev, "k").status == "green"
    assert set(ev.results) == {"k"}


def test_a_datetime_date_column_is_read_as_days() -> None:
    frame = points(weekly("k", [90.0])).with_columns(pl.col("date").cast(pl.Datetime("us")))
    ev = evaluate_model(model(kpi("k")), frame, WEEK_END[0])
    assert result(ev, "k").status == "red"


def test_the_chart_of_a_kr_measured_by_a_kpi_is_its_kpis_buckets() -> None:
    the_model = model(kpi("k"), kpi("other"), objectives=[objective("O1", kr("KR1", kpi="k"))])
    ev = evaluate(the_model, weekly("k", [100.0, 90.0]), WEEK_END[1])
    chart = ev.chart(["KR1"])
    assert set(chart["subject"].to_list()) == {"k"}
    assert chart.height == 12
    assert chart["actual"].to_list()[:3] == [100.0, 90.0, None]
    assert ev.buckets.filter(subject="k").equals(chart)
