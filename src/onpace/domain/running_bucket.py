"""Draw the running bucket as the figures judge it: at the plan owed so far, not the whole bucket's plan.

A flow KPI's chart adds up its plan bucket by bucket, so the bucket that holds the as-of date
and ends after it would be drawn against its whole plan, while the status compares the actual
with only the part owed so far (docs/semantics.md, "The unfinished bucket"). The chart takes
that owed figure from the verdict, the one source of it, and draws the actual to date on the
as-of date against it; the running bucket's end keeps its whole plan and the forecast (with
its band, which starts from the actual to date), so the plan line still runs to the cycle's end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any


def running_index(starts: Sequence[dt.date], ends: Sequence[dt.date], as_of: dt.date) -> int | None:
    """Return the index of the bucket that holds ``as_of`` and ends after it, or None."""
    return next((i for i, (s, e) in enumerate(zip(starts, ends, strict=True)) if s <= as_of < e), None)


def owed_rows(rows: Sequence[Mapping[str, Any]], as_of: dt.date, owed: float | None) -> list[dict[str, Any]]:
    """Return chart rows with a point on ``as_of``: the running bucket's actual against ``owed``.

    ``rows`` have ``bucket_start``, ``bucket_end``, ``plan_to_date``, ``actual_to_date`` and
    optionally ``forecast``, ``lo``, ``hi``; ``owed`` is the verdict's plan to date as of
    ``as_of`` (None leaves the rows as they are). The running bucket's own row keeps its plan
    and forecast at its end and loses its actual, which is not known there yet.
    """
    out = [dict(row) for row in rows]
    if owed is None:
        return out
    index = running_index([r["bucket_start"] for r in out], [r["bucket_end"] for r in out], as_of)
    if index is None:
        return out
    running = out[index]
    actual = running.get("actual_to_date")
    today = {**running, "bucket_end": as_of, "plan_to_date": owed}
    if "forecast" in running:
        today.update(forecast=actual, lo=actual, hi=actual)
    running["actual_to_date"] = None
    out.insert(index, today)
    return out


def owed_plan(
    starts: Sequence[dt.date],
    ends: Sequence[dt.date],
    plan: Sequence[float | None],
    as_of: dt.date,
    owed: float | None,
) -> tuple[float | None, ...]:
    """Return a plan-to-date line whose running bucket holds ``owed`` (for charts drawn by bucket)."""
    line = list(plan)
    index = running_index(starts, ends, as_of) if owed is not None else None
    if index is not None:
        line[index] = owed
    return tuple(line)
