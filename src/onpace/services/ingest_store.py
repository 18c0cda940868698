"""Write one ingestion run's points: compare with the store, supersede corrected versions, insert.

Set-based throughout: the latest stored versions of the batch's keys are read in one query,
older versions of corrected points are superseded by one statement, and the new points and
quarantined rows go in by ``COPY`` (PostgreSQL) or one ``executemany`` (SQLite).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import polars as pl
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, update
from sqlalchemy.orm import Session

from onpace.storage import bulk
from onpace.storage.repositories import evaluations_repo, points_repo
from onpace.storage.tables import PointRow, QuarantineRow

POINTS = cast(Table, PointRow.__table__)
QUARANTINE = cast(Table, QuarantineRow.__table__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Lineage:
    """What every row of one run shares."""

    org_id: int
    run_id: int
    now: dt.datetime
    manual: bool
    run_by: str | None
    approved: bool


def audited_points(new: pl.DataFrame, *, manual: bool) -> dict[str, object]:
    """Return the points an audit row names one by one: every correction (value before and after),
    and every point of a manual entry; other new points are named by their run."""
    corrected = new.filter(pl.col("change") == "corrected")
    found: dict[str, object] = {}
    if not corrected.is_empty():
        found["corrections"] = corrected.select(
            "metric",
            "date",
            "source",
            "version",
            pl.col("previous").alias("before"),
            pl.col("value").alias("after"),
        ).to_dicts()
    if manual and not new.is_empty():
        found["entries"] = new.select("metric", "date", "source", "version", "value").to_dicts()
    return found


def insert_points(session: Session, new: pl.DataFrame, lineage: Lineage, progress: Progress | None) -> None:
    """Store the run's new points with their lineage; ``progress(done, total)`` follows the insert."""

    def report(done: int) -> None:
        if progress is not None:
            progress(done, new.height)

    # ``new`` is in key order (see ingest_rows.settle_repeats): the unique index grows at its end instead
    # of everywhere at once, and a file written day by day across many metrics stores twice
    # as fast as in its own order.
    rows = new.select(
        pl.lit(lineage.org_id, pl.Int64).alias("org_id"),
        "metric",
        "date",
        "value",
        "source",
        pl.lit(lineage.run_id, pl.Int64).alias("run_id"),
        pl.lit(lineage.now).dt.convert_time_zone("UTC").alias("ingested_at"),
        pl.lit(lineage.run_by if lineage.manual else None, pl.String).alias("entered_by"),
        pl.lit(lineage.manual).alias("manual"),
        pl.col("version").cast(pl.Int64),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("superseded_at"),
        pl.lit(lineage.approved).alias("approved"),
        pl.lit(None, pl.String).alias("approved_by"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("approved_at"),
        pl.col("retro").alias("retro_flag"),
    )
    bulk.insert_frame(session, POINTS, rows, progress=report)


def insert_quarantine(session: Session, bad: pl.DataFrame, lineage: Lineage) -> None:
    """Keep the run's refused rows, in line order, with their reasons."""
    rows = bad.sort("line").select(
        pl.lit(lineage.org_id, pl.Int64).alias("org_id"),
        pl.lit(lineage.run_id, pl.Int64).alias("run_id"),
        "source",
        pl.col("line").cast(pl.Int64),
        "raw",
        "reason",
        pl.lit(lineage.now).dt.convert_time_zone("UTC").alias("created_at"),
    )
    bulk.insert_frame(session, QUARANTINE, rows)


def compare_with_store(session: Session, org_id: int, rows: pl.DataFrame) -> pl.DataFrame:
    """Label each row added, corrected or unchanged against the store; give versions and retro flags."""
    if rows.is_empty():
        return rows.with_columns(
            pl.lit(None, pl.String).alias("change"),
            pl.lit(None, pl.Int64).alias("version"),
            pl.lit(None, pl.Boolean).alias("retro"),
            pl.lit(None, pl.Float64).alias("previous"),
        )
    metrics = rows["metric"].unique().to_list()
    first, last = rows["date"].min(), rows["date"].max()
    stored = points_repo.latest_versions(session, org_id, metrics, first, last)  # type: ignore[arg-type]
    joined = rows.join(
        stored.select("metric", "date", "source", pl.col("value").alias("stored_value"), "version"),
        on=["metric", "date", "source"],
        how="left",
        maintain_order="left",
    )
    change = (
        # No version yet, or only rejected ones (no stored value to compare with).
        pl.when(pl.col("version").is_null() | pl.col("stored_value").is_null())
        .then(pl.lit("added"))
        .when(pl.col("stored_value") == pl.col("value"))
        .then(pl.lit("unchanged"))
        .otherwise(pl.lit("corrected"))
    )
    joined = joined.with_columns(change.alias("change"))
    corrected_metrics = joined.filter(pl.col("change") == "corrected")["metric"].unique().to_list()
    evaluated = evaluations_repo.last_evaluated_on(session, org_id, corrected_metrics)
    last_evaluated = pl.DataFrame(
        {"metric": list(evaluated), "evaluated_to": list(evaluated.values())},
        schema={"metric": pl.String, "evaluated_to": pl.Date},
    )
    return (
        joined.join(last_evaluated, on="metric", how="left", maintain_order="left")
        .with_columns(
            (pl.col("version").fill_null(0) + 1).alias("version"),
            (
                (pl.col("change") == "corrected")
                & pl.col("evaluated_to").is_not_null()
                & (pl.col("date") <= pl.col("evaluated_to"))
            ).alias("retro"),
        )
        .rename({"stored_value": "previous"})
        .drop("evaluated_to")
    )


def supersede(session: Session, org_id: int, corrected: pl.DataFrame, now: dt.datetime) -> None:
    """Mark every older version of each corrected point as superseded at ``now``.

    Not through the ORM row by row: on SQLite one prepared statement runs for every key
    (in-process, each an index lookup); on PostgreSQL the keys go to a temporary table by
    COPY and one ``UPDATE … FROM`` joins them to the points.
    """
    if corrected.is_empty():
        return
    connection = session.connection()
    keys = corrected.select("metric", "date", "source", pl.col("version").cast(pl.Int64))
    if connection.dialect.name == "sqlite":
        # The text forms SQLAlchemy's SQLite Date and UtcDateTime types write.
        stamp = now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        raw: Any = connection.connection.driver_connection
        raw.executemany(
            "UPDATE points SET superseded_at = ? WHERE org_id = ? AND metric = ? AND date = ? "
            "AND source = ? AND superseded_at IS NULL AND version < ?",
            zip(
                itertools.repeat(stamp),
                itertools.repeat(org_id),
                keys["metric"].to_list(),
                keys["date"].dt.strftime("%Y-%m-%d").to_list(),
                keys["source"].to_list(),
                keys["version"].to_list(),
            ),
        )
        return
    table = _CORRECTIONS
    table.create(connection, checkfirst=True)
    try:
        bulk.insert_frame(session, table, keys)
        # Without statistics the planner would not know how few keys there may be.
        connection.exec_driver_sql(f"ANALYZE {table.name}")
        points = POINTS
        connection.execute(
            update(points)
            .where(
                points.c.org_id == org_id,
                points.c.metric == table.c.metric,
                points.c.date == table.c.date,
                points.c.source == table.c.source,
                points.c.superseded_at.is_(None),
                points.c.version < table.c.version,
            )
            .values(superseded_at=now)
        )
    finally:
        table.drop(connection, checkfirst=True)


# The keys of one run's corrections, for the set-based update above; a temporary table is
# private to the connection, so runs on other connections never see each other's keys.
_CORRECTIONS = Table(
    "onpace_corrected_points",
    MetaData(),
    Column("metric", String, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("source", String, primary_key=True),
    Column("version", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
