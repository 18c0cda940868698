"""The unfinished bucket is not a debt: how much of the plan a flow KPI owes in the bucket still running.

Rule (DESIGN.md §4, written out in docs/semantics.md). Figures are as of the end of the as-of
date. Every bucket that ended before the as-of date is owed in full, and so is a week or month
that ends on it (its days are over). The bucket that holds the as-of date and ends after it has
not ended — monthly revenue may be booked on its last day, weekly uploads may come on Fridays —
so it is owed only through the last day that has data in it: nothing while it has no data,
``(last day with data − first day + 1) / days in the bucket`` of its plan once it has some; its
actual counts in full. The as-of day of a daily KPI is the same: owed once it has data (a daily
load often lands the next morning), in full from the next day on. A series whose data has gone
stale is judged as of its last point, as before (that bucket prorated by days up to it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
NOTHING = -(1 << 40)


def _unfinished(first: Ints, last: Ints, row_to: Ints, today: int) -> Bools:
    """Return which rows are the running bucket: holding ``today`` and ending after it, or a day."""
    running: Bools = (
        (first <= today) & ((today < last) | (first == last)) & (last >= today) & (row_to == today)
    )
    return running


def owed_share(first: Ints, last: Ints, last_day: Ints, *, row_to: Ints, today: int) -> Floats:
    """Return the share of each bucket row's plan owed by its series' figures date ``row_to``.

    ``first``/``last``: the row's days inside the cycle; ``last_day``: its last day with a point
    (anything before ``first`` when it has none); ``today``: the as-of day.
    """
    elapsed = np.clip((row_to - first + 1) / (last - first + 1), 0.0, 1.0)
    unfinished = _unfinished(first, last, row_to, today)
    through = np.where(last_day >= first, np.minimum(last_day, row_to), first - 1)
    with_data = np.clip((through - first + 1) / (last - first + 1), 0.0, 1.0)
    return np.where(unfinished, with_data, elapsed)


def owed_through(first: Ints, last: Ints, last_day: Ints, *, row_to: Ints, today: int) -> Ints:
    """Return, per bucket row, the last day of it that is owed (before ``first`` when none is).

    Rows that start after the figures date owe nothing (``NOTHING``), so the latest owed day of
    a group of rows (a week of daily rows) is their maximum.
    """
    unfinished = _unfinished(first, last, row_to, today)
    through = np.where(last_day >= first, np.minimum(last_day, row_to), first - 1)
    owed = np.where(unfinished, through, np.minimum(row_to, last))
    return np.where(first > row_to, NOTHING, owed).astype(np.int64)
