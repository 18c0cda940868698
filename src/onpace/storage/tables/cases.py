"""Declare the tables of governance and delivery: cases and their events, actions, re-baselines, outbox, jobs, channels."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from onpace.storage.tables.base import Base, JsonValue, org_fk
from onpace.storage.types import BigId, JsonDoc


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
    org_id: Mapped[int] = org_fk()
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime]
    event: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None]
    detail: Mapped[JsonValue] = mapped_column(JsonDoc)


class CorrectiveActionRow(Base):
    __tablename__ = "corrective_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = org_fk()
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
    org_id: Mapped[int] = org_fk()
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
    org_id: Mapped[int] = org_fk()
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
    org_id: Mapped[int] = org_fk()
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
