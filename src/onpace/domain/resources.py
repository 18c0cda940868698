"""Show each initiative's spend and capacity against plan beside the KRs they are meant to move.

Cost and capacity KPIs are evaluated like any KPI; this module lines them up per initiative and
supported KR (one row each; an initiative supporting no KR gets one row with a null ``kr``).

- ``spend``/``spend_plan`` and ``capacity``/``capacity_plan`` are the KPIs' actual and plan to
  date, with the variance as a share of plan;
- a resource is **under plan** when its actual is at least 10 % below its plan to date, or its
  KPI is amber/red while below plan (the "under" side of its tolerance); an initiative is
  **starved** for a KR when its budget or capacity is under plan while that KR is off track
  (amber, red or at risk) — over-spending is never starving;
- **cost of progress** is the KR's progress to date per unit of spend to date, where progress is
  the share of the cycle's planned move achieved: ``(actual − plan at cycle start) / (plan at
  cycle end − plan at cycle start)`` (null when the plan does not move or nothing is spent).
"""

from __future__ import annotations

import polars as pl

from onpace.domain.model import Model

UNDER_SHARE = 0.10

SCHEMA: dict[str, pl.DataType] = {
    "initiative": pl.Utf8(),
    "kr": pl.Utf8(),
    "cost_kpi": pl.Utf8(),
    "capacity_kpi": pl.Utf8(),
}


def resources(model: Model, subjects: pl.DataFrame) -> pl.DataFrame:
    """Return one row per initiative and supported KR with spend, capacity, starved and cost of progress.

    ``subjects`` needs ``subject, status, at_risk, plan_to_date, actual_to_date, progress``.
    """
    rows = [
        (ini.id, kr, ini.cost, ini.capacity) for ini in model.initiatives for kr in (ini.supports or (None,))
    ]
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    figures = subjects.select("subject", "status", "at_risk", "plan_to_date", "actual_to_date", "progress")

    def side(prefix: str, key: str) -> pl.DataFrame:
        return figures.select(
            pl.col("subject").alias(key),
            pl.col("actual_to_date").alias(prefix),
            pl.col("plan_to_date").alias(f"{prefix}_plan"),
            pl.col("status").alias(f"{prefix}_status"),
        )

    frame = (
        frame.join(side("spend", "cost_kpi"), on="cost_kpi", how="left")
        .join(side("capacity", "capacity_kpi"), on="capacity_kpi", how="left")
        .join(
            figures.select(
                pl.col("subject").alias("kr"),
                pl.col("status").alias("kr_status"),
                pl.col("at_risk").alias("kr_at_risk"),
                pl.col("progress"),
            ),
            on="kr",
            how="left",
        )
    )
    off_track = pl.col("kr_status").is_in(["amber", "red"]) | (
        pl.col("kr_at_risk").fill_null(False) & (pl.col("kr_status") == "green")
    )
    return (
        frame.with_columns(
            spend_variance_pct=_share("spend"),
            capacity_variance_pct=_share("capacity"),
            kr_off_track=off_track.fill_null(False),
        )
        .with_columns(
            starved=(pl.col("kr_off_track") & (_under("spend") | _under("capacity"))).fill_null(False),
            cost_of_progress=pl.when(pl.col("spend") > 0)
            .then(pl.col("progress") / pl.col("spend"))
            .otherwise(None),
        )
        .select(
            "initiative",
            "kr",
            "cost_kpi",
            "spend",
            "spend_plan",
            "spend_variance_pct",
            "spend_status",
            "capacity_kpi",
            "capacity",
            "capacity_plan",
            "capacity_variance_pct",
            "capacity_status",
            "kr_status",
            "kr_off_track",
            "starved",
            "progress",
            "cost_of_progress",
        )
    )


def _share(prefix: str) -> pl.Expr:
    plan = pl.col(f"{prefix}_plan")
    return pl.when(plan != 0).then((pl.col(prefix) - plan) / plan.abs()).otherwise(None)


def _under(prefix: str) -> pl.Expr:
    actual = pl.col(prefix)
    plan = pl.col(f"{prefix}_plan")
    well_under = (plan > 0) & (actual <= plan * (1 - UNDER_SHARE) * (1 + 1e-12))
    graded_under = pl.col(f"{prefix}_status").is_in(["amber", "red"]) & (actual < plan)
    return (well_under | graded_under).fill_null(False)
