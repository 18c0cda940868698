"""Roll KPIs up to KRs and objectives, find threatened KRs and each off-track KPI's impact.

Roll-up (DESIGN.md §4): a KR takes its figures from its own KPI (``kr.kpi``) or its own series;
otherwise it combines its feeding KPIs. Combining children (feeding KPIs into a KR, KRs into an
objective) is one rule: each child scores green 0, amber or at risk 1, red 2; the parent's
status is the weighted mean score (≥ 1.5 red, ≥ 0.5 amber, else green), and it is never green
while a child carrying ≥ 1/3 of the weight is amber or worse. Children without data or plan are
left out (a parent with none left is ``no_data``, or ``unplanned`` when no child has a plan).
The parent's attainment is the weighted mean of its children's. The same rule applied to the
children's projected end-of-cycle statuses gives the parent's projected status; the parent is
at risk when today green or amber and projected red (or amber, per ``policy.at_risk_on``).

Threatened: a KR is threatened by every KPI feeding it with weight ≥ ``policy.threat_weight``
that is red or at risk (the link's lag never delays this). Impact: every off-track KPI (amber,
red or at risk) reaches KRs through its feeds (feed weight) and as a KR's own KPI (weight 1), and
formula KPIs built from it (weight 1); a KR reaches its objective with its share of the
objective's KR weight. Path weights multiply along a path and add over paths.
"""

from __future__ import annotations

import graphlib

import polars as pl

from onpace.domain import formula as fx
from onpace.domain.model import Model, Policy

_HEAVY_SHARE = 1 / 3 - 1e-9

CHILD_SCHEMA: dict[str, pl.DataType] = {
    "parent": pl.Utf8(),
    "child": pl.Utf8(),
    "weight": pl.Float64(),
}


class LinkCycleError(ValueError):
    """Raise when the model's links form a cycle (only formulas can: the other links go one layer up)."""


def check_cycles(model: Model) -> None:
    """Raise LinkCycleError naming the cycle when the model's links are not a DAG.

    Feeds (KPI → KR), KR KPIs (KPI → KR) and KR → objective links always point one layer up,
    so a cycle can only run through formulas (a KPI computed from KPIs); only those edges are
    sorted, which keeps this cheap on large models.
    """
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for kpi in model.kpis:
        if not kpi.formula:
            continue
        try:
            used = fx.names(fx.parse(kpi.formula))
        except fx.FormulaError as exc:
            raise fx.FormulaError(f"KPI {kpi.id}: formula {kpi.formula!r}: {exc}") from exc
        sorter.add(kpi.id, *used)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        path = " → ".join(reversed(exc.args[1]))
        raise LinkCycleError(f"the model's links form a cycle through formulas: {path}") from exc


def feed_links(model: Model) -> pl.DataFrame:
    """Return ``kpi, kr, weight, lag_days, leading`` for every KPI → KR feed."""
    rows = [(k.id, f.kr, float(f.weight), f.lag_days, k.leading) for k in model.kpis for f in k.feeds]
    return pl.DataFrame(
        rows,
        schema={
            "kpi": pl.Utf8(),
            "kr": pl.Utf8(),
            "weight": pl.Float64(),
            "lag_days": pl.Int64(),
            "leading": pl.Boolean(),
        },
        orient="row",
    )


def combine(children: pl.DataFrame, links: pl.DataFrame, parents: list[str], at_risk_on: str) -> pl.DataFrame:
    """Roll children up into parents by the weighted status-score rule.

    ``children``: ``subject, status, at_risk, end_status, attainment, stale, last_point``;
    ``links``: ``parent, child, weight``. Returns one row per parent in ``parents`` with
    ``subject, status, at_risk, end_status, attainment, stale, last_point``.
    """
    joined = links.join(children, left_on="child", right_on="subject", how="left")
    counted = joined.filter(pl.col("status").is_in(["green", "amber", "red"]) & (pl.col("weight") > 0))
    today = _score(pl.col("status"), pl.col("at_risk"))
    later = _score(pl.coalesce(pl.col("end_status"), pl.col("status")), pl.lit(False))
    share = pl.col("weight") / pl.col("weight").sum()
    rolled = counted.group_by("parent").agg(
        _mean=(pl.col("weight") * today).sum() / pl.col("weight").sum(),
        _heavy=((share >= _HEAVY_SHARE) & (today >= 1)).any(),
        _mean_end=(pl.col("weight") * later).sum() / pl.col("weight").sum(),
        _heavy_end=((share >= _HEAVY_SHARE) & (later >= 1)).any(),
        attainment=(pl.col("weight") * pl.col("attainment")).filter(pl.col("attainment").is_not_null()).sum()
        / pl.col("weight").filter(pl.col("attainment").is_not_null()).sum(),
        stale=pl.col("stale").fill_null(False).all(),
        last_point=pl.col("last_point").max(),
    )
    seen = joined.group_by("parent").agg(_any_no_data=(pl.col("status") == "no_data").any())
    frame = (
        pl.DataFrame({"parent": parents}, schema={"parent": pl.Utf8()})
        .join(rolled, on="parent", how="left")
        .join(seen, on="parent", how="left")
    )
    status = _status(pl.col("_mean"), pl.col("_heavy"))
    projected = _status(pl.col("_mean_end"), pl.col("_heavy_end"))
    risky = ["red", "amber"] if at_risk_on == "amber" else ["red"]
    return frame.select(
        pl.col("parent").alias("subject"),
        pl.when(pl.col("_mean").is_not_null())
        .then(status)
        .when(pl.col("_any_no_data").fill_null(False))
        .then(pl.lit("no_data"))
        .otherwise(pl.lit("unplanned"))
        .alias("status"),
        (pl.col("_mean").is_not_null() & status.is_in(["green", "amber"]) & projected.is_in(risky))
        .fill_null(False)
        .alias("at_risk"),
        pl.when(pl.col("_mean_end").is_not_null()).then(projected).otherwise(None).alias("end_status"),
        pl.when(pl.col("attainment").is_finite())
        .then(pl.col("attainment"))
        .otherwise(None)
        .alias("attainment"),
        pl.col("stale").fill_null(False),
        "last_point",
    )


def _score(status: pl.Expr, at_risk: pl.Expr) -> pl.Expr:
    return (
        pl.when(status == "red")
        .then(2)
        .when((status == "amber") | at_risk.fill_null(False))
        .then(1)
        .otherwise(0)
    )


def _status(mean: pl.Expr, heavy: pl.Expr) -> pl.Expr:
    return (
        pl.when(mean >= 1.5)
        .then(pl.lit("red"))
        .when((mean >= 0.5) | heavy)
        .then(pl.lit("amber"))
        .otherwise(pl.lit("green"))
    )


def objective_links(model: Model) -> pl.DataFrame:
    """Return ``parent, child, weight``: objective → KR with the KR's weight."""
    rows = [(obj.id, kr.id, float(kr.weight)) for obj in model.objectives for kr in obj.key_results]
    return pl.DataFrame(rows, schema=CHILD_SCHEMA, orient="row")


def threats(links: pl.DataFrame, kpis: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Return ``kr, cause, weight``: KRs threatened by a red or at-risk KPI feeding them enough."""
    off = kpis.filter(
        (pl.col("status") == "red") | (pl.col("at_risk") & pl.col("status").is_in(["green", "amber"]))
    )
    return (
        links.filter(pl.col("weight") >= policy.threat_weight - 1e-12)
        .join(off.select(pl.col("subject").alias("kpi")), on="kpi", how="inner")
        .select("kr", pl.col("kpi").alias("cause"), "weight")
        .sort("kr", "weight", "cause", descending=[False, True, False])
    )


def impact(model: Model, kpis: pl.DataFrame) -> pl.DataFrame:
    """Return ``kpi, subject, level, path_weight`` for every off-track KPI's KRs and objectives."""
    schema = {"kpi": pl.Utf8(), "subject": pl.Utf8(), "level": pl.Utf8(), "path_weight": pl.Float64()}
    off = kpis.filter(
        pl.col("status").is_in(["amber", "red"]) | (pl.col("at_risk") & (pl.col("status") == "green"))
    ).select("subject")
    if off.height == 0:
        return pl.DataFrame(schema=schema)
    edges = _impact_edges(model)
    frontier = off.select(
        pl.col("subject").alias("kpi"), pl.col("subject").alias("node"), pl.lit(1.0).alias("w")
    )
    found: list[pl.DataFrame] = []
    # The links are a DAG (checked), so each step moves one layer up and the loop ends.
    while frontier.height:
        step = frontier.join(edges, left_on="node", right_on="src", how="inner").select(
            "kpi", pl.col("dst").alias("node"), (pl.col("w") * pl.col("weight")).alias("w"), "level"
        )
        found.append(step.filter(pl.col("level") != "kpi"))
        frontier = step.filter(pl.col("level") != "objective").select("kpi", "node", "w")
    result = pl.concat(found, how="vertical") if found else pl.DataFrame(schema=schema)
    return (
        result.group_by("kpi", pl.col("node").alias("subject"), "level")
        .agg(path_weight=pl.col("w").sum())
        .select(list(schema))
        .sort("kpi", "path_weight", "subject", descending=[False, True, False])
    )


def _impact_edges(model: Model) -> pl.DataFrame:
    rows: list[tuple[str, str, float, str]] = []
    for kpi in model.kpis:
        rows.extend((kpi.id, f.kr, float(f.weight), "kr") for f in kpi.feeds)
        if kpi.formula:
            try:
                used = fx.names(fx.parse(kpi.formula))
            except fx.FormulaError:
                used = ()
            rows.extend((name, kpi.id, 1.0, "kpi") for name in used)
    for obj in model.objectives:
        total = sum(max(kr.weight, 0.0) for kr in obj.key_results)
        for kr in obj.key_results:
            if kr.kpi:
                rows.append((kr.kpi, kr.id, 1.0, "kr"))
            if total > 0:
                rows.append((kr.id, obj.id, max(kr.weight, 0.0) / total, "objective"))
    frame = pl.DataFrame(
        rows,
        schema={"src": pl.Utf8(), "dst": pl.Utf8(), "weight": pl.Float64(), "level": pl.Utf8()},
        orient="row",
    )
    # One edge per pair: a KPI that is both a KR's own KPI and feeds it counts once, at weight 1.
    return frame.group_by("src", "dst", "level").agg(pl.col("weight").max())
