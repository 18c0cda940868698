"""Benchmark the planned-vs-actual engine on a synthetic organisation.

Generates KPIs with daily points (default 10,000 KPIs × 3 years ≈ 11 M points), KRs, objectives
and random weighted KPI → KR links, then times ``evaluate_model`` (buckets, variance, status,
forecast, roll-up, threats, impact, resources, results) against a floor: one polars group-by sum
over the same points, timed in the same run. The chart frame (``Evaluation.buckets``, one row per
series and bucket) and the lead-lag check are built on first use; their times are printed apart.
Prints the medians of a few runs and the peak RSS; the last line is exactly
``evaluate: <points> points, <seconds> s, floor <seconds> s, ratio <x>``.

    python bench/evaluate.py [--kpis 10000] [--days 1095] [--runs 3] [--seed 7]

The KPIs' cycle spans all the data and half a year beyond it, so every point is bucketed and
every series is forecast (the worst case; a real quarter touches far fewer points).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import resource
import statistics
import sys
import time
from typing import cast

import numpy as np
import polars as pl

from onpace.domain.engine import evaluate_model
from onpace.domain.model import (
    Aggregate,
    Cycle,
    Feed,
    Initiative,
    KeyResult,
    Kpi,
    KpiKind,
    Model,
    Objective,
    Plan,
    Threshold,
    Tolerance,
)

START = dt.date(2023, 1, 2)


def build_model(kpis: int, days: int, rng: np.random.Generator) -> Model:
    """Return a synthetic organisation with ``kpis`` KPIs, a fifth as many KRs, a twentieth objectives."""
    end = START + dt.timedelta(days=days + 182)
    cycle = Cycle("long", START, end)
    n_krs = max(1, kpis // 5)
    n_objectives = max(1, kpis // 20)
    kr_ids = [f"kr{i}" for i in range(n_krs)]
    kr_kpi = {kr: f"k{rng.integers(kpis)}" if rng.random() < 0.5 else None for kr in kr_ids}
    grains = rng.choice(["week", "day", "month"], size=kpis, p=[0.6, 0.2, 0.2])
    flows = rng.random(kpis) < 0.4
    directions = rng.choice(["up", "down", "range"], size=kpis, p=[0.7, 0.25, 0.05])
    phasing = rng.choice(["linear", "front", "back", "step"], size=kpis)
    forms = rng.choice(["phased", "per_bucket", "points"], size=kpis, p=[0.6, 0.3, 0.1])
    feeds_per_kpi = rng.integers(0, 3, size=kpis)
    formula_every = 50
    out: list[Kpi] = []
    for i in range(kpis):
        flow = bool(flows[i])
        base = 100.0
        if forms[i] == "phased":
            total = base * days if flow else base
            plan = Plan(
                baseline=0.0 if flow else base, target=total * 1.3 if flow else base * 1.2, phasing=phasing[i]
            )
        elif forms[i] == "per_bucket":
            plan = Plan(per_bucket=base * {"day": 1, "week": 7, "month": 30}[grains[i]] if flow else base)
        else:
            mid = START + dt.timedelta(days=days // 2)
            plan = Plan(
                points=((START, 0.0 if flow else base), (mid, base * days / 2 if flow else base * 1.1))
            )
        if directions[i] == "range":
            plan = Plan(per_bucket=base, band=(base * 0.9, base * 1.1))
            flow = False
        feeds = tuple(
            Feed(
                kr_ids[int(rng.integers(n_krs))],
                float(np.round(rng.uniform(0.1, 1.0), 2)),
                int(rng.integers(0, 21)),
            )
            for _ in range(int(feeds_per_kpi[i]))
        )
        formula = None
        if i % formula_every == formula_every - 1 and i >= 2:
            formula = f"k{i - 1} / k{i - 2}"
            flow = False
            plan = Plan(per_bucket=1.0)
        out.append(
            Kpi(
                id=f"k{i}",
                title=f"KPI {i}",
                unit=None,
                owners=("owner",),
                measure="flow" if flow else ("ratio" if formula else "level"),
                direction=directions[i],
                grain=grains[i],
                aggregate="sum" if flow else cast(Aggregate, str(rng.choice(["mean", "last", "max", "min"]))),
                tolerance=Tolerance(Threshold(0.05, True), Threshold(0.1, True)) if i % 3 else None,
                plan=plan,
                leading=bool(rng.random() < 0.3),
                feeds=feeds,
                formula=formula,
                kind=cast(KpiKind, str(rng.choice(["outcome", "cost", "capacity"], p=[0.9, 0.05, 0.05]))),
                cycle="long",
            )
        )
    objectives: list[Objective] = []
    per_objective = np.array_split(np.arange(n_krs), n_objectives)
    for o, members in enumerate(per_objective):
        krs = tuple(
            KeyResult(
                id=kr_ids[j],
                title=f"KR {j}",
                objective=f"o{o}",
                owner="owner",
                weight=float(rng.integers(1, 4)),
                kpi=kr_kpi[kr_ids[j]],
            )
            for j in members
        )
        objectives.append(
            Objective(
                id=f"o{o}", title=f"Objective {o}", cycle="long", unit=None, owner="owner", key_results=krs
            )
        )
    initiatives = tuple(
        Initiative(
            f"i{n}",
            f"Initiative {n}",
            "owner",
            None,
            supports=(kr_ids[int(rng.integers(n_krs))],),
            cost=f"k{int(rng.integers(kpis))}",
            capacity=f"k{int(rng.integers(kpis))}",
        )
        for n in range(max(1, kpis // 100))
    )
    return Model(
        org="Bench", cycles=(cycle,), objectives=tuple(objectives), kpis=tuple(out), initiatives=initiatives
    )


def build_points(kpis: int, days: int, rng: np.random.Generator) -> pl.DataFrame:
    """Return one point per KPI and day: a noisy trend around 100 (flows: daily amounts)."""
    day = np.tile(np.arange(days, dtype=np.int32), kpis)
    which = np.repeat(np.arange(kpis, dtype=np.int32), days)
    drift = rng.normal(0.0, 0.0004, size=kpis)[which]
    noise = rng.normal(0.0, 3.0, size=day.size)
    value = 100.0 * (1.0 + drift * day) + noise
    epoch = (START - dt.date(1970, 1, 1)).days
    return pl.DataFrame(
        {
            "metric": pl.Series("metric", np.array([f"k{i}" for i in range(kpis)]))[which],
            "date": pl.Series("date", day + epoch, dtype=pl.Int32).cast(pl.Date),
            "value": value,
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=1_095)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    model = build_model(args.kpis, args.days, rng)
    points = build_points(args.kpis, args.days, rng)
    as_of = START + dt.timedelta(days=args.days - 1)
    print(
        f"model: {len(model.kpis)} KPIs, {len(model.key_results)} KRs, {len(model.objectives)} objectives, "
        f"{sum(len(k.feeds) for k in model.kpis)} links; {points.height} points; as of {as_of}"
    )
    floors: list[float] = []
    totals: list[float] = []
    cpu: list[float] = []
    charts: list[float] = []
    leadlags: list[float] = []
    evaluation = None
    for _ in range(args.runs):
        evaluation = None
        gc.collect()
        started = time.perf_counter()
        points.group_by("metric").agg(pl.col("value").sum())
        floors.append(time.perf_counter() - started)
        started, started_cpu = time.perf_counter(), time.process_time()
        evaluation = evaluate_model(model, points, as_of)
        totals.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        started = time.perf_counter()
        assert evaluation.buckets.height > 0
        charts.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert evaluation.leadlag.height > 0
        leadlags.append(time.perf_counter() - started)
    assert evaluation is not None
    statuses = (
        evaluation.subjects.group_by("level", "effective_status").len().sort("level", "effective_status")
    )
    for level, status, count in statuses.iter_rows():
        print(f"  {level:<9} {status:<9} {count}")
    print(
        f"  threats {evaluation.threats.height}, impact rows {evaluation.impact.height}, "
        f"bucket rows {evaluation.buckets.height}, lead-lag links {evaluation.leadlag.height}"
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    floor = statistics.median(floors)
    total = statistics.median(totals)
    print(
        f"runs: evaluate {', '.join(f'{t:.2f}' for t in totals)} s (cpu {', '.join(f'{t:.2f}' for t in cpu)} s)"
    )
    print(f"      floor {', '.join(f'{t:.3f}' for t in floors)} s")
    print(
        f"on first use: bucket chart frame {statistics.median(charts):.2f} s, "
        f"lead-lag {statistics.median(leadlags):.2f} s (medians)"
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; peak RSS {peak_mb:.0f} MB")
    print(f"evaluate: {points.height} points, {total:.2f} s, floor {floor:.3f} s, ratio {total / floor:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
