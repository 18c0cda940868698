"""Declare the tables of actuals and verdicts: ingest runs, points, their cache, quarantine, check-ins, evaluations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from onpace.storage.tables.base import Base, JsonValue, org_fk
from onpace.storage.types import BigId, JsonDoc


class IngestRunRow(Base):
    """One ingestion run of a source: counts, outcome and the error of a failed run."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = org_fk()
    source: Mapped[str]
    origin: Mapped[str | None] = mapped_column(Text)  # the file, URL or query the rows came from
    run_by: Mapped[str | None]
    manual: Mapped[bool]
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    total: Mapped[int]
    accepted: Mapped[int]
    unchanged: Mapped[int]
    quarantined: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)


class PointRow(Base):
    """One version of an actual value; rows are never updated except ``superseded_at`` and approval.

    The value in force for (metric, date, source) is the approved version with no
    ``superseded_at``. A correction adds the next ``version`` and supersedes the old one.
    """

    __tablename__ = "points"
    # The unique key also serves every lookup by (org, metric, date). The one other index, by
    # run, lets an evaluation read back only the points of the runs since its last one; run ids
    # only grow, so it is appended at its end and costs bulk ingestion little. No foreign keys
    # (checked row by row): only ingestion writes points, inserting the run (keyed to the
    # organisation) in the same transaction (migration 0004).
    __table_args__ = (
        UniqueConstraint("org_id", "metric", "date", "source", "version"),
        Index("ix_points_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int]
    metric: Mapped[str]
    date: Mapped[dt.date]
    value: Mapped[float]
    source: Mapped[str]
    run_id: Mapped[int | None] = mapped_column(BigId)
    ingested_at: Mapped[dt.datetime]
    entered_by: Mapped[str | None]
    manual: Mapped[bool]
    version: Mapped[int]
    superseded_at: Mapped[dt.datetime | None]
    approved: Mapped[bool]
    approved_by: Mapped[str | None]
    approved_at: Mapped[dt.datetime | None]
    retro_flag: Mapped[bool]


class PointsCacheRow(Base):
    """An organisation's points in force for one evaluation window, as columns, at one store version.

    A cache, not a record: any evaluation may rebuild it from ``points``. It lets a process that
    has read nothing yet start from the points of the window instead of reading them row by row
    (``onpace.services.points_cache``). ``version`` and ``head`` name the audit row it was read
    at; ``key`` says which window and metrics it holds.
    """

    __tablename__ = "points_cache"

    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(BigId)
    head: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int]
    points: Mapped[bytes] = mapped_column(LargeBinary)
    made_at: Mapped[dt.datetime]


class QuarantineRow(Base):
    """A rejected input row with its line number and the reason, kept for the data owner."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = org_fk()
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("ingest_runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str]
    line: Mapped[int | None]
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]


class CheckinRow(Base):
    """An owner's self-reported status and confidence (0–10) on a KR or objective."""

    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_org_id_subject_date", "org_id", "subject", "date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    subject: Mapped[str]
    date: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[int | None]
    reported_by: Mapped[str | None]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]


class EvaluationRow(Base):
    """The engine's verdict on one subject as of a date (see ``onpace.domain.results``)."""

    __tablename__ = "evaluations"
    __table_args__ = (
        Index("ix_evaluations_org_id_subject_as_of", "org_id", "subject", "as_of"),
        Index("ix_evaluations_org_id_as_of", "org_id", "as_of"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    subject: Mapped[str]
    level: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(16))
    at_risk: Mapped[bool]
    stale: Mapped[bool]
    threatened_by: Mapped[JsonValue] = mapped_column(JsonDoc)
    plan_to_date: Mapped[float | None]
    actual_to_date: Mapped[float | None]
    variance_abs: Mapped[float | None]
    variance_pct: Mapped[float | None]
    forecast_end: Mapped[float | None]
    forecast_low: Mapped[float | None]
    forecast_high: Mapped[float | None]
    plan_end: Mapped[float | None]
    p_target: Mapped[float | None]
    weeks_to_red: Mapped[int | None]
    attainment: Mapped[float | None]
    last_point: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime]
