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


def owed_shares(
    first: Ints, last: Ints, last_day: Ints, series: Ints, *, row_to: Ints, to_date: Ints, today: int
) -> tuple[Floats, Ints]:
    """Return the share of each bucket row's plan owed to date, and each series' last owed day.

    Per row: ``first``/``last`` its days inside the cycle, ``last_day`` its last day with a point
    (anything before ``first`` when it has none), ``series`` its series and ``row_to`` that
    series' figures date; per series ``to_date``; ``today`` is the as-of day. Rows ending by the
    figures date are owed in full and later rows not at all; the running bucket (see the module)
    through its last day with data. Owed days run without a gap from the cycle's start to the
    returned day, so the rest of a bucket still to come is ``last − max(that day, first − 1)``.
    """
    share = np.clip((row_to - first + 1) / (last - first + 1), 0.0, 1.0)
    owed_until = to_date.copy()
    holding = np.flatnonzero((first <= today) & (last >= today))
    # A week or month ending today is over; a day is running until it has data; stale series
    # are judged at their last point (row_to before today).
    running = holding[
        ((first[holding] == last[holding]) | (last[holding] > today)) & (row_to[holding] == today)
    ]
    if running.size:
        lo, hi, seen = first[running], last[running], last_day[running]
        through = np.where(seen >= lo, np.minimum(seen, today), lo - 1)
        share[running] = (through - lo + 1) / (hi - lo + 1)
        owed_until[series[running]] = through
    return share, owed_until.astype(np.int64)
