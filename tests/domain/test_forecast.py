"""The forecaster: Holt on the deviation from plan, projections, intervals, at-risk and weeks to red."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest
from test_evaluate_world import START, WEEK_END, daily, evaluate, kpi, model, result, weekly

from onpace.domain.forecast import (
    ALPHA_GRID,
    BETA_GRID,
    cumulative_variance_factor,
    fit_holt,
    level_variance_factor,
    normal_cdf,
)
from onpace.domain.model import Plan, Policy


def test_there_is_no_forecast_before_three_complete_buckets() -> None:
    the_model = model(kpi("k"))
    rows = weekly("k", [100.0, 99.0, 98.0])
    assert result(evaluate(the_model, rows, WEEK_END[1]), "k").forecast_end is None
    mid_third_week = WEEK_END[2] - dt.timedelta(days=1)
    assert result(evaluate(the_model, rows, mid_third_week), "k").forecast_end is None
    assert result(evaluate(the_model, rows, WEEK_END[2]), "k").forecast_end is not None


def test_a_phased_plan_that_is_on_track_is_never_at_risk() -> None:
    the_model = model(kpi("k", plan=Plan(baseline=0, target=120)))
    rows = weekly("k", [10.0 * (i + 1) + (0.3 if i % 2 else -0.3) for i in range(6)])
    r = result(evaluate(the_model, rows, WEEK_END[5]), "k")
    assert r.status == "green"
    assert r.at_risk is False
    assert r.forecast_end == pytest.approx(120.0, abs=2.0)
    assert r.p_target is not None
    assert 0.2 < r.p_target <= 1.0


def test_a_steady_slide_is_at_risk_while_still_green_and_says_when_it_turns_red() -> None:
    the_model = model(kpi("k"))
    r = result(evaluate(the_model, weekly("k", [100.0, 99.0, 98.0, 97.0, 96.0]), WEEK_END[4]), "k")
    assert r.status == "green"
    assert r.at_risk is True
    assert r.forecast_end == pytest.approx(89.0)
    assert r.weeks_to_red == 6  # the week ending 2026-03-15 projects 90: 10 % short
    assert r.p_target == 0.0


def test_the_policy_can_call_a_projected_amber_at_risk() -> None:
    slide = weekly("k", [100.0, 99.5, 99.0, 98.5])
    assert result(evaluate(model(kpi("k")), slide, WEEK_END[3]), "k").at_risk is False
    eager = model(kpi("k"), policy=Policy(at_risk_on="amber"))
    assert result(evaluate(eager, slide, WEEK_END[3]), "k").at_risk is True


def test_a_red_kpi_is_red_now_not_at_risk() -> None:
    r = result(evaluate(model(kpi("k")), weekly("k", [80.0, 78.0, 76.0]), WEEK_END[2]), "k")
    assert (r.status, r.at_risk, r.weeks_to_red) == ("red", False, 0)


def test_a_flow_kpi_projects_cumulative_actual_plus_the_plan_still_to_come() -> None:
    the_model = model(kpi("k", measure="flow", aggregate="sum", plan=Plan(per_bucket=100.0)))
    r = result(evaluate(the_model, weekly("k", [100.0] * 4), WEEK_END[3]), "k")
    assert r.forecast_end == pytest.approx(1200.0)
    assert r.plan_end == pytest.approx(1200.0)
    assert r.p_target == 1.0


def test_a_flow_kpi_falling_behind_projects_its_growing_gap() -> None:
    the_model = model(kpi("k", measure="flow", aggregate="sum", plan=Plan(per_bucket=100.0)))
    r = result(evaluate(the_model, weekly("k", [100.0, 98.0, 96.0, 94.0]), WEEK_END[3]), "k")
    # Per-bucket deviations -0, -2, -4, -6 keep falling by 2: the last 8 weeks miss 8, 10, … 22.
    assert r.forecast_end == pytest.approx(1200.0 - 12.0 - sum(range(8, 24, 2)))


def test_the_interval_widens_with_the_horizon() -> None:
    rng = np.random.default_rng(3)
    values = (100.0 + rng.normal(0, 2, 6)).tolist()
    ev = evaluate(model(kpi("k")), weekly("k", values), WEEK_END[5])
    chart = ev.buckets.filter(subject="k").drop_nulls("forecast").sort("bucket_start")
    width = (chart["hi"] - chart["lo"]).to_list()
    assert len(width) == 6
    assert all(b > a for a, b in itertools.pairwise(width))
    r = result(ev, "k")
    assert r.forecast_low is not None
    assert r.forecast_high is not None
    assert r.forecast_low < r.forecast_end < r.forecast_high  # type: ignore[operator]


def test_a_daily_kpi_is_forecast_on_its_weekly_aggregates() -> None:
    the_model = model(kpi("k", grain="day"))
    ev = evaluate(the_model, daily("k", [100.0 - 0.1 * i for i in range(28)]), WEEK_END[3])
    chart = ev.buckets.filter(subject="k").drop_nulls("forecast")
    assert chart.height == 8
    assert set(chart["bucket_end"].to_list()) == set(WEEK_END[4:])
    assert result(ev, "k").forecast_end == pytest.approx(100.0 - 0.1 * 80.0, abs=0.05)


def test_a_stale_kpi_is_forecast_from_its_last_bucket_with_data() -> None:
    the_model = model(kpi("k"))
    r = result(evaluate(the_model, weekly("k", [100.0, 99.0, 98.0, 97.0]), WEEK_END[8]), "k")
    assert r.stale is True
    assert r.forecast_end == pytest.approx(89.0)


def test_holt_recovers_a_straight_line_exactly() -> None:
    line = np.array([[2.0 + 0.5 * t for t in range(6)]])
    state = fit_holt(line, np.array([6]))
    assert state.level[0] + state.trend[0] == pytest.approx(2.0 + 0.5 * 6)
    assert state.sigma[0] == pytest.approx(0.0, abs=1e-12)


def test_holt_skips_a_missing_bucket_by_following_its_trend() -> None:
    line = np.array([[1.0, 2.0, np.nan, 4.0, 5.0]])
    state = fit_holt(line, np.array([5]))
    assert state.level[0] == pytest.approx(5.0)
    assert state.trend[0] == pytest.approx(1.0)


def test_holt_uses_the_default_smoothing_until_eight_buckets_then_fits_within_bounds() -> None:
    rng = np.random.default_rng(11)
    series = np.cumsum(rng.normal(0, 1, (3, 12)), axis=1)
    short = fit_holt(series[:, :7], np.array([7, 7, 7]))
    assert set(short.alpha.tolist()) == {0.5}
    assert set(short.beta.tolist()) == {0.3}
    long = fit_holt(series, np.array([12, 12, 12]))
    assert all(ALPHA_GRID.min() <= a <= ALPHA_GRID.max() for a in long.alpha)
    assert all(BETA_GRID.min() <= b <= BETA_GRID.max() for b in long.beta)


def test_holt_ignores_columns_past_each_rows_length() -> None:
    series = np.array([[1.0, 2.0, 3.0, 100.0], [1.0, 2.0, 3.0, 4.0]])
    state = fit_holt(series, np.array([3, 4]))
    assert state.level[0] == pytest.approx(3.0)
    assert state.level[1] == pytest.approx(4.0)


def test_the_normal_cdf_matches_the_error_function() -> None:
    xs = np.linspace(-5, 5, 41)
    exact = np.array([0.5 * (1 + math.erf(x / math.sqrt(2))) for x in xs])
    assert np.max(np.abs(normal_cdf(xs) - exact)) < 1e-6


def test_the_variance_factors_match_the_error_weights_of_holt() -> None:
    alpha, beta = 0.4, 0.2

    def weight(j: int) -> float:
        return 1.0 if j == 0 else alpha * (1 + j * beta)

    for h in range(1, 7):
        brute = sum(weight(j) ** 2 for j in range(h))
        assert level_variance_factor(np.array([alpha]), np.array([beta]), np.array([float(h)]))[
            0
        ] == pytest.approx(brute)
    for first, last in [(1, 1), (1, 5), (3, 6)]:
        coefficients = [
            sum(weight(h - m) for h in range(max(first, m), last + 1)) for m in range(1, last + 1)
        ]
        brute = sum(c * c for c in coefficients)
        got = cumulative_variance_factor(
            np.array([alpha]), np.array([beta]), np.array([float(first)]), np.array([float(last)])
        )[0]
        assert got == pytest.approx(brute)


def test_forecasts_start_from_the_cycle_start_not_earlier_points() -> None:
    rows = [("k", START - dt.timedelta(days=30), 10.0), *weekly("k", [100.0, 100.0, 100.0])]
    r = result(evaluate(model(kpi("k")), rows, WEEK_END[2]), "k")
    assert r.forecast_end == pytest.approx(100.0)
