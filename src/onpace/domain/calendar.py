"""Bucket dates to days, weeks and months in the org's calendar, and find each subject's cycle.

A bucket is named by its first day. Weeks start on ``Calendar.week_start``; months are calendar
months. Dates are handled as day numbers (days since 1970-01-01) in numpy arrays.

The engine lays every series' buckets out densely (:class:`Layout`): the buckets of series ``s``
are rows ``offset[s] … offset[s] + count[s] − 1``, numbered ``k = 0, 1, …`` from the bucket
holding the cycle's first day to the bucket holding its last. A point's bucket row is then pure
arithmetic (no join), and per-series reductions run over contiguous row ranges.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from onpace.domain.model import Cycle, Grain, Model

Ints = npt.NDArray[np.int64]
Codes = npt.NDArray[np.integer[Any]]

EPOCH = dt.date(1970, 1, 1)
GRAIN_CODES: dict[str, int] = {"day": 0, "week": 1, "month": 2}
DAY, WEEK, MONTH = 0, 1, 2
# Day 0 (1970-01-01) is a Thursday: Monday-based weekday index 3.
_EPOCH_WEEKDAY = 3


def day_number(day: dt.date) -> int:
    """Return the number of days since 1970-01-01."""
    return (day - EPOCH).days


def from_day_number(number: int) -> dt.date:
    """Return the date of a day number."""
    return EPOCH + dt.timedelta(days=int(number))


def bucket_start(day: dt.date, grain: Grain, week_start: int = 0) -> dt.date:
    """Return the first day of the bucket holding ``day`` (``week_start``: Monday 0 … Sunday 6)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=(day.weekday() - week_start) % 7)
    return day.replace(day=1)


def bucket_end(day: dt.date, grain: Grain, week_start: int = 0) -> dt.date:
    """Return the last day of the bucket holding ``day``."""
    start = bucket_start(day, grain, week_start)
    if grain == "day":
        return start
    if grain == "week":
        return start + dt.timedelta(days=6)
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def buckets_between(first: dt.date, last: dt.date, grain: Grain, week_start: int = 0) -> list[dt.date]:
    """Return the start of every bucket that overlaps ``[first, last]``, in order."""
    starts: list[dt.date] = []
    current = bucket_start(first, grain, week_start)
    while current <= last:
        starts.append(current)
        current = bucket_end(current, grain, week_start) + dt.timedelta(days=1)
    return starts


def month_index(days: Ints) -> Ints:
    """Return the month number (months since January 1970) of each day number."""
    return np.asarray(days, dtype="datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_first_day(months: Ints) -> Ints:
    """Return the day number of the first day of each month number."""
    return np.asarray(months, dtype="datetime64[M]").astype("datetime64[D]").astype(np.int64)


def week_number(days: Ints, week_start: int) -> Ints:
    """Return the number of the week holding each day number (weeks counted from 1970)."""
    return (days + _EPOCH_WEEKDAY - week_start) // 7


def zone(name: str = "UTC") -> dt.tzinfo:
    """Return the time zone of an IANA name (``UTC`` for the default); raise ValueError for an unknown one."""
    if name == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone (use an IANA name such as Europe/Oslo)") from None


def end_of_day(day: dt.date, timezone: str = "UTC") -> dt.datetime:
    """Return the last second of ``day`` in the org's time zone, as a UTC moment.

    It is the moment an evaluation as of that day speaks for: a day ends at local midnight.
    """
    local = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone(timezone))
    return local.astimezone(dt.UTC)


def local_day(moment: dt.datetime, timezone: str = "UTC") -> dt.date:
    """Return the date ``moment`` falls on in the org's time zone (a naive moment is read as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone(timezone)).date()


@dataclass(frozen=True)
class Layout:
    """Dense bucket rows of every series (see the module docstring).

    Per series: ``grain`` code, ``count``, ``offset`` and ``base``: a point's bucket row is
    ``base[s] + unit`` where ``unit`` is its day number (day grain), week number (week grain) or
    month number (month grain). Per row: ``series``, ``k``, ``start`` and ``end`` day numbers.
    """

    grain: Ints
    count: Ints
    offset: Ints
    base: Ints
    series: Ints
    k: Ints
    start: Ints
    end: Ints
    week_start: int

    @property
    def rows(self) -> int:
        """Return the number of bucket rows."""
        return int(self.series.size)


def layout(grain: Ints, cycle_start: Ints, cycle_end: Ints, week_start: int) -> Layout:
    """Return the bucket rows covering each series' cycle at its grain."""
    units = np.where(grain == WEEK, week_number(cycle_start, week_start), cycle_start)
    last_units = np.where(grain == WEEK, week_number(cycle_end, week_start), cycle_end)
    is_month = grain == MONTH
    if is_month.any():
        units = np.where(is_month, month_index(cycle_start), units)
        last_units = np.where(is_month, month_index(cycle_end), last_units)
    count = np.maximum(last_units - units + 1, 1).astype(np.int64)
    offset = (np.cumsum(count) - count).astype(np.int64)
    series = np.repeat(np.arange(grain.size, dtype=np.int64), count)
    k = np.arange(series.size, dtype=np.int64) - offset[series]
    unit = units[series] + k
    row_grain = grain[series]
    week_origin = 7 * unit - _EPOCH_WEEKDAY + week_start
    start = np.where(row_grain == WEEK, week_origin, unit)
    end = np.where(row_grain == WEEK, week_origin + 6, unit)
    months = row_grain == MONTH
    if months.any():
        start[months] = month_first_day(unit[months])
        end[months] = month_first_day(unit[months] + 1) - 1
    return Layout(grain, count, offset, offset - units, series, k, start, end, week_start)


def unit_table(first_day: int, last_day: int, week_start: int) -> Ints:
    """Return a (3, span) table of the day, week and month number of every day in the span."""
    days = np.arange(first_day, last_day + 1, dtype=np.int64)
    return np.stack([days, week_number(days, week_start), month_index(days)])


def bucket_rows(series: Codes, days: Codes, lay: Layout, grain: Codes | None = None) -> Ints:
    """Return the bucket row of each (series, day) pair (the day must lie in the series' cycle).

    ``grain`` (per pair) can be given when the caller knows it without a lookup.
    """
    if days.size == 0:
        return np.zeros(0, dtype=np.int64)
    first = int(days.min())
    table = unit_table(first, int(days.max()), lay.week_start).astype(np.int32)
    codes = lay.grain[series] if grain is None else grain
    # Index into the flattened table as day + shift[grain]; int32 halves the memory traffic.
    shift = (np.arange(3, dtype=np.int32) * table.shape[1] - first).astype(np.int32)
    units = table.ravel()[days.astype(np.int32, copy=False) + shift[codes]]
    rows: Ints = lay.base[series] + units
    return rows


def kpi_cycles(model: Model) -> dict[str, Cycle | None]:
    """Return the cycle of every KPI: its own, else its KR's objective's, else the model's first.

    A KPI is tied to a KR when the KR measures it (``kr.kpi``) or the KPI feeds the KR; the
    first such KR in file order decides. Without cycles in the model the answer is None.
    """
    first = model.cycles[0] if model.cycles else None
    objective_cycle = {obj.id: model.cycle_of(obj.cycle) for obj in model.objectives}
    kr_cycle = {kr.id: objective_cycle.get(kr.objective) for kr in model.key_results}
    via_kr: dict[str, Cycle | None] = {}
    for kr in model.key_results:
        if kr.kpi is not None and kr.kpi not in via_kr:
            via_kr[kr.kpi] = kr_cycle.get(kr.id)
    result: dict[str, Cycle | None] = {}
    for kpi in model.kpis:
        own = model.cycle_of(kpi.cycle) if kpi.cycle else None
        if own is None:
            own = via_kr.get(kpi.id)
        if own is None:
            own = next((kr_cycle[f.kr] for f in kpi.feeds if kr_cycle.get(f.kr) is not None), None)
        result[kpi.id] = own if own is not None else first
    return result


def kr_cycles(model: Model) -> dict[str, Cycle | None]:
    """Return the cycle of every KR: its objective's, else the model's first."""
    first = model.cycles[0] if model.cycles else None
    result: dict[str, Cycle | None] = {}
    for obj in model.objectives:
        cycle = model.cycle_of(obj.cycle) or first
        for kr in obj.key_results:
            result[kr.id] = cycle
    return result
