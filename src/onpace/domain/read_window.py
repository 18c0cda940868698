"""Say which points an evaluation reads: its cost is bounded by its cycles and metrics, not by history.

The engine judges each series (a KPI, or a KR with its own plan) in one cycle and uses only the
points dated inside that cycle, up to the as-of date: staleness counts buckets since the last
bucket with data *in the cycle*, and the forecaster is fitted on the cycle's complete buckets
(its 52-bucket fit window lies inside the cycle). So no point dated before the earliest start of
the cycles the series are judged in can change an evaluation, and a store holding years of
history needs to hand the engine only the current cycles' points.

This module is the one place that knows that rule: when the cycle a series is judged in changes
(e.g. "the cycle in force as of a date"), :func:`evaluation_window` changes with it, and
:data:`LOOK_BACK` grows if the engine ever looks before a cycle's start.
"""

from __future__ import annotations

import datetime as dt

from onpace.domain.calendar import kpi_cycles, kr_cycles
from onpace.domain.model import Model

#: Past this many metrics an evaluation reads every metric of the window rather than listing them
#: (SQLite binds at most 32,766 values in one statement).
MAX_LISTED_METRICS = 20_000

#: Extra days read before the earliest cycle start. The engine reads nothing before a series'
#: cycle today (its windows start there), so none are needed.
LOOK_BACK = dt.timedelta(0)


def evaluation_window(model: Model, as_of: dt.date) -> dt.date:
    """Return the first date of the points an evaluation of ``model`` as of ``as_of`` can use.

    That is the earliest start of the cycles the model's series are judged in, less
    :data:`LOOK_BACK`. A model with no cycle judges no series and needs no point: the day after
    ``as_of`` is returned (nothing dated on or before ``as_of`` is read).
    """
    cycles = [c for c in kpi_cycles(model).values() if c is not None]
    cycles += [c for c in kr_cycles(model).values() if c is not None]
    if not cycles:
        return as_of + dt.timedelta(days=1)
    return min(c.start for c in cycles) - LOOK_BACK


def evaluation_metrics(model: Model) -> frozenset[str] | None:
    """Return the metrics whose points an evaluation of ``model`` can use: its KPIs' and KRs' ids.

    Listing them lets the store read each metric's dates by its (org, metric, date) key instead of
    walking every point of the organisation. None (read every metric) past
    :data:`MAX_LISTED_METRICS`.
    """
    metrics = frozenset(k.id for k in model.kpis) | frozenset(kr.id for kr in model.key_results)
    return metrics if len(metrics) <= MAX_LISTED_METRICS else None
