"""Bucket actuals and grade planned-vs-actual to date for every series at once (numpy).

Semantics (DESIGN.md §4):

- points dated after ``as_of`` or outside the series' cycle are ignored; the rest are bucketed to
  the series' grain and aggregated with its ``aggregate`` (``last`` takes the latest date; on a
  tie the larger value, so row order never matters);
- ``flow``: cumulative actual (opening balance + every bucket to date) against the cumulative plan
  to date; the bucket holding the as-of date is owed only through its last day with data
  (``domain.unfinished``: the unfinished bucket is not a debt);
  ``level``/``ratio``: the latest bucket that has data against that bucket's plan;
- a bucket with no data is unknown, not zero: once a complete bucket after the last bucket with
  data has none, a flow series is judged through the end of its last bucket with data (the plan
  of the missing buckets is not owed yet), so a source that stops sending turns nothing red;
- ``stale``: more than ``stale_after`` complete buckets have passed since the last bucket with data
  (or since the cycle started, for a planned series that never had any); the figures are those
  of the last bucket with data, so the last status stands, flagged stale (it is not a breach);
- shortfall is measured in the bad direction only (``range``: outside ``band``, or the distance to
  the plan without one); thresholds are relative (of |plan|) or absolute; a relative threshold on
  a zero plan is read as an absolute amount (a zero plan has absolute variance only); a shortfall
  equal to a threshold is the worse band; no shortfall is always green;
- **attainment** is the share of the plan to date that is met, in [0, 1]: ``1 − shortfall/|plan|``
  (beating the plan counts as 1, so a strong KPI never hides a weak one in a roll-up); on a zero
  plan it falls linearly from 1 (no shortfall) to 0 at the red threshold.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from onpace.domain.calendar import Layout, bucket_rows, day_number
from onpace.domain.phasing import BucketPlans
from onpace.domain.unfinished import owed_shares

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Codes = npt.NDArray[np.integer[Any]]

GREEN, AMBER, RED, NO_DATA, UNPLANNED = 0, 1, 2, 3, 4
STATUS_NAMES = ("green", "amber", "red", "no_data", "unplanned")
UP, DOWN, RANGE = 0, 1, 2
DIRECTION_CODES = {"up": UP, "down": DOWN, "range": RANGE}
SUM, MEAN, LAST, MIN, MAX = 0, 1, 2, 3, 4
AGGREGATE_CODES = {"sum": SUM, "mean": MEAN, "last": LAST, "min": MIN, "max": MAX}
NO_DAY = -(1 << 40)
# Relative slack when comparing a shortfall with a threshold, so 5 % of 100 (5.000000000000001 in
# floating point) still counts a shortfall of exactly 5 as reaching the threshold.
_EPS = 1e-9


def point_arrays(points: pl.DataFrame, metrics: list[str], as_of: dt.date) -> tuple[Codes, Codes, Floats]:
    """Return (metric code, day number, value) of the usable points; codes index ``metrics``.

    Points of other metrics, dated after ``as_of``, or with a missing or non-finite value are
    dropped. Codes and days come back in the narrowest integer types (memory bandwidth matters
    at millions of points).
    """
    if not metrics or points.height == 0:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int32), np.zeros(0)
    frame = (
        points.lazy()
        .select(
            pl.col("metric")
            .cast(pl.Utf8)
            .cast(pl.Enum(metrics), strict=False)
            .to_physical()
            .fill_null(len(metrics))
            .alias("code"),
            pl.col("date").cast(pl.Date).cast(pl.Int32).fill_null(np.iinfo(np.int32).max).alias("day"),
            pl.col("value").cast(pl.Float64).fill_null(np.nan),
        )
        .collect()
    )
    code = frame["code"].to_numpy()
    day = frame["day"].to_numpy()
    value = frame["value"].to_numpy()
    today = day_number(as_of)
    # Three reductions usually prove every point usable (a NaN or inf makes the sum non-finite).
    if code.size and code.max() < len(metrics) and day.max() <= today and np.isfinite(value.sum()):
        return code, day, value
    keep = (code < len(metrics)) & (day <= today) & np.isfinite(value)
    return code[keep], day[keep], value[keep]


def bucket_actuals(
    points: tuple[Codes, Codes, Floats],
    lay: Layout,
    *,
    aggregate: Ints,
    window: tuple[Ints, Ints],
    primary: int,
    grain_split: tuple[int, int],
    passes: list[Ints],
) -> tuple[Floats, Ints]:
    """Return (actual, last day with a point) per bucket row; NaN / NO_DAY where a bucket is empty.

    Metric codes below ``primary`` feed the series of the same index. Those series are ordered by
    grain, so a point's grain follows from its code: codes below ``grain_split[0]`` are daily,
    below ``grain_split[1]`` weekly, the rest monthly. ``passes[j][c]`` names a further series fed
    by metric ``c`` (−1: none), for formula inputs. ``window`` is the (first, last) day each
    series keeps: its cycle up to ``as_of``.
    """
    code, day, value = points
    acc = _Accumulator(lay, aggregate, window)
    direct = code < primary
    s, d, v = (code, day, value) if direct.all() else (code[direct], day[direct], value[direct])
    acc.add(s, d, v, (s >= grain_split[0]).view(np.int8) + (s >= grain_split[1]).view(np.int8))
    for wanted in passes:
        series = wanted[code]
        keep = series >= 0
        if keep.any():
            acc.add(series[keep], day[keep], value[keep], None)
    return acc.result()


class _Accumulator:
    """Aggregate points into bucket rows: count, sum, min, max, and latest value per row."""

    def __init__(self, lay: Layout, aggregate: Ints, window: tuple[Ints, Ints]) -> None:
        rows = lay.rows
        self.lay = lay
        self.aggregate = aggregate.astype(np.int8)
        self.first, self.last = window
        self.count = np.zeros(rows, dtype=np.int64)
        self.total = np.zeros(rows)
        # Allocated only for the aggregates the model uses (each is a full row array).
        kinds = set(np.unique(self.aggregate).tolist())
        self.low = np.full(rows, np.inf) if MIN in kinds else self.total
        self.high = np.full(rows, -np.inf) if MAX in kinds else self.total
        self.latest = np.full(rows, -np.inf) if LAST in kinds else self.total
        # int32 like the days themselves: ufunc.at is only fast when the dtypes match.
        self.last_day = np.full(rows, np.iinfo(np.int32).min, dtype=np.int32)
        self.pending: list[tuple[Ints, Codes, Floats]] = []

    def add(self, s: Codes, d: Codes, v: Floats, grain: Codes | None) -> None:
        """Add points of series ``s`` on days ``d`` (``grain``: their series' grain, if known)."""
        if s.size == 0:
            return
        first, last = self.first, self.last
        # Usually every point lies inside every window (one cycle): two reductions prove it.
        if not (int(d.min()) >= first.max() and int(d.max()) <= last.min()):
            inside = (d >= first[s]) & (d <= last[s])
            s, d, v = s[inside], d[inside], v[inside]
            grain = grain[inside] if grain is not None else None
            if s.size == 0:
                return
        rows = self.lay.rows
        row = bucket_rows(s, d, self.lay, grain)
        self.count += np.bincount(row, minlength=rows)
        np.maximum.at(self.last_day, row, d.astype(np.int32, copy=False))
        agg = self.aggregate[s]
        summed = agg <= MEAN
        if summed.all():
            self.total += np.bincount(row, weights=v, minlength=rows)
            return
        self.total += np.bincount(row, weights=np.where(summed, v, 0.0), minlength=rows)
        for kind, target, ufunc in ((MIN, self.low, np.minimum), (MAX, self.high, np.maximum)):
            if target is not self.total:
                chosen = agg == kind
                ufunc.at(target, row[chosen], v[chosen])
        if self.latest is not self.total:
            latest = agg == LAST
            self.pending.append((row[latest], d[latest], v[latest]))

    def result(self) -> tuple[Floats, Ints]:
        """Return (actual, last day) per row, choosing each series' aggregate."""
        for row, d, v in self.pending:
            at_end = d == self.last_day[row]
            np.maximum.at(self.latest, row[at_end], v[at_end])
        count = self.count
        actual = self.total
        row_agg = np.repeat(self.aggregate, self.lay.count)
        for kind, source in ((MIN, self.low), (MAX, self.high), (LAST, self.latest)):
            if source is not self.total:
                chosen = row_agg == kind
                actual[chosen] = source[chosen]
        means = np.flatnonzero(row_agg == MEAN)
        actual[means] /= np.maximum(count[means], 1)
        actual[(count == 0) | ~np.isfinite(actual)] = np.nan
        last_day = self.last_day.astype(np.int64)
        last_day[count == 0] = NO_DAY
        return actual, last_day


@dataclass(frozen=True)
class Figures:
    """Per-series figures to date (NaN / NO_DAY / −1 where there is nothing)."""

    plan_to_date: Floats
    actual_to_date: Floats
    plan_end: Floats
    band_lo: Floats
    band_hi: Floats
    last_point: Ints
    stale: Bools
    to_date: Ints
    k_data: Ints
    # The last day owed to date (the figures date, or less inside the running bucket).
    owed_through: Ints


def figures_to_date(
    lay: Layout,
    plans: BucketPlans,
    actual: Floats,
    last_day: Ints,
    *,
    flow: Bools,
    cycle_start: Ints,
    cycle_end: Ints,
    as_of: int,
    stale_after: int,
) -> Figures:
    """Return plan and actual to date, plan at cycle end and staleness for every series."""
    s = lay.series
    offset = lay.offset
    has = ~np.isnan(actual)
    first = np.maximum(lay.start, cycle_start[s])
    last = np.minimum(lay.end, cycle_end[s])
    k_data = np.maximum.reduceat(np.where(has, lay.k, -1), offset)
    k_complete = np.maximum.reduceat(np.where(last <= as_of, lay.k, -1), offset)
    last_point = np.maximum.reduceat(last_day, offset)
    last_row = offset + lay.count - 1
    plan_end = np.where(flow, plans.opening + np.add.reduceat(plans.plan, offset), plans.plan[last_row])
    gap = k_complete > k_data
    # A planned series that never had data goes stale too (its first buckets count as the gap).
    stale = (k_complete - k_data > stale_after) & ((k_data >= 0) | ~np.isnan(plan_end))
    data_end = np.minimum(lay.end[offset + np.maximum(k_data, 0)], cycle_end)
    to_date = np.where(gap & (k_data >= 0), data_end, np.minimum(cycle_end, as_of))
    row_to = to_date[s]
    share, owed_until = owed_shares(first, last, last_day, s, row_to=row_to, to_date=to_date, today=as_of)
    plan = plans.plan
    opening = plans.opening
    at_data = offset + np.maximum(k_data, 0)
    holding = (
        np.clip(np.add.reduceat((first <= row_to).astype(np.int64), offset) - 1, 0, lay.count - 1) + offset
    )
    flow_plan = opening + np.add.reduceat(plan * share, offset)
    flow_actual = opening + np.add.reduceat(np.where(has & (first <= row_to), actual, 0.0), offset)
    found = k_data >= 0
    band_at = np.where(flow, holding, at_data)
    return Figures(
        plan_to_date=np.where(flow, flow_plan, plan[at_data]),
        actual_to_date=np.where(found, np.where(flow, flow_actual, actual[at_data]), np.nan),
        plan_end=plan_end,
        band_lo=plans.band_lo[band_at],
        band_hi=plans.band_hi[band_at],
        last_point=last_point,
        stale=stale,
        to_date=to_date,
        k_data=k_data,
        owed_through=owed_until,
    )


def threshold(value: Floats, relative: Bools, plan: Floats) -> Floats:
    """Return thresholds in absolute units: a share of |plan|, or the number itself (zero plan too)."""
    return np.where(relative & (plan != 0), value * np.abs(plan), value)


def shortfall(plan: Floats, actual: Floats, direction: Ints, band_lo: Floats, band_hi: Floats) -> Floats:
    """Return how far ``actual`` falls short of ``plan`` in the bad direction (never negative)."""
    with np.errstate(invalid="ignore"):
        band = ~np.isnan(band_lo) & ~np.isnan(band_hi)
        outside = np.maximum(np.maximum(band_lo - actual, actual - band_hi), 0.0)
        ranged = np.where(band, outside, np.abs(actual - plan))
        return np.where(
            direction == UP,
            np.maximum(plan - actual, 0.0),
            np.where(direction == DOWN, np.maximum(actual - plan, 0.0), ranged),
        )


@dataclass(frozen=True)
class Criteria:
    """How each element is judged: direction code and amber/red thresholds (relative or not)."""

    direction: Ints
    amber: Floats
    amber_rel: Bools
    red: Floats
    red_rel: Bools

    def take(self, index: Ints) -> Criteria:
        """Return the criteria of the elements at ``index``."""
        return Criteria(
            self.direction[index],
            self.amber[index],
            self.amber_rel[index],
            self.red[index],
            self.red_rel[index],
        )


def grade(plan: Floats, actual: Floats, criteria: Criteria, band_lo: Floats, band_hi: Floats) -> Ints:
    """Return status codes (GREEN … UNPLANNED) for actuals against plans."""
    gap = shortfall(plan, actual, criteria.direction, band_lo, band_hi)
    red_at = threshold(criteria.red, criteria.red_rel, plan)
    amber_at = threshold(criteria.amber, criteria.amber_rel, plan)
    with np.errstate(invalid="ignore"):
        code = np.where(
            gap <= 0,
            GREEN,
            np.where(gap >= red_at * (1 - _EPS), RED, np.where(gap >= amber_at * (1 - _EPS), AMBER, GREEN)),
        )
    return np.where(np.isnan(plan), UNPLANNED, np.where(np.isnan(actual), NO_DATA, code)).astype(np.int64)


def attainment(plan: Floats, gap: Floats, red_at: Floats) -> Floats:
    """Return the share of plan met in [0, 1] (zero plan: 1 down to 0 at the red threshold)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = 1.0 - gap / np.abs(plan)
        zero_plan = np.where(gap <= 0, 1.0, np.where(red_at > 0, 1.0 - gap / red_at, 0.0))
        return np.clip(np.where(plan != 0, relative, zero_plan), 0.0, 1.0)
