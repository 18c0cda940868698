"""The projection combines the deviation carrying on with the actual carrying on (docs/semantics.md)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_evaluate_world import WEEK_END, daily, evaluate, kpi, model, result, weekly

from onpace.domain.model import Cycle, Plan
from onpace.domain.smoothing import DEFAULT_ALPHA, combination_weight

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def smoothed_with_errors(values: Sequence[float]) -> tuple[float, float]:
    """Return the simple-smoothing level after ``values`` and its squared one-step errors."""
    level, squares = values[0], 0.0
    for v in values[1:]:
        squares += (v - level) ** 2
        level += DEFAULT_ALPHA * (v - level)
    return level, squares


def test_the_projection_weighs_the_plan_and_the_flat_actual_by_their_one_step_errors() -> None:
    # A plan climbing 2 a week from 100 to 124; the actual stalls around 101-102.
    values = [101.0, 102.0, 101.0, 102.0]
    plan = [102.0, 104.0, 106.0, 108.0]
    deviation, deviation_errors = smoothed_with_errors([v - p for v, p in zip(values, plan, strict=True)])
    actual, actual_errors = smoothed_with_errors(values)
    trust = actual_errors / (deviation_errors + actual_errors)
    the_model = model(kpi("k", plan=Plan(baseline=100.0, target=124.0)))
    r = result(evaluate(the_model, weekly("k", values), WEEK_END[3]), "k")
    assert r.forecast_end == pytest.approx(trust * (124.0 + deviation) + (1 - trust) * actual)
    # The stalled actual tracked itself better than the deviation did: it weighs more.
    assert trust < 0.5
    assert r.forecast_end < 124.0 + deviation


def test_the_model_that_tracked_the_series_better_weighs_more() -> None:
    weights = combination_weight(np.array([1.0, 2.0, 0.0, 0.0, 3.0]), np.array([2.0, 1.0, 1.0, 0.0, 0.0]))
    assert weights.tolist() == pytest.approx([0.8, 0.2, 1.0, 0.5, 0.0])


@FAST
@given(
    level=st.floats(min_value=1.0, max_value=1e5),
    growth=st.floats(min_value=0.05, max_value=0.5),
    weeks=st.integers(min_value=3, max_value=11),
)
def test_a_flat_actual_under_a_rising_plan_is_projected_flat(level: float, growth: float, weeks: int) -> None:
    the_model = model(kpi("k", plan=Plan(baseline=level, target=level * (1 + growth))))
    r = result(evaluate(the_model, weekly("k", [level] * weeks), WEEK_END[weeks - 1]), "k")
    assert r.forecast_end == pytest.approx(level, rel=1e-9)
    assert r.forecast_low is not None
    assert r.forecast_high is not None
    assert r.forecast_low <= r.forecast_end <= r.forecast_high


@FAST
@given(
    level=st.floats(min_value=1.0, max_value=1e5),
    growth=st.floats(min_value=0.05, max_value=0.5),
    weeks=st.integers(min_value=3, max_value=11),
)
def test_a_series_exactly_on_a_rising_plan_is_projected_onto_its_target(
    level: float, growth: float, weeks: int
) -> None:
    target = level * (1 + growth)
    values = [level + (target - level) * (i + 1) / 12 for i in range(weeks)]
    the_model = model(kpi("k", plan=Plan(baseline=level, target=target)))
    r = result(evaluate(the_model, weekly("k", values), WEEK_END[weeks - 1]), "k")
    assert r.forecast_end == pytest.approx(target, rel=1e-9)


@FAST
@given(
    steps=st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=2, max_size=6),
    start=st.floats(min_value=100.0, max_value=1e4),
    ambition=st.floats(min_value=0.0, max_value=0.5),
    rising=st.booleans(),
)
def test_a_monotone_series_under_a_plan_going_its_way_is_never_projected_behind_where_it_started(
    steps: list[float], start: float, ambition: float, rising: bool
) -> None:
    sign = 1.0 if rising else -1.0
    values = list(itertools.accumulate([start, *(sign * s for s in steps)]))
    plan = Plan(baseline=start, target=start * (1 + sign * ambition))
    the_model = model(kpi("k", plan=plan, direction="up" if rising else "down"))
    r = result(evaluate(the_model, weekly("k", values), WEEK_END[len(values) - 1]), "k")
    assert r.forecast_end is not None
    # Before eight buckets both models are weighted means of what was seen (the deviation's plus
    # a plan that has moved the same way since): the combination cannot fall behind the start.
    assert sign * (r.forecast_end - start) >= -1e-9 * start


def test_a_flow_at_a_steady_daily_rate_is_projected_at_that_rate_through_buckets_the_cycle_cuts() -> None:
    # A quarter from Thursday 1 January: its first week has 4 days, its last (30-31 March) 2.
    quarter = Cycle("Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    flow = kpi("k", measure="flow", aggregate="sum", plan=Plan(baseline=0.0, target=1500.0))
    as_of = dt.date(2026, 1, 25)  # the end of the fourth week: 25 days at 10 a day
    r = result(evaluate(model(flow, cycles=(quarter,)), daily("k", [10.0] * 25, quarter.start), as_of), "k")
    # The actual carries on at 10 a day for the 65 days left; the plan's 16.7 a day is not met.
    assert r.forecast_end == pytest.approx(900.0, rel=1e-6)
