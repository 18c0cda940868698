"""Builders for engine tests: a 12-week cycle, KPIs with sensible defaults, and points.

The cycle runs Monday 2026-01-05 to Sunday 2026-03-29 (12 whole weeks), so week ``i`` (0-based)
ends on ``WEEK_END[i]`` and a linear plan is at ``i + 1`` twelfths of its move there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from onpace.domain.engine import Evaluation, evaluate_model
from onpace.domain.model import (
    Cycle,
    Feed,
    KeyResult,
    Kpi,
    Model,
    Objective,
    Plan,
    PlanVersion,
    Policy,
    Threshold,
    Tolerance,
)
from onpace.domain.results import SubjectResult

START = dt.date(2026, 1, 5)
END = dt.date(2026, 3, 29)
CYCLE = Cycle("Q1", START, END)
WEEK_END = [START + dt.timedelta(days=7 * i + 6) for i in range(12)]

Row = tuple[str, dt.date, float]


def tolerance(amber: float, red: float, relative: bool = True) -> Tolerance:
    """Return a tolerance with both thresholds relative (fractions) or absolute."""
    return Tolerance(Threshold(amber, relative), Threshold(red, relative))


def kpi(kpi_id: str, **fields: Any) -> Kpi:
    """Return a weekly level KPI planned at 100 per bucket, overridable field by field."""
    values: dict[str, Any] = {
        "id": kpi_id,
        "title": kpi_id,
        "unit": None,
        "owners": ("owner",),
        "plan": Plan(per_bucket=100.0),
        "cycle": "Q1",
    }
    values.update(fields)
    return Kpi(**values)


def kr(kr_id: str, objective: str = "O1", **fields: Any) -> KeyResult:
    """Return a KR of objective ``objective``."""
    return KeyResult(id=kr_id, title=kr_id, objective=objective, owner="owner", **fields)


def objective(objective_id: str, *krs: KeyResult) -> Objective:
    """Return an objective in the test cycle holding ``krs``."""
    return Objective(
        id=objective_id, title=objective_id, cycle="Q1", unit=None, owner="owner", key_results=krs
    )


def model(
    *kpis: Kpi,
    objectives: Sequence[Objective] = (),
    policy: Policy | None = None,
    week_start: str = "monday",
    cycles: Sequence[Cycle] = (CYCLE,),
    **fields: Any,
) -> Model:
    """Return a model of the given KPIs and objectives."""
    from onpace.domain.model import Calendar

    return Model(
        org="Test",
        calendar=Calendar(week_start),
        cycles=tuple(cycles),
        objectives=tuple(objectives),
        kpis=tuple(kpis),
        policy=policy or Policy(),
        **fields,
    )


def points(rows: Iterable[Row]) -> pl.DataFrame:
    """Return the actual points frame the engine reads."""
    rows = list(rows)
    return pl.DataFrame(
        {
            "metric": [r[0] for r in rows],
            "date": [r[1] for r in rows],
            "value": [float(r[2]) for r in rows],
        },
        schema={"metric": pl.Utf8, "date": pl.Date, "value": pl.Float64},
    )


def weekly(metric: str, values: Sequence[float], weekday: int = 2) -> list[Row]:
    """Return one point per week from the cycle's first week, on ``weekday`` (Monday 0)."""
    return [(metric, START + dt.timedelta(days=7 * i + weekday), v) for i, v in enumerate(values)]


def daily(metric: str, values: Sequence[float], first: dt.date = START) -> list[Row]:
    """Return one point per day from ``first``."""
    return [(metric, first + dt.timedelta(days=i), v) for i, v in enumerate(values)]


def evaluate(
    the_model: Model,
    rows: Iterable[Row],
    as_of: dt.date,
    versions: Mapping[str, Sequence[PlanVersion]] | None = None,
) -> Evaluation:
    """Evaluate the model from point rows as of a date."""
    return evaluate_model(the_model, points(rows), as_of, versions)


def result(evaluation: Evaluation, subject: str) -> SubjectResult:
    """Return one subject's result."""
    return evaluation.results[subject]


def feeding(kr_id: str, weight: float, lag_days: int = 0) -> tuple[Feed, ...]:
    """Return a one-link feed tuple."""
    return (Feed(kr_id, weight, lag_days),)
