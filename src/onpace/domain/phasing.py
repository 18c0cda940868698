"""Turn time-phased plans into the plan of every bucket, for all series at once.

A plan's value at a day is its value *at the end of that day*:

- phased plans (``baseline``/``target``) move from ``baseline`` at the start of the cycle's first
  day to ``target`` at the end of its last day, along the elapsed share ``f`` of the cycle:
  ``linear`` f, ``front`` √f (front-loaded: most of the move early), ``back`` f² (back-loaded),
  ``step`` held at ``baseline`` and climbing one equal step at the end of every calendar month the
  cycle touches (the last step lands at the cycle's end, also when that is mid-month);
- ``points`` are interpolated linearly by date and held flat before the first and after the last;
- ``per_bucket`` is the value of every bucket; a plan with only a ``band`` plans its midpoint.

A bucket's plan is the plan at the end of its last day (clipped to the cycle). For ``flow``
series phased plans and points are *cumulative* (``target`` is the cycle's total; ``baseline``
is the opening balance, normally 0), so a bucket plans ``C(end) − C(end of previous bucket)``; a
``per_bucket`` flow plan is the amount of every bucket, prorated for a bucket that the cycle only
partly covers. Plan versions (re-baselines) apply from their ``effective`` day on: a bucket takes
the version in force on its last day (the bucket holding the as-of date: on that date), so buckets
that ended earlier keep the plan they had; a flow bucket a re-baseline splits plans each part with
its own version; the earliest version also covers any bucket before its own effective day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from onpace.domain.calendar import Layout, day_number, month_index
from onpace.domain.model import Plan, PlanVersion

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

NO_PLAN, PHASED, POINTS, PER_BUCKET = 0, 1, 2, 3
PHASINGS = {"linear": 0, "front": 1, "back": 2, "step": 3}
# Day offset that makes every day number non-negative inside a packed (id, day) sort key.
_DAY_BIAS = 1 << 30
_EARLIEST = -(1 << 29)


@dataclass(frozen=True)
class PlanTable:
    """Every plan version as arrays, sorted by (series, effective day); points by (version, day)."""

    series: Ints
    effective: Ints
    form: Ints
    baseline: Floats
    target: Floats
    phasing: Ints
    per_bucket: Floats
    band_lo: Floats
    band_hi: Floats
    point_version: Ints
    point_day: Ints
    point_value: Floats


@dataclass(frozen=True)
class BucketPlans:
    """Plan per bucket row (``plan``: level, or flow amount) and per series opening/start values."""

    plan: Floats
    band_lo: Floats
    band_hi: Floats
    opening: Floats
    plan_start: Floats


def plan_table(versions: Sequence[Sequence[PlanVersion] | Plan | None]) -> PlanTable:
    """Return the plans of series 0, 1, … as arrays.

    Each entry is the series' plan versions, or a single plan (in force throughout), or None.
    """
    rows: list[tuple[int, int, int, float, float, int, float, float, float]] = []
    points: list[tuple[int, int, float]] = []
    for index, entry in enumerate(versions):
        if entry is None:
            continue
        if isinstance(entry, Plan):
            history: list[tuple[int, Plan]] = [(_EARLIEST, entry)]
        else:
            ordered = sorted(entry, key=lambda pv: (pv.effective, pv.version))
            history = [
                (_EARLIEST if i == 0 else day_number(pv.effective), pv.plan) for i, pv in enumerate(ordered)
            ]
        for effective, plan in history:
            band = plan.band
            if plan.points:
                form = POINTS
            elif plan.per_bucket is not None or (band is not None and plan.baseline is None):
                form = PER_BUCKET
            elif plan.baseline is not None and plan.target is not None:
                form = PHASED
            else:
                continue
            per = plan.per_bucket if plan.per_bucket is not None else (sum(band) / 2 if band else np.nan)
            points.extend((len(rows), day_number(day), float(value)) for day, value in plan.points)
            rows.append(
                (
                    index,
                    effective,
                    form,
                    _num(plan.baseline),
                    _num(plan.target),
                    PHASINGS.get(plan.phasing, 0),
                    float(per),
                    _num(band[0] if band else None),
                    _num(band[1] if band else None),
                )
            )
    table = np.array(rows, dtype=np.float64).reshape(-1, 9)
    pts = np.array(points, dtype=np.float64).reshape(-1, 3)
    order = np.lexsort((pts[:, 1], pts[:, 0])) if pts.size else np.zeros(0, dtype=np.int64)
    pts = pts[order]
    return PlanTable(
        series=table[:, 0].astype(np.int64),
        effective=table[:, 1].astype(np.int64),
        form=table[:, 2].astype(np.int64),
        baseline=table[:, 3],
        target=table[:, 4],
        phasing=table[:, 5].astype(np.int64),
        per_bucket=table[:, 6],
        band_lo=table[:, 7],
        band_hi=table[:, 8],
        point_version=pts[:, 0].astype(np.int64),
        point_day=pts[:, 1].astype(np.int64),
        point_value=pts[:, 2],
    )


def _num(value: float | None) -> float:
    return float(value) if value is not None else np.nan


def bucket_plans(
    lay: Layout,
    flow: npt.NDArray[np.bool_],
    cycle_start: Ints,
    cycle_end: Ints,
    table: PlanTable,
    *,
    as_of: int | None = None,
) -> BucketPlans:
    """Return the plan of every bucket row, the bands in force and each series' opening balance.

    Series without a plan get NaN plans (the caller reports them as unplanned). With ``as_of``
    (a day number), the bucket holding it takes the version in force on that day, not on its
    last day: a re-baseline effective later in the bucket is not in force yet.
    """
    if table.series.size == 0:
        nothing = np.full(lay.rows, np.nan)
        blank = np.full(flow.size, np.nan)
        return BucketPlans(nothing, nothing, nothing.copy(), np.zeros(flow.size), blank)
    s = lay.series
    # Per-series values spread over rows: rows are grouped by series, so repeat beats gather.
    c_start = np.repeat(cycle_start, lay.count)
    c_end = np.repeat(cycle_end, lay.count)
    plan_day = np.minimum(lay.end, c_end)
    prev_day = np.maximum(lay.start, c_start) - 1
    version_day = (
        plan_day if as_of is None else np.where(lay.start <= as_of, np.minimum(plan_day, as_of), plan_day)
    )
    version = _version_in_force(s, version_day, table)
    has = version >= 0
    v = np.where(has, version, 0)
    plan = value_at(v, plan_day, c_start, c_end, table)
    plan[~has | ~np.isfinite(plan)] = np.nan
    flows = np.flatnonzero(np.repeat(flow, lay.count) & has)
    at_prev = np.full(s.size, np.nan)
    cumulative = np.zeros(s.size, dtype=bool)
    if flows.size:
        fv = v[flows]
        form = table.form[fv]
        is_cumulative = (form == PHASED) | (form == POINTS)
        rows = flows[is_cumulative]
        cumulative[rows] = True
        at_prev[rows] = value_at(v[rows], prev_day[rows], c_start[rows], c_end[rows], table)
        plan[rows] -= at_prev[rows]
        amounts = flows[~is_cumulative]
        length = (lay.end[amounts] - lay.start[amounts] + 1).astype(np.float64)
        plan[amounts] *= np.clip((plan_day[amounts] - prev_day[amounts]) / length, 0.0, 1.0)
        _split_rebaselined(plan, lay, flows, version, prev_day, plan_day, (c_start, c_end), table)
    first_rows = lay.offset
    opening = np.where(cumulative[first_rows], at_prev[first_rows], 0.0)
    level_start = np.full(first_rows.size, np.nan)
    first_has = has[first_rows]
    if first_has.any():
        rows = first_rows[first_has]
        level_start[first_has] = value_at(v[rows], prev_day[rows], c_start[rows], c_end[rows], table)
    plan_start = np.where(flow, opening, level_start)
    if np.isnan(table.band_lo).all() and np.isnan(table.band_hi).all():
        band_lo = band_hi = np.full(s.size, np.nan)
    else:
        band_lo = np.where(has, table.band_lo[v], np.nan)
        band_hi = np.where(has, table.band_hi[v], np.nan)
    return BucketPlans(
        plan=plan,
        band_lo=band_lo,
        band_hi=band_hi,
        opening=np.nan_to_num(opening),
        plan_start=plan_start,
    )


def _split_rebaselined(  # noqa: PLR0917 - private helper over parallel arrays
    plan: Floats,
    lay: Layout,
    flows: Ints,
    version: Ints,
    prev_day: Ints,
    plan_day: Ints,
    cycle: tuple[Ints, Ints],
    table: PlanTable,
) -> None:
    """Plan a flow bucket that a re-baseline splits as the sum of its two parts, in place.

    The days before the version's effective day keep the version in force then; the days from
    it on take the new one. (Two re-baselines inside one bucket: the earlier one's days go with
    the version before it.)
    """
    before = _version_in_force(lay.series[flows], prev_day[flows] + 1, table)
    split = (before >= 0) & (before != version[flows])
    if not split.any():
        return
    rows = flows[split]
    old, new = before[split], version[rows]
    effective = table.effective[new]
    c_start, c_end = cycle[0][rows], cycle[1][rows]
    length = (lay.end[rows] - lay.start[rows] + 1).astype(np.float64)

    def part(ver: Ints, first: Ints, last: Ints) -> Floats:
        cumulative = (table.form[ver] == PHASED) | (table.form[ver] == POINTS)
        span = value_at(ver, last, c_start, c_end, table) - value_at(ver, first - 1, c_start, c_end, table)
        return np.where(cumulative, span, table.per_bucket[ver] * (last - first + 1) / length)

    plan[rows] = part(old, prev_day[rows] + 1, effective - 1) + part(new, effective, plan_day[rows])


def _version_in_force(series: Ints, days: Ints, table: PlanTable) -> Ints:
    """Return the index of the version in force on each (series, day), or −1 without a plan."""
    if table.series.size == 0:
        return np.full(series.size, -1, dtype=np.int64)
    first = np.full(int(max(series.max(initial=0), table.series.max()) + 1), -1, dtype=np.int64)
    first[table.series[::-1]] = np.arange(table.series.size - 1, -1, -1)
    found = first[series]
    if np.unique(table.series).size == table.series.size:
        return found  # one version per series: no search needed
    keys = (table.series << 31) + (table.effective + _DAY_BIAS)
    wanted = (series << 31) + (days + _DAY_BIAS)
    searched = np.searchsorted(keys, wanted, side="right") - 1
    return np.where(found >= 0, np.maximum(searched, found), -1)


def value_at(version: Ints, days: Ints, cycle_start: Ints, cycle_end: Ints, table: PlanTable) -> Floats:
    """Return each version's plan value at the end of each day (per-bucket forms: their value)."""
    form = table.form[version]
    value = table.per_bucket[version]
    phased = np.flatnonzero(form == PHASED)
    if phased.size:
        v = version[phased]
        d, start, end = days[phased], cycle_start[phased], cycle_end[phased]
        share = np.clip((d + 1 - start) / (end + 1 - start), 0.0, 1.0)
        phasing = table.phasing[v]
        for code, shaped in ((1, np.sqrt), (2, np.square)):
            chosen = phasing == code
            if chosen.any():
                share[chosen] = shaped(share[chosen])
        stepped = phasing == 3
        if stepped.any():
            share[stepped] = _step_share(d[stepped], start[stepped], end[stepped])
        base = table.baseline[v]
        value[phased] = base + (table.target[v] - base) * share
    on_points = np.flatnonzero(form == POINTS)
    if on_points.size:
        value[on_points] = _interpolate(version[on_points], days[on_points], table)
    return value


def _step_share(days: Ints, cycle_start: Ints, cycle_end: Ints) -> Floats:
    """Return the share of steps passed by the end of each day: one step per calendar month."""
    # Month numbers from a small per-day table: calendar arithmetic once per distinct day.
    low = int(min(days.min(), cycle_start.min()))
    span = np.arange(low, int(max(days.max(), cycle_end.max())) + 2)
    months = month_index(span)
    month_ends = months[1:] != months[:-1]
    month = months[days - low]
    first = months[cycle_start - low]
    steps = months[cycle_end - low] - first + 1
    passed = month - first + month_ends[days - low]
    passed = np.where(days >= cycle_end, steps, np.where(days < cycle_start, 0, passed))
    share: Floats = np.clip(passed / steps, 0.0, 1.0)
    return share


def _interpolate(version: Ints, days: Ints, table: PlanTable) -> Floats:
    """Return the points plan interpolated linearly at each day, held flat outside its points."""
    keys = (table.point_version << 31) + (table.point_day + _DAY_BIAS)
    wanted = (version << 31) + (days + _DAY_BIAS)
    after = np.searchsorted(keys, wanted, side="right")
    before = after - 1
    last = table.point_version.size - 1
    has_before = (before >= 0) & (table.point_version[np.clip(before, 0, last)] == version)
    has_after = (after <= last) & (table.point_version[np.clip(after, 0, last)] == version)
    b = np.clip(before, 0, last)
    a = np.clip(after, 0, last)
    d0, y0 = table.point_day[b], table.point_value[b]
    d1, y1 = table.point_day[a], table.point_value[a]
    span = np.where(d1 > d0, d1 - d0, 1)
    between = y0 + (y1 - y0) * (days - d0) / span
    return np.where(
        has_before & has_after, between, np.where(has_before, y0, np.where(has_after, y1, np.nan))
    )
