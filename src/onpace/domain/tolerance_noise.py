"""Measure each KPI's own noise and flag a red tolerance narrower than it (``noisy_tolerance``).

A status is the deviation from plan judged against the tolerance. When the deviation moves from
one bucket to the next by about as much as the red threshold, red comes and goes with ordinary
swings: alarms that mean nothing, the "reporting fatigue" the product must avoid. The rule
(docs/semantics.md, "A tolerance narrower than the KPI's own noise"):

- *noise*: the median absolute one-step change of the deviation from plan (bucket actual −
  bucket plan) over the most recent :data:`HISTORY` + 1 complete buckets of the cycle (a year of
  weeks), between consecutive ones that have data — for a level or ratio KPI the bucket's value,
  for a flow KPI the bucket's amount (a bucket the cycle cuts is scaled to a whole one). Taking
  the deviation, not the value, means a plan that follows the swings (a seasonal plan, a phased
  one) clears the finding. The change is relative to the later bucket's plan when the red
  threshold is relative, in the KPI's units when it is absolute. For a series without trend and
  with independent noise of standard deviation σ, the median one-step change is about σ.
- raised when the red threshold is narrower than :data:`FACTOR` × the noise (:data:`FLOW_FACTOR`
  for a flow KPI, see below), on a KPI with at least :data:`MIN_BUCKETS` buckets of evidence, a
  plan and no green band (``range`` with a band is judged on the band's edges, not on the plan);
- the recommended red threshold is that factor × the noise, rounded up (to a whole per cent,
  or to two significant figures in the KPI's units).

A level KPI is judged bucket by bucket, so every bucket meets the noise afresh: with red at 2 × the
noise (about 2 σ) an ordinary swing is red about one bucket in twenty, which over 13 buckets is
already more likely than not. A flow KPI is judged on its total to date, whose relative swing after k buckets is about
noise / √k: ordinary swings turn it red early in a cycle only. Summed over a cycle's buckets,
red at 1 × the noise gives about as many red statuses from ordinary swings (Σₖ P(|z| > √k) ≈ 0.66)
as 2 × does for a level KPI over 13 buckets (13 × P(|z| > 2) ≈ 0.6), hence :data:`FLOW_FACTOR`.

Everything is vectorised: the rows of each series' recent buckets are gathered by calendar
arithmetic, the changes taken on them at once, and the medians read from a table sorted along its
rows; no Python loop over series.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from onpace.domain.calendar import MONTH, WEEK, Layout, month_index, week_number
from onpace.domain.hygiene import Finding
from onpace.domain.model import Model

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

#: A red threshold narrower than this many times the noise is raised.
FACTOR = 2.0
#: The same for a flow KPI, judged on its total to date (see the module docstring).
FLOW_FACTOR = 1.0
#: Buckets with data needed before the noise is evidence (five one-step changes).
MIN_BUCKETS = 6
#: Only the most recent HISTORY + 1 complete buckets count (a year of weeks): recent noise is what
#: the next alarms will meet, and it keeps long cycles cheap.
HISTORY = 52


@dataclass(frozen=True)
class Noise:
    """One KPI's measured noise next to its red threshold.

    ``noise`` and ``red`` are shares of plan (0.12 = 12 %) when ``relative``, else in the KPI's
    units; ``buckets`` is the evidence (buckets with data the changes were taken between).
    """

    noise: float
    red: float
    relative: bool
    buckets: int
    factor: float = FACTOR

    @property
    def recommended(self) -> float:
        """Return the narrowest red threshold the noise allows: the factor × noise, rounded up."""
        wide = self.factor * self.noise
        if self.relative:
            return math.ceil(wide * 100 - 1e-9) / 100
        if wide <= 0:
            return 0.0
        step = 10.0 ** (math.floor(math.log10(wide)) - 1)
        return math.ceil(wide / step - 1e-9) * step


def segment_median(values: Floats, groups: Ints, size: int) -> tuple[Floats, Ints]:
    """Return the median of ``values`` per group 0 … size − 1 (NaN for none) and the counts.

    ``groups`` are sorted; each group holds few values (at most :data:`HISTORY`), so the values
    are laid out one row per group and sorted along the rows.
    """
    median = np.full(size, np.nan)
    count = np.bincount(groups, minlength=size).astype(np.int64)
    if values.size == 0:
        return median, count
    present = np.flatnonzero(count)
    row = np.searchsorted(present, groups)
    start = (np.cumsum(count) - count)[groups]
    table = np.full((present.size, int(count.max())), np.inf)
    table[row, np.arange(groups.size) - start] = values
    table.sort(axis=1)
    c = count[present]
    median[present] = (
        table[np.arange(present.size), (c - 1) // 2] + table[np.arange(present.size), c // 2]
    ) / 2
    return median, count


def one_step_changes(
    groups: Ints, deviation: Floats, plan: Floats, *, relative: Bools
) -> tuple[Floats, Ints]:
    """Return the one-step changes of consecutive rows of each group, and their groups.

    Rows are sorted by group, in bucket order, and all usable (the caller drops buckets without
    data). A change is |Δ deviation|, over |the later row's plan| where the group's threshold is
    relative (a zero plan gives no change).
    """
    if groups.size < 2:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    later = np.flatnonzero(groups[1:] == groups[:-1]) + 1
    step = np.abs(deviation[later] - deviation[later - 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(relative[groups[later]], step / np.abs(plan[later]), step)
    keep = np.isfinite(scaled)
    return scaled[keep], groups[later][keep].astype(np.int64)


def recent_rows(lay: Layout, cycle_end: Ints, today: int, judged: Bools) -> Ints:
    """Return the rows of each judged series' most recent HISTORY + 1 complete buckets, in order.

    A series' rows are in time order, so its complete buckets (ended by ``today``, or by its
    cycle's end) are a prefix of them; only the tail of that prefix is gathered, which keeps the
    cost bounded by HISTORY per series however long the cycle.
    """
    # The row holding today, from the calendar arithmetic of the layout (``base[s] + unit``).
    day = np.full(lay.grain.size, today, dtype=np.int64)
    unit = np.where(
        lay.grain == WEEK,
        week_number(day, lay.week_start),
        np.where(lay.grain == MONTH, month_index(day), day),
    )
    row = np.clip(lay.base + unit, lay.offset, lay.offset + lay.count - 1)
    done = np.minimum(lay.end[row], cycle_end) <= today
    complete = np.where(lay.count > 0, row - lay.offset + done, 0)
    width = np.where(judged, np.minimum(complete, HISTORY + 1), 0)
    first = lay.offset + complete - width
    total = int(width.sum())
    inside = np.arange(total) - np.repeat(np.cumsum(width) - width, width)
    rows: Ints = np.repeat(first, width) + inside
    return rows


def measure(
    lay: Layout,
    plan: Floats,
    actual: Floats,
    *,
    flow: Bools,
    cycle_start: Ints,
    cycle_end: Ints,
    today: int,
    red: Floats,
    red_rel: Bools,
    judged: Bools,
) -> tuple[Floats, Ints, Bools]:
    """Return, per series, the noise, the buckets of evidence and whether ``noisy_tolerance`` holds.

    ``plan``/``actual`` are the layout's bucket rows (level, or flow amount); ``red``/``red_rel``
    the red thresholds; ``judged`` the series the rule applies to (KPIs with a plan and no band).
    """
    n = flow.size
    rows = recent_rows(lay, cycle_end, today, judged)
    rs = lay.series[rows]
    first = np.maximum(lay.start[rows], cycle_start[rs])
    last = np.minimum(lay.end[rows], cycle_end[rs])
    keep = ~np.isnan(actual[rows]) & ~np.isnan(plan[rows]) & (first <= last)
    rows, rs, first, last = rows[keep], rs[keep], first[keep], last[keep]
    # A flow bucket the cycle cuts holds part of a bucket's amount: scale it to a whole one.
    whole = np.where(
        flow[rs], (lay.end[rows] - lay.start[rows] + 1) / (last - first + 1).astype(np.float64), 1.0
    )
    deviation = (actual[rows] - plan[rows]) * whole
    changes, owners = one_step_changes(rs, deviation, plan[rows] * whole, relative=red_rel)
    noise, count = segment_median(changes, owners, n)
    buckets = np.where(count > 0, count + 1, np.bincount(rs, minlength=n)).astype(np.int64)
    with np.errstate(invalid="ignore"):
        flagged = judged & (buckets >= MIN_BUCKETS) & (red < factors(flow) * noise)
    return noise, buckets, flagged


def factors(flow: Bools) -> Floats:
    """Return each series' factor: :data:`FLOW_FACTOR` for flow, :data:`FACTOR` for the others."""
    factor: Floats = np.where(flow, FLOW_FACTOR, FACTOR)
    return factor


def readings(
    ids: list[str],
    noise: Floats,
    buckets: Ints,
    flagged: Bools,
    *,
    red: Floats,
    red_rel: Bools,
    flow: Bools,
) -> dict[str, Noise]:
    """Return the flagged series' readings by id (a loop over the flagged ones only)."""
    factor = factors(flow)
    return {
        ids[i]: Noise(float(noise[i]), float(red[i]), bool(red_rel[i]), int(buckets[i]), float(factor[i]))
        for i in np.flatnonzero(flagged).tolist()
    }


def _amount(value: float, relative: bool, unit: str | None) -> str:
    if relative:
        return f"{value * 100:.0f} %" if value >= 0.095 else f"{value * 100:.1f} %"
    text = f"{value:.3g}"
    return f"{text} {unit}" if unit else text


def noisy_tolerance_findings(model: Model, noise: Mapping[str, Noise]) -> list[Finding]:
    """Return a ``noisy_tolerance`` finding for each KPI whose reading says so, in model order."""
    found = []
    for kpi in model.kpis:
        reading = noise.get(kpi.id)
        if reading is None:
            continue
        flow = kpi.measure == "flow"
        what = f"its amount per {kpi.grain}" if flow else "its value"
        judged = " (it is judged on its total to date, which swings most early in a cycle)" if flow else ""
        of_plan = " of plan" if reading.relative else ""
        swing = _amount(reading.noise, reading.relative, kpi.unit)
        red = _amount(reading.red, reading.relative, kpi.unit)
        wider = _amount(reading.recommended, reading.relative, kpi.unit)
        found.append(
            Finding(
                kpi.id,
                "kpi",
                "noisy_tolerance",
                f"KPI {kpi.id}: {what} moves by about {swing}{of_plan} from one {kpi.grain} to the next, "
                f"beyond what its plan moves (the median over its last {reading.buckets} {kpi.grain}s), "
                f"but its red tolerance is {red}{judged}. Ordinary swings will turn it red and raise alarms that "
                f"mean nothing. Widen the red tolerance to at least {wider}, judge it at a coarser grain, "
                "or, if the swings are seasonal, plan it from a reference period (a seasonal plan).",
            )
        )
    return found
