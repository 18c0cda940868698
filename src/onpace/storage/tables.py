"""Declare the store's tables (SQLAlchemy 2, typed); the migrations build exactly this schema.

Conventions:
- Every table that grows with use carries ``org_id``, so it can be partitioned by organisation.
- Model items (units … notify routes) are keyed by ``(org_id, id)`` with the model's own ids, keep
  their order in the model file in ``position``, and are archived (``archived_at``), never deleted.
- Event-like rows (points, cases, outbox, audit …) have an integer surrogate key ``id``.
- Datetimes are aware UTC (:class:`~onpace.storage.types.UtcDateTime`); dates are plain dates.
- Columns that hold time are set by the services from their explicit ``now``, never by defaults,
  so a replay writes the same rows twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from onpace.storage.types import BigId, JsonDoc, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

JsonValue = Any


class Base(DeclarativeBase):
    """Base of every table; shares the metadata with its naming convention."""

    metadata = metadata
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        str: String(),
        dt.datetime: UtcDateTime(),
        dt.date: Date(),
        float: Float(),
        int: Integer(),
        bool: Boolean(),
    }


def _org_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)


class OrgRow(Base):
    """An organisation: the tenant every other row belongs to."""

    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(unique=True)
    week_start: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class ModelItem:
    """Columns shared by every model item: stable id within the org, order, archive mark."""

    # sort_order puts the key first and the bookkeeping last in every model table.
    org_id: Mapped[int] = mapped_column(
        ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True, sort_order=-2
    )
    id: Mapped[str] = mapped_column(primary_key=True, sort_order=-1)
    position: Mapped[int] = mapped_column(sort_order=1)
    archived_at: Mapped[dt.datetime | None] = mapped_column(sort_order=2)
    created_at: Mapped[dt.datetime] = mapped_column(sort_order=3)
    updated_at: Mapped[dt.datetime] = mapped_column(sort_order=4)


class UnitRow(ModelItem, Base):
    __tablename__ = "units"

    name: Mapped[str]
    parent: Mapped[str | None]
    head: Mapped[str | None]


class PersonRow(ModelItem, Base):
    __tablename__ = "people"

    name: Mapped[str]
    email: Mapped[str | None]
    unit: Mapped[str | None]


class CycleRow(ModelItem, Base):
    __tablename__ = "cycles"

    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]


class ObjectiveRow(ModelItem, Base):
    __tablename__ = "objectives"

    title: Mapped[str] = mapped_column(Text)
    cycle: Mapped[str]
    unit: Mapped[str | None]
    owner: Mapped[str | None]
    perspective: Mapped[str | None] = mapped_column(String(32))


class KeyResultRow(ModelItem, Base):
    """A key result; its plan lives in ``plan_versions`` (subject_level ``kr``)."""

    __tablename__ = "key_results"
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "objective_id"], ["objectives.org_id", "objectives.id"], ondelete="CASCADE"
        ),
    )

    objective_id: Mapped[str]
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None]
    weight: Mapped[float]
    kpi: Mapped[str | None]
    measure: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    grain: Mapped[str] = mapped_column(String(16))
    aggregate: Mapped[str] = mapped_column(String(16))
    tolerance: Mapped[JsonValue | None] = mapped_column(JsonDoc)


class KpiRow(ModelItem, Base):
    """A KPI; owners are in ``kpi_owners``, links in ``feeds``, its plan in ``plan_versions``."""

    __tablename__ = "kpis"

    title: Mapped[str] = mapped_column(Text)
    unit: Mapped[str | None]
    measure: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    grain: Mapped[str] = mapped_column(String(16))
    aggregate: Mapped[str] = mapped_column(String(16))
    tolerance: Mapped[JsonValue | None] = mapped_column(JsonDoc)
    source: Mapped[str | None]
    leading: Mapped[bool]
    formula: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    is_constraint: Mapped[bool]
    cycle: Mapped[str | None]
    uom: Mapped[str | None] = mapped_column(String(16))


class KpiOwnerRow(Base):
    """One owner of a KPI; several rows mean shared ownership (a hygiene finding)."""

    __tablename__ = "kpi_owners"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "kpi_id"], ["kpis.org_id", "kpis.id"], ondelete="CASCADE"),
    )

    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    kpi_id: Mapped[str] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str]


class FeedRow(Base):
    """A weighted link KPI → KR; archived when it disappears from the model."""

    __tablename__ = "feeds"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "kpi_id"], ["kpis.org_id", "kpis.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["org_id", "kr_id"], ["key_results.org_id", "key_results.id"], ondelete="CASCADE"
        ),
    )

    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    kpi_id: Mapped[str] = mapped_column(primary_key=True)
    kr_id: Mapped[str] = mapped_column(primary_key=True)
    weight: Mapped[float]
    lag_days: Mapped[int]
    position: Mapped[int]
    archived_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class InitiativeRow(ModelItem, Base):
    __tablename__ = "initiatives"

    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None]
    unit: Mapped[str | None]
    supports: Mapped[JsonValue] = mapped_column(JsonDoc)
    cost: Mapped[str | None]
    capacity: Mapped[str | None]


class DependencyRow(ModelItem, Base):
    __tablename__ = "dependencies"

    title: Mapped[str] = mapped_column(Text)
    provider_unit: Mapped[str]
    provider_owner: Mapped[str]
    consumer_unit: Mapped[str]
    consumer_owner: Mapped[str]
    due: Mapped[dt.date]
    delivered: Mapped[dt.date | None]
    kpi: Mapped[str | None]
    blocks: Mapped[JsonValue] = mapped_column(JsonDoc)


class SourceRow(ModelItem, Base):
    __tablename__ = "sources"

    kind: Mapped[str] = mapped_column(String(32))
    every_seconds: Mapped[float | None]
    options: Mapped[JsonValue] = mapped_column(JsonDoc)


class NotifyRouteRow(ModelItem, Base):
    __tablename__ = "notify_routes"

    url: Mapped[str] = mapped_column(Text)
    units: Mapped[JsonValue] = mapped_column(JsonDoc)
    people: Mapped[JsonValue] = mapped_column(JsonDoc)
    events: Mapped[JsonValue] = mapped_column(JsonDoc)
    digest: Mapped[bool]
    # The webhook signing key, usually "env:NAME" so the value itself stays out of the store.
    secret: Mapped[str | None] = mapped_column(Text)


class PolicyRow(Base):
    """The org's policy as one JSON document (see ``onpace.storage.codec``)."""

    __tablename__ = "policies"

    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[JsonValue] = mapped_column(JsonDoc)
    updated_at: Mapped[dt.datetime]


class PlanVersionRow(Base):
    """One version of a KPI's or KR's plan; ``plan`` NULL means the plan was removed."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("org_id", "subject_level", "subject", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = _org_fk()
    subject: Mapped[str]
    subject_level: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    effective: Mapped[dt.date]
    plan: Mapped[JsonValue | None] = mapped_column(JsonDoc)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str | None]
    approved_by: Mapped[str | None]
    created_at: Mapped[dt.datetime]
    cycle: Mapped[str | None]  # the cycle this version plans; NULL: the subject's home cycle


class IngestRunRow(Base):
    """One ingestion run of a source: counts, outcome and the error of a failed run."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = _org_fk()
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
    org_id: Mapped[int] = _org_fk()
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


class CaseRow(Base):
    """A governance case (variance, mirage, stale, dependency or hygiene family)."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_org_id_status", "org_id", "status"),
        Index("ix_cases_org_id_subject_family", "org_id", "subject", "family"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str]
    subject_level: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None]
    participants: Mapped[JsonValue] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(16))
    level: Mapped[int]
    cycle: Mapped[str | None]
    opened_at: Mapped[dt.datetime]
    explain_due: Mapped[dt.datetime | None]
    act_due: Mapped[dt.datetime | None]
    explained_at: Mapped[dt.datetime | None]
    acted_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    severity: Mapped[float | None]
    detail: Mapped[JsonValue] = mapped_column(JsonDoc)
    good_streak: Mapped[int]
    updated_at: Mapped[dt.datetime]


class CaseEventRow(Base):
    """A transition or note on a case (opened, explained, escalated, comment …) with who and when."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = _org_fk()
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime]
    event: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None]
    detail: Mapped[JsonValue] = mapped_column(JsonDoc)


class CorrectiveActionRow(Base):
    __tablename__ = "corrective_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = _org_fk()
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str]
    due: Mapped[dt.date]
    done_at: Mapped[dt.datetime | None]
    created_by: Mapped[str | None]
    created_at: Mapped[dt.datetime]


class RebaselineRow(Base):
    """A request to change a plan mid-cycle; approved or rejected by someone else."""

    __tablename__ = "rebaselines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = _org_fk()
    subject: Mapped[str]
    subject_level: Mapped[str] = mapped_column(String(16))
    plan: Mapped[JsonValue] = mapped_column(JsonDoc)
    reason: Mapped[str] = mapped_column(Text)
    effective: Mapped[dt.date]
    requested_by: Mapped[str]
    requested_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None]
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cases.id", ondelete="SET NULL"))
    plan_version_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("plan_versions.id", ondelete="SET NULL")
    )


class OutboxRow(Base):
    """An event to deliver, written in the transaction that caused it; workers claim it after."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_delivered_at_run_after", "delivered_at", "run_after"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = _org_fk()
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[JsonValue] = mapped_column(JsonDoc)
    idempotency_key: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[dt.datetime]
    run_after: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None]
    claimed_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    attempts: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(Text)


class DeliveryAttemptRow(Base):
    """One attempt to deliver an outbox row on one channel, with its duration and error."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = _org_fk()
    outbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str]
    at: Mapped[dt.datetime]
    duration_ms: Mapped[float]
    ok: Mapped[bool]
    permanent: Mapped[bool]
    error: Mapped[str | None] = mapped_column(Text)


class JobRow(Base):
    """A unit of background work (pull a source, build a review pack …) claimed by a worker."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_done_at_run_after", "done_at", "run_after"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[JsonValue] = mapped_column(JsonDoc)
    dedupe_key: Mapped[str | None] = mapped_column(unique=True)
    created_at: Mapped[dt.datetime]
    run_after: Mapped[dt.datetime]
    claimed_by: Mapped[str | None]
    claimed_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]
    attempts: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)


class ChannelRow(Base):
    """Delivery state of a channel (a notify route or a person's own address)."""

    __tablename__ = "channels"

    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(primary_key=True)
    enabled: Mapped[bool]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]


class UserRow(Base):
    """A sign-in account; ``person_id`` ties it to a person of the model."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    person_id: Mapped[str | None]
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool]
    created_at: Mapped[dt.datetime]


class MembershipRow(Base):
    """A user's role (and person) in an organisation besides the one of their account."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[str | None]
    created_at: Mapped[dt.datetime]


class ApiTokenRow(Base):
    """An API token, stored only as its SHA-256 hex digest."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class AuditRow(Base):
    """An append-only, hash-chained record of a change: ``hash`` covers the row and ``prev_hash``."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # No ON DELETE action: an organisation with an audit trail cannot be deleted by accident.
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str]
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None]
    payload: Mapped[JsonValue] = mapped_column(JsonDoc)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # 1: unkeyed SHA-256 (rows written before keys); 2: HMAC-SHA256 under the audit key.
    scheme: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    key_id: Mapped[str | None] = mapped_column(String(16))


class AuditHeadRow(Base):
    """The audit chain's head (one row, ``id`` 1): row count and last MAC, MACed under the audit key.

    Updated with every append, so deleting rows at the tail leaves a head that counts them.
    ``mac`` is NULL only before the first keyed append of a store that predates keys.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    row_count: Mapped[int] = mapped_column(BigId)
    head_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))
    mac: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime]


class AuditCheckpointRow(Base):
    """A checkpoint of the audit chain (row count and head MAC at a moment), itself MACed; exportable."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    taken_at: Mapped[dt.datetime]
    row_count: Mapped[int] = mapped_column(BigId)
    head_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))


class ReviewPackRow(Base):
    """A generated weekly review pack, kept so the next one can show what changed.

    ``unit`` is the unit the pack covers (NULL: the whole organisation); ``items`` maps each
    item key to its digest (section, subject, title, headline, status, state), all the next
    pack needs to compare; ``content`` is the whole pack as generated.
    """

    __tablename__ = "review_packs"
    __table_args__ = (Index("ix_review_packs_org_id_unit_as_of", "org_id", "unit", "as_of"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    as_of: Mapped[dt.date]
    unit: Mapped[str | None]
    content: Mapped[JsonValue] = mapped_column(JsonDoc)
    items: Mapped[JsonValue] = mapped_column(JsonDoc)
    generated_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]


class WebSessionRow(Base):
    """A signed-in browser session, kept on the server so it can be ended at once.

    The cookie carries a random secret; only its SHA-256 hex digest is stored (``token_hash``).
    A session ends (``ended_at``, ``ended_reason``) at sign-out, when its user is deactivated or
    changes password, or when ``expires_at`` passes.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(32))


class LoginFailureRow(Base):
    """A failed sign-in: the address typed (``email``, lower-cased) and the client address it came from.

    Recent rows decide the sign-in throttle; ``org_id`` is the account's organisation when the
    email names an account, else NULL.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]


class CycleCloseRow(Base):
    """A closed cycle: who closed it and when, the cycle it opened and what was carried forward."""

    __tablename__ = "cycle_closes"
    __table_args__ = (UniqueConstraint("org_id", "cycle"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = _org_fk()
    cycle: Mapped[str]
    next_cycle: Mapped[str | None]
    as_of: Mapped[dt.date]
    carry: Mapped[JsonValue] = mapped_column(JsonDoc)
    closed_by: Mapped[str]
    closed_at: Mapped[dt.datetime]


class CycleGradeRow(Base):
    """The final grade of one KR or objective of a closed cycle; written once, never rewritten."""

    __tablename__ = "cycle_grades"
    __table_args__ = (UniqueConstraint("org_id", "cycle", "subject_level", "subject"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = _org_fk()
    cycle: Mapped[str]
    subject: Mapped[str]
    subject_level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    attainment: Mapped[float | None]
    plan_to_date: Mapped[float | None]
    actual_to_date: Mapped[float | None]
    note: Mapped[str | None] = mapped_column(Text)
    note_by: Mapped[str | None]
    carried_to: Mapped[str | None]
    graded_at: Mapped[dt.datetime]


class RetroNoteRow(Base):
    """An owner's retrospective note on a KR or objective of a cycle (the latest one counts)."""

    __tablename__ = "retro_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = _org_fk()
    cycle: Mapped[str]
    subject: Mapped[str]
    text: Mapped[str] = mapped_column(Text)
    written_by: Mapped[str]
    written_at: Mapped[dt.datetime]
