"""What-if: shift one or more KPIs' as-of actuals and list every subject whose status flips.

A :class:`Shift` moves a series' *as-of actual*: for a level (or ratio) series the value of its
latest bucket with data, for a flow series its cumulative actual to date (every bucket of the
cycle to date is scaled; "to a value" scales them so the cumulative equals it). ``pct`` is a
signed percentage of the actual (``-5`` = the KPI slips 5 %); ``value`` sets the actual. A
series without data gets the value in the bucket holding ``as_of``. Shifting a KR measured by a
KPI shifts that KPI. A formula KPI built on a shifted KPI follows it: its inputs reading the
shifted metric move by the same factor (so +50 % waste value moves waste %); a formula KPI shifted
itself is moved after it is computed. The forecast, roll-up and threats are then recomputed, and
:func:`what_if` returns the subjects whose shown status changes: the effective status (at risk
folded in) or, when worse, "threatened" (a KR fed by a red or at-risk KPI).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from onpace.domain.calendar import Layout
from onpace.domain.cases import VARIANCE_RANK
from onpace.domain.model import Model, PlanVersion
from onpace.domain.results import SubjectResult

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
        if new is not None and shown_status(new) != shown_status(old):
            flips.append(Flip(subject, old.level, shown_status(old), shown_status(new)))
    return sorted(flips, key=lambda f: (_LEVEL_ORDER.get(f.level, 3), f.subject))


def shown_status(result: SubjectResult) -> str:
    """Return the effective status, or "threatened" when the subject is threatened and that is worse."""
    status = result.effective_status
    if result.threatened_by and VARIANCE_RANK["threatened"] > VARIANCE_RANK.get(status, 0):
        return "threatened"
    return status


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


def follow_inputs(
    before: Floats,
    after: Floats,
    last_day: Ints,
    lay: Layout,
    *,
    flow: npt.NDArray[np.bool_],
    moved: Mapping[int, Sequence[int]],
    as_of: int,
) -> tuple[Floats, Ints]:
    """Move the formula inputs of each shifted series by the factor its shift applied.

    ``moved`` maps a shifted series to the hidden input series reading its metric; ``before`` and
    ``after`` are the bucket actuals around the shift. The factor is the shifted series' as-of
    actual after over before (cumulative for flow, latest bucket for level); an input is scaled
    the same way (every bucket to date, or its latest bucket with data). No factor without data.
    """
    actual = after.copy()
    for series, inputs in moved.items():
        rows = np.arange(lay.offset[series], lay.offset[series] + lay.count[series])
        seen = rows[(lay.start[rows] <= as_of) & ~np.isnan(before[rows])]
        if seen.size == 0:
            continue
        old = float(np.nansum(before[seen])) if flow[series] else float(before[seen[-1]])
        new = float(np.nansum(after[seen])) if flow[series] else float(after[seen[-1]])
        if old == 0 or not np.isfinite(new / old):
            continue
        factor = new / old
        for target in inputs:
            mine = np.arange(lay.offset[target], lay.offset[target] + lay.count[target])
            known = mine[(lay.start[mine] <= as_of) & ~np.isnan(actual[mine])]
            if known.size == 0:
                continue
            chosen = known if flow[series] else known[-1:]
            actual[chosen] = actual[chosen] * factor
    return actual, last_day


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
