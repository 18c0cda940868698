"""What-if: shift one or more KPIs' as-of actuals and list every subject whose status flips.

A :class:`Shift` moves a series' *as-of actual*: for a level (or ratio) series the value of its
latest bucket with data, for a flow series its cumulative actual to date (every bucket of the
cycle to date is scaled; "to a value" scales them so the cumulative equals it). ``pct`` is a
signed percentage of the actual (``-5`` = the KPI slips 5 %); ``value`` sets the actual. A
series without data gets the value in the bucket holding ``as_of``. Shifting a KR measured by a
KPI shifts that KPI. The shift is applied to the shifted series itself (formula KPIs built from
it keep their own inputs); the forecast, roll-up and threats are then recomputed, and
:func:`what_if` returns the subjects whose effective status (at risk folded in) changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from onpace.domain.calendar import Layout
from onpace.domain.model import Model, PlanVersion

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

_LEVEL_ORDER = {"kpi": 0, "kr": 1, "objective": 2}


@dataclass(frozen=True)
class Shift:
    """Move an as-of actual by ``pct`` percent (signed) or to ``value``; give exactly one."""

    pct: float | None = None
    value: float | None = None

    def __post_init__(self) -> None:
        if (self.pct is None) == (self.value is None):
            raise ValueError("a what-if shift needs exactly one of pct (a signed percentage) or value")


@dataclass(frozen=True)
class Flip:
    """A subject whose effective status changes under the what-if."""

    subject: str
    level: str
    before: str
    after: str


def what_if(
    model: Model,
    points: pl.DataFrame,
    as_of: dt.date,
    shifts: Mapping[str, Shift],
    plan_versions: Mapping[str, Sequence[PlanVersion]] | None = None,
) -> list[Flip]:
    """Return what changes status when ``shifts`` are applied to the as-of actuals.

    Raise ValueError naming a shifted id that is not a KPI or a KR with its own KPI or series.
    """
    from onpace.domain.engine import evaluate_model, run

    resolved = resolve_shifts(model, shifts)
    before = evaluate_model(model, points, as_of, plan_versions)
    after = run(model, points, as_of, plan_versions, resolved)
    flips: list[Flip] = []
    for subject, old in before.results.items():
        new = after.results.get(subject)
        if new is not None and new.effective_status != old.effective_status:
            flips.append(Flip(subject, old.level, old.effective_status, new.effective_status))
    return sorted(flips, key=lambda f: (_LEVEL_ORDER.get(f.level, 3), f.subject))


def resolve_shifts(model: Model, shifts: Mapping[str, Shift]) -> dict[str, Shift]:
    """Map each shifted id to the series it moves (a KR measured by a KPI moves that KPI)."""
    kpis = {k.id for k in model.kpis}
    via_kpi = {kr.id: kr.kpi for kr in model.key_results if kr.kpi}
    own_series = {kr.id for kr in model.key_results if kr.kpi is None and kr.plan is not None}
    resolved: dict[str, Shift] = {}
    for subject, shift in shifts.items():
        if subject in kpis or subject in own_series:
            resolved[subject] = shift
        elif subject in via_kpi and via_kpi[subject] in kpis:
            resolved[str(via_kpi[subject])] = shift
        else:
            raise ValueError(f"what-if: {subject!r} is not a KPI or a KR with its own KPI or series")
    return resolved


def shift_rows(
    actual: Floats,
    last_day: Ints,
    lay: Layout,
    *,
    flow: npt.NDArray[np.bool_],
    opening: Floats,
    shifts: Mapping[int, Shift],
    as_of: int,
) -> tuple[Floats, Ints]:
    """Return bucket actuals (and last days) with the shifts applied to the shifted series.

    ``shifts`` is keyed by series index; a loop over the (few) shifts, not over series.
    """
    actual = actual.copy()
    last_day = last_day.copy()
    for series, shift in shifts.items():
        rows = np.arange(lay.offset[series], lay.offset[series] + lay.count[series])
        seen = rows[lay.start[rows] <= as_of]
        if seen.size == 0:
            continue
        with_data = seen[~np.isnan(actual[seen])]
        now = seen[-1]
        if flow[series]:
            total = float(np.nansum(actual[with_data]))
            if shift.pct is not None:
                actual[with_data] *= 1 + shift.pct / 100
            elif total != 0:
                actual[with_data] *= (float(shift.value or 0.0) - opening[series]) / total
            else:
                actual[now] = float(shift.value or 0.0) - opening[series]
        elif with_data.size:
            latest = with_data[-1]
            actual[latest] = actual[latest] * (1 + shift.pct / 100) if shift.pct is not None else shift.value
        elif shift.value is not None:
            actual[now] = shift.value
        touched = seen[~np.isnan(actual[seen]) & (last_day[seen] < 0)]
        last_day[touched] = np.minimum(lay.end[touched], as_of)
    return actual, last_day
