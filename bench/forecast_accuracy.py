"""Measure the forecaster: end-of-cycle projections made at mid-cycle against what happened.

For every series, the engine is run as of the middle of its cycle and its ``forecast_end`` is
compared with the actual at the cycle's end (the engine run as of the last day). Two baselines
show whether the forecaster earns its keep:

- **naive**: the last value carries on — a level series ends where its last complete bucket is;
  a flow series adds its last complete bucket's amount for every bucket still to come;
- **plan**: the series ends on plan.

Series come from two places: synthetic series with known shapes (steady, drifting, breaking
mid-cycle, recovering, noisy; level and flow), and — optionally — the acceptance scenarios'
series, read from a folder given on the command line (default ``../shared/scenarios`` next to
the repository; skipped when absent). Prints a table of MAE and MAPE per family and a summary
line ``forecast_accuracy: …``.

    python bench/forecast_accuracy.py [SCENARIOS_FOLDER] [--series 200] [--seed 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from onpace.domain.engine import evaluate_model
from onpace.domain.model import Cycle, Kpi, Model, Plan

START = dt.date(2026, 1, 5)
WEEKS = 12
CYCLE = Cycle("Q", START, START + dt.timedelta(days=7 * WEEKS - 1))
Family = Literal["steady", "drift", "break", "recovery", "noisy"]
FAMILIES: tuple[Family, ...] = ("steady", "drift", "break", "recovery", "noisy")


@dataclass(frozen=True)
class Case:
    """One series to forecast: its family, model and points."""

    family: str
    model: Model
    points: pl.DataFrame
    cycle: Cycle


def synthetic_cases(count: int, rng: np.random.Generator) -> list[Case]:
    """Return ``count`` synthetic daily series per family, half level and half flow, in one model per family."""
    cases: list[Case] = []
    days = np.arange(7 * WEEKS)
    for family in FAMILIES:
        kpis: list[Kpi] = []
        frames: list[pl.DataFrame] = []
        for i in range(count):
            flow = i % 2 == 1
            base = 100.0
            slope = rng.normal(0, 0.15)
            noise = rng.normal(0, 1.5 if family != "noisy" else 8.0, days.size)
            shape: npt.NDArray[np.float64] = np.zeros(days.size)
            if family == "drift":
                shape = slope * days.astype(np.float64)
            elif family == "break":
                shape = np.where(days >= rng.integers(14, 42), -rng.uniform(8, 20), 0.0)
            elif family == "recovery":
                drop = rng.uniform(8, 20)
                shape = np.where((days >= 14) & (days < 49), -drop, 0.0)
            series = base + shape + noise
            name = f"{family}{i}"
            plan = Plan(per_bucket=base * 7) if flow else Plan(per_bucket=base)
            kpis.append(
                Kpi(
                    id=name,
                    title=name,
                    unit=None,
                    owners=("o",),
                    measure="flow" if flow else "level",
                    aggregate="sum" if flow else "mean",
                    plan=plan,
                    cycle="Q",
                )
            )
            frames.append(
                pl.DataFrame(
                    {
                        "metric": [name] * days.size,
                        "date": [START + dt.timedelta(days=int(d)) for d in days],
                        "value": series,
                    }
                )
            )
        model = Model(org="Synthetic", cycles=(CYCLE,), kpis=tuple(kpis))
        cases.append(Case(family, model, pl.concat(frames), CYCLE))
    return cases


def scenario_cases(folder: Path) -> list[Case]:
    """Return one case per scenario folder (its model and actuals), or none when absent."""
    if not folder.is_dir():
        return []
    from onpace.modelfile import load_model_file

    cases: list[Case] = []
    for path in sorted(folder.glob("*/onpace.yaml")):
        model = load_model_file(path)
        points = pl.read_csv(path.parent / "actuals.csv", try_parse_dates=True).select(
            "metric", pl.col("date").cast(pl.Date), pl.col("value").cast(pl.Float64)
        )
        cases.extend(Case(f"scenario:{path.parent.name}", model, points, cycle) for cycle in model.cycles[:1])
    return cases


def errors(case: Case) -> Iterable[tuple[str, float, float, float, float]]:
    """Yield (series, truth, ours, naive, plan) for every series of the case with a forecast."""
    length = (case.cycle.end - case.cycle.start).days + 1
    middle = case.cycle.start + dt.timedelta(days=(length // 14) * 7 - 1)
    mid = evaluate_model(case.model, case.points, middle)
    end = evaluate_model(case.model, case.points, case.cycle.end)
    for subject, now in mid.results.items():
        final = end.results.get(subject)
        if now.level != "kpi" or final is None or now.forecast_end is None or final.actual_to_date is None:
            continue
        chart = mid.chart([subject]).filter(pl.col("bucket_end") <= middle).drop_nulls("actual")
        if chart.height == 0 or now.actual_to_date is None:
            continue
        last_amount = float(chart["actual"][-1])
        remaining = mid.chart([subject]).filter(pl.col("bucket_end") > middle).height
        is_flow = mid.subjects.filter(subject=subject)["measure"].item() == "flow"
        naive = now.actual_to_date + last_amount * remaining if is_flow else last_amount
        plan = now.plan_end if now.plan_end is not None else naive
        yield subject, final.actual_to_date, now.forecast_end, naive, plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenarios", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "scenarios")
    )
    parser.add_argument("--series", type=int, default=200, help="synthetic series per family")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cases = [*synthetic_cases(args.series, rng), *scenario_cases(Path(args.scenarios))]
    rows: list[tuple[str, str, float, float, float, float]] = []
    for case in cases:
        rows.extend((case.family, *found) for found in errors(case))
    frame = pl.DataFrame(
        rows, schema=["family", "series", "truth", "ours", "naive", "plan"], orient="row"
    ).with_columns(
        [(pl.col(name) - pl.col("truth")).abs().alias(f"{name}_ae") for name in ("ours", "naive", "plan")]
    )
    scale = pl.when(pl.col("truth").abs() > 1e-9).then(pl.col("truth").abs()).otherwise(None)
    frame = frame.with_columns(
        [(pl.col(f"{n}_ae") / scale).alias(f"{n}_ape") for n in ("ours", "naive", "plan")]
    )
    table = (
        frame.group_by("family", maintain_order=True)
        .agg(
            pl.len().alias("series"),
            *[pl.col(f"{n}_ae").mean().alias(f"MAE {n}") for n in ("ours", "naive", "plan")],
            *[(pl.col(f"{n}_ape").mean() * 100).alias(f"MAPE% {n}") for n in ("ours", "naive", "plan")],
        )
        .sort("family")
    )
    with pl.Config(tbl_rows=50, tbl_cols=20, float_precision=2, tbl_hide_dataframe_shape=True):
        print(table)
    mae = {n: float(frame.select(pl.col(f"{n}_ae").mean()).item() or 0.0) for n in ("ours", "naive", "plan")}
    mape = {
        n: float(frame.select(pl.col(f"{n}_ape").mean()).item() or 0.0) * 100
        for n in ("ours", "naive", "plan")
    }
    print(
        f"forecast_accuracy: {frame.height} series, MAE ours {mae['ours']:.2f} vs naive {mae['naive']:.2f} "
        f"vs plan {mae['plan']:.2f}; MAPE ours {mape['ours']:.1f}% vs naive {mape['naive']:.1f}% "
        f"vs plan {mape['plan']:.1f}%"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
