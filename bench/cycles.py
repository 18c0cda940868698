"""Benchmark what reading a model as of a date costs when KPIs live across cycles.

Builds an organisation with ``--kpis`` weekly KPIs over a year of four quarters (each KPI planned
per quarter through ``plans:``, a KR per five KPIs in each quarter) and a point per KPI and week,
then times ``cycles.scope_as_of`` (the per-cycle scoping of the model and plan versions) against the
whole ``evaluate_model`` as of mid-Q3 (which also judges the open Q1 and Q2 objectives as of their
ends). Prints medians; the last line is exactly
``cycles: <kpis> KPIs, scoping <ms> ms, evaluate <s> s, share <percent>%``.

    python bench/cycles.py [--kpis 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import numpy as np
import polars as pl

from onpace.domain import cycles
from onpace.domain.engine import evaluate_model
from onpace.domain.model import Cycle, CyclePlan, KeyResult, Kpi, Model, Objective, Plan

QUARTERS = tuple(
    Cycle(
        f"2026-Q{q + 1}",
        dt.date(2025, 12, 29) + dt.timedelta(weeks=13 * q),
        dt.date(2026, 3, 29) + dt.timedelta(weeks=13 * q),
    )
    for q in range(4)
)


def build(kpis: int) -> tuple[Model, pl.DataFrame]:
    """Return the model and its points (one per KPI and week, around 100)."""
    items = [
        Kpi(
            id=f"k{i}",
            title=f"KPI {i}",
            unit=None,
            owners=("owner",),
            measure="flow" if i % 2 else "level",
            aggregate="sum" if i % 2 else "mean",
            plan=Plan(per_bucket=100.0),
            plans=tuple(
                CyclePlan(q.id, Plan(per_bucket=100.0 + 5 * n)) for n, q in enumerate(QUARTERS[1:], 1)
            ),
            constraint=True,
        )
        for i in range(kpis)
    ]
    objectives = tuple(
        Objective(
            f"o{q.id}-{j}",
            "Objective",
            q.id,
            None,
            "owner",
            key_results=tuple(
                KeyResult(f"kr{q.id}-{j}-{m}", "KR", f"o{q.id}-{j}", "owner", kpi=f"k{j * 25 + m * 5}")
                for m in range(5)
            ),
        )
        for q in QUARTERS
        for j in range(max(1, kpis // 25))
    )
    weeks = 52
    which = np.repeat(np.arange(kpis), weeks)
    day = np.tile(np.arange(weeks) * 7 + 2, kpis)
    epoch = (QUARTERS[0].start - dt.date(1970, 1, 1)).days
    points = pl.DataFrame(
        {
            "metric": pl.Series(np.array([f"k{i}" for i in range(kpis)]))[which],
            "date": pl.Series(day + epoch, dtype=pl.Int32).cast(pl.Date),
            "value": np.random.default_rng(7).normal(100.0, 5.0, size=which.size),
        }
    )
    return Model(org="Bench", cycles=QUARTERS, objectives=objectives, kpis=tuple(items)), points


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    model, points = build(args.kpis)
    as_of = dt.date(2026, 8, 16)
    scoping: list[float] = []
    totals: list[float] = []
    for _ in range(args.runs):
        started = time.perf_counter()
        cycles.scope_as_of(model, {}, as_of)
        scoping.append(time.perf_counter() - started)
        started = time.perf_counter()
        evaluation = evaluate_model(model, points, as_of)
        totals.append(time.perf_counter() - started)
    counts = evaluation.subjects.group_by("level", "cycle").len().sort("level", "cycle")
    for level, cycle, count in counts.iter_rows():
        print(f"  {level:<9} {cycle or '-':<8} {count}")
    scope, total = statistics.median(scoping), statistics.median(totals)
    print(
        f"runs: scoping {', '.join(f'{t * 1000:.0f}' for t in scoping)} ms; evaluate {', '.join(f'{t:.2f}' for t in totals)} s"
    )
    print(
        f"cycles: {args.kpis} KPIs, scoping {scope * 1000:.0f} ms, evaluate {total:.2f} s, share {scope / total * 100:.1f}%"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
