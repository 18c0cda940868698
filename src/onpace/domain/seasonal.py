"""Seasonal plans: phase a KPI's plan from its own actuals of a reference period, times a growth.

``plan: {seasonal_from: 2025-Q4, growth: 5%}`` (a cycle id, or a date range written
``2025-10-01..2025-12-31``) plans bucket *i* of the cycle at the actual of bucket *i* of the
reference period — bucketed at the KPI's grain, aggregated with its aggregate — times
``1 + growth``. A level KPI plans that level; a flow KPI that amount. Positions count calendar
buckets from each period's start (day, week, month), so the same weeks last year plan this
year's weeks. A bucket whose reference bucket has no data is interpolated between its
neighbours (held flat at the ends). Only points dated on or before the as-of date are read, like
every other figure. Before it reaches phasing the plan becomes an explicit ``points`` plan
(cumulative for flow), so everything downstream — status, forecast, charts — is unchanged: the
seasonal pattern is in the plan, and the forecaster sees a deviation without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import polars as pl

from onpace.domain.calendar import day_number, from_day_number, month_first_day, month_index, week_number
from onpace.domain.model import Cycle, Plan, PlanVersion

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
DAY, WEEK, MONTH = 0, 1, 2
_AGGREGATES = ("sum", "mean", "last", "min", "max")
RANGE_SEPARATOR = ".."
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (calendar.week_number)


def reference_period(text: str, cycles: Mapping[str, Cycle]) -> tuple[dt.date, dt.date] | None:
    """Return the (first, last) day ``seasonal_from`` names: a cycle id or ``D..D``; None if neither."""
    cycle = cycles.get(text)
    if cycle is not None:
        return cycle.start, cycle.end
    first, sep, last = text.partition(RANGE_SEPARATOR)
    if not sep:
        return None
    try:
        start, end = dt.date.fromisoformat(first.strip()), dt.date.fromisoformat(last.strip())
    except ValueError:
        return None
    return (start, end) if start <= end else None


@dataclass(frozen=True)
class SeriesShape:
    """What resolving needs of every series: its metric, grain, aggregate, measure and cycle."""

    metric: Sequence[str | None]
    grain: Ints
    aggregate: Ints
    flow: Bools
    cycle_start: Ints
    cycle_end: Ints
    week_start: int


Entry = Sequence[PlanVersion] | Plan | None


def resolve(
    versions: list[Entry],
    shape: SeriesShape,
    *,
    cycles: Mapping[str, Cycle],
    points: pl.DataFrame,
    as_of: dt.date,
) -> list[Entry]:
    """Return ``versions`` with every seasonal plan replaced by the points plan it stands for."""
    wanted: list[tuple[int, Plan]] = []
    for i, entry in enumerate(versions):
        for plan in _plans(entry):
            if plan.seasonal_from is not None:
                wanted.append((i, plan))
    if not wanted:
        return versions
    values = _reference_values(wanted, shape, cycles, points, as_of)
    resolved: dict[tuple[int, int], Plan] = {}
    for key, (i, plan) in enumerate(wanted):
        resolved[(i, id(plan))] = _points_plan(plan, values.get(key, {}), i, shape)
    out: list[Entry] = []
    for i, entry in enumerate(versions):
        if isinstance(entry, Plan):
            out.append(resolved.get((i, id(entry)), entry))
        elif entry is None:
            out.append(None)
        else:
            out.append([replace(v, plan=resolved.get((i, id(v.plan)), v.plan)) for v in entry])
    return out


def any_seasonal(versions: Sequence[Entry]) -> bool:
    """Return whether any plan (or plan version) is seasonal."""
    return any(plan.seasonal_from is not None for entry in versions for plan in _plans(entry))


def _plans(entry: Entry) -> list[Plan]:
    if entry is None:
        return []
    if isinstance(entry, Plan):
        return [entry]
    return [v.plan for v in entry]


def _positions(days: Ints, start: Ints, grain: Ints, week_start: int) -> Ints:
    """Return each day's bucket position counted from ``start`` (same grain)."""
    by_week = week_number(days, week_start) - week_number(start, week_start)
    by_month = month_index(days) - month_index(start)
    return np.where(grain == WEEK, by_week, np.where(grain == MONTH, by_month, days - start)).astype(np.int64)


def _reference_values(
    wanted: list[tuple[int, Plan]],
    shape: SeriesShape,
    cycles: Mapping[str, Cycle],
    points: pl.DataFrame,
    as_of: dt.date,
) -> dict[int, dict[int, float]]:
    """Return, per wanted plan, the reference actual of every bucket position that has data."""
    rows = []
    for key, (i, plan) in enumerate(wanted):
        period = reference_period(plan.seasonal_from or "", cycles)
        metric = shape.metric[i]
        if period is None or metric is None:
            continue
        rows.append((key, metric, day_number(period[0]), min(day_number(period[1]), day_number(as_of)), i))
    if not rows:
        return {}
    asks = pl.DataFrame(rows, schema=["key", "metric", "first", "last", "series"], orient="row")
    found = (
        points.lazy()
        .select(
            pl.col("metric").cast(pl.Utf8),
            pl.col("date").cast(pl.Date).cast(pl.Int64).alias("day"),
            pl.col("value").cast(pl.Float64),
        )
        .join(asks.lazy(), on="metric")
        .filter(
            (pl.col("day") >= pl.col("first"))
            & (pl.col("day") <= pl.col("last"))
            & pl.col("value").is_finite()
        )
        .collect()
    )
    if found.height == 0:
        return {}
    series = found["series"].to_numpy()
    position = _positions(
        found["day"].to_numpy(), found["first"].to_numpy(), shape.grain[series], shape.week_start
    )
    grouped = (
        found.with_columns(pl.Series("position", position))
        .sort("day", "value")
        .group_by("key", "position", "series")
        .agg(
            pl.col("value").sum().alias("sum"),
            pl.col("value").mean().alias("mean"),
            pl.col("value").last().alias("last"),
            pl.col("value").min().alias("min"),
            pl.col("value").max().alias("max"),
        )
    )
    aggregate = shape.aggregate[grouped["series"].to_numpy()]
    choices = np.stack([grouped[name].to_numpy() for name in _AGGREGATES])
    value = choices[aggregate, np.arange(grouped.height)]
    out: dict[int, dict[int, float]] = {}
    for key, pos, v in zip(
        grouped["key"].to_list(), grouped["position"].to_list(), value.tolist(), strict=True
    ):
        out.setdefault(int(key), {})[int(pos)] = float(v)
    return out


def _points_plan(plan: Plan, reference: Mapping[int, float], i: int, shape: SeriesShape) -> Plan:
    """Return the explicit points plan of series ``i`` for a seasonal plan and its reference values."""
    start, end = int(shape.cycle_start[i]), int(shape.cycle_end[i])
    grain = int(shape.grain[i])
    count = int(_positions(np.array([end]), np.array([start]), np.array([grain]), shape.week_start)[0]) + 1
    positions = np.arange(count)
    if grain == WEEK:
        # The same week origin as the layout's: 7·week − weekday of 1970-01-01 + week start.
        first_week = int(week_number(np.array([start]), shape.week_start)[0])
        ends = (first_week + positions) * 7 - _EPOCH_WEEKDAY + shape.week_start + 6
    elif grain == MONTH:
        months = int(month_index(np.array([start]))[0]) + positions
        ends = month_first_day(months + 1) - 1
    else:
        ends = start + positions
    ends = np.minimum(ends, end)
    known = np.array(sorted(p for p in reference if 0 <= p < count), dtype=np.int64)
    if known.size == 0:
        return Plan(points=(), band=plan.band)
    factor = 1.0 + plan.growth
    amounts = np.interp(positions, known, np.array([reference[int(p)] for p in known])) * factor
    if shape.flow[i]:
        cumulative = np.cumsum(amounts)
        days = [start - 1, *ends.tolist()]
        values = [0.0, *cumulative.tolist()]
    else:
        days, values = ends.tolist(), amounts.tolist()
    return Plan(
        points=tuple((from_day_number(d), float(v)) for d, v in zip(days, values, strict=True)),
        band=plan.band,
    )
