"""Choose one source per metric and day when several sources report the same metric.

Points are kept per (metric, date, source), each at its latest version. When two sources report
the same metric on the same day (a CSV backfill and the drop folder, a manual entry and the
warehouse), their values are alternatives, not parts of a total: adding them doubled a week. So
for each (metric, date) one source wins, and only its points count:

1. the source the KPI declares (``source:`` in the model), when it reported that day;
2. else the source ingested most recently for that day (the highest ingest run);
3. else, on a tie, the source whose name sorts first (so the choice never depends on row order).

A metric reported by one source only is left as it is (several points of one source on one day
are still aggregated into their bucket by the KPI's aggregate).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from onpace.domain.model import Model

RUN = "run"


def declared_sources(model: Model) -> dict[str, str]:
    """Return each KPI's declared source (KPIs without one are left out)."""
    return {kpi.id: kpi.source for kpi in model.kpis if kpi.source}


def one_source_per_day(points: pl.DataFrame, declared: Mapping[str, str]) -> pl.DataFrame:
    """Return ``points`` keeping, for each (metric, date), only the points of the winning source.

    ``points`` needs ``metric`` and ``date``; without a ``source`` column (or with one source
    only) it is returned unchanged. An optional integer ``run`` column orders ingests (higher is
    more recent; null is oldest). The order of the rows is not kept.
    """
    if "source" not in points.columns or points.height == 0 or points["source"].n_unique() <= 1:
        return points
    shared = (
        points.group_by("metric")
        .agg(pl.col("source").n_unique().alias("_sources"))
        .filter(pl.col("_sources") > 1)["metric"]
    )
    if shared.is_empty():
        return points
    contested = pl.col("metric").is_in(shared.implode())
    single = points.filter(~contested)
    many = points.filter(contested)
    claims = pl.DataFrame(
        {"metric": list(declared), "_declared": list(declared.values())},
        schema={"metric": pl.String, "_declared": pl.String},
    )
    run = pl.col(RUN).fill_null(-1) if RUN in many.columns else pl.lit(-1)
    ranked = (
        many.with_columns(pl.col("metric").cast(pl.String).alias("_metric"))
        .join(claims.rename({"metric": "_metric"}), on="_metric", how="left")
        .with_columns(
            _own=(pl.col("source") == pl.col("_declared")).fill_null(False),
            _run=run,
        )
    )
    winners = (
        ranked.group_by("_metric", "date", "source")
        .agg(pl.col("_own").first(), pl.col("_run").max())
        .sort(["_own", "_run", "source"], descending=[True, True, False])
        .group_by("_metric", "date", maintain_order=True)
        .agg(pl.col("source").first().alias("_winner"))
    )
    kept = (
        ranked.join(winners, on=["_metric", "date"], how="inner")
        .filter(pl.col("source") == pl.col("_winner"))
        .select(points.columns)
    )
    return pl.concat([single, kept], how="vertical")
