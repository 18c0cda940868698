"""Read actual points: the values in force for the engine, versions for ingest, lineage for people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.storage import bulk
from onpace.storage.tables import PointRow

POINTS_SCHEMA = {
    "metric": pl.String,
    "date": pl.Date,
    "value": pl.Float64,
    "source": pl.String,
    "manual": pl.Boolean,
    "run": pl.Int64,
}

VERSIONS_SCHEMA = {
    "metric": pl.String,
    "date": pl.Date,
    "source": pl.String,
    "value": pl.Float64,
    "version": pl.Int64,
    "approved": pl.Boolean,
}


def points_frame(
    session: Session,
    org_id: int,
    up_to: dt.date | None = None,
    *,
    metrics: Collection[str] | None = None,
    since: dt.date | None = None,
) -> pl.DataFrame:
    """Return the values in force, one row per (metric, date, source), dated on or before ``up_to``.

    ``since`` leaves out points dated before it (an evaluation's read window, see
    :func:`onpace.domain.read_window.evaluation_window`).

    "In force" means the latest correction: the approved version that no later approved
    version superseded. Manual entries awaiting approval are left out. Columns:
    ``metric`` (str), ``date`` (Date), ``value`` (f64), ``source`` (str), ``manual`` (bool),
    ``run`` (the ingest run, i64, null when unknown); sorted by metric, date, source. Several
    sources may report the same metric and date; the engine keeps one
    (``onpace.domain.point_sources``).
    """
    stmt = select(
        PointRow.metric,
        PointRow.date,
        PointRow.value,
        PointRow.source,
        PointRow.manual,
        PointRow.run_id,
    ).where(
        PointRow.org_id == org_id,
        PointRow.superseded_at.is_(None),
        PointRow.approved.is_(True),
    )
    if up_to is not None:
        stmt = stmt.where(PointRow.date <= up_to)
    if since is not None:
        stmt = stmt.where(PointRow.date >= since)
    if metrics is not None:
        stmt = stmt.where(PointRow.metric.in_(sorted(set(metrics))))
    return bulk.read_frame(session, stmt, POINTS_SCHEMA).sort("metric", "date", "source")


def latest_versions(
    session: Session,
    org_id: int,
    metrics: Collection[str],
    first: dt.date,
    last: dt.date,
) -> pl.DataFrame:
    """Return the highest version of each (metric, date, source) for ``metrics`` between two dates.

    Approved or not: ingest compares new values with the latest version anyone entered. A
    rejected version (never approved, superseded) is passed over: ``value`` and ``approved``
    are those of the latest version not rejected (null when every version was rejected), so a
    value entered again after its rejection is stored again; ``version`` stays the highest.
    Columns: metric, date, source, value, version, approved.
    """
    if not metrics:
        return pl.DataFrame(schema=VERSIONS_SCHEMA)
    stmt = select(
        PointRow.metric,
        PointRow.date,
        PointRow.source,
        PointRow.value,
        PointRow.version,
        PointRow.approved,
        PointRow.superseded_at.is_not(None).label("superseded"),
    ).where(
        PointRow.org_id == org_id,
        PointRow.metric.in_(sorted(set(metrics))),
        PointRow.date >= first,
        PointRow.date <= last,
    )
    frame = bulk.read_frame(session, stmt, {**VERSIONS_SCHEMA, "superseded": pl.Boolean})
    rejected = pl.col("superseded") & ~pl.col("approved")
    if not frame.select(rejected.any()).item():
        return frame.drop("superseded").sort("version").group_by("metric", "date", "source").last()
    return (
        frame.sort("version")
        .group_by("metric", "date", "source")
        .agg(
            pl.col("value").filter(~rejected).last(),
            pl.col("version").last(),
            pl.col("approved").filter(~rejected).last(),
        )
        .select(list(VERSIONS_SCHEMA))
    )


def point_history(
    session: Session,
    org_id: int,
    metric: str,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> list[PointRow]:
    """Return every version of every point of ``metric`` (lineage), by date, source and version."""
    stmt = select(PointRow).where(PointRow.org_id == org_id, PointRow.metric == metric)
    if first is not None:
        stmt = stmt.where(PointRow.date >= first)
    if last is not None:
        stmt = stmt.where(PointRow.date <= last)
    return list(session.scalars(stmt.order_by(PointRow.date, PointRow.source, PointRow.version)))


def pending_approval(session: Session, org_id: int) -> list[PointRow]:
    """Return manual points waiting for approval, oldest first."""
    stmt = (
        select(PointRow)
        .where(
            PointRow.org_id == org_id,
            PointRow.approved.is_(False),
            PointRow.superseded_at.is_(None),
        )
        .order_by(PointRow.ingested_at, PointRow.id)
    )
    return list(session.scalars(stmt))
