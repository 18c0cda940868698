"""Declare the model's tables: the organisation, its model items, policy and plan versions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from onpace.storage.tables.base import Base, JsonValue, org_fk
from onpace.storage.types import BigId, JsonDoc


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
    org_id: Mapped[int] = org_fk()
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
