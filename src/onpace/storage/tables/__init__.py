"""Declare the store's tables (SQLAlchemy 2, typed); the migrations build exactly this schema.

One module per area; every table is importable from here.

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

from onpace.storage.tables.accounts import ApiTokenRow, LoginFailureRow, MembershipRow, UserRow, WebSessionRow
from onpace.storage.tables.actuals import (
    CheckinRow,
    EvaluationRow,
    IngestRunRow,
    PointRow,
    PointsCacheRow,
    QuarantineRow,
)
from onpace.storage.tables.audit import AuditCheckpointRow, AuditHeadRow, AuditRow
from onpace.storage.tables.base import NAMING_CONVENTION, Base, JsonValue, metadata, org_fk
from onpace.storage.tables.cases import (
    CaseEventRow,
    CaseRow,
    ChannelRow,
    CorrectiveActionRow,
    DeliveryAttemptRow,
    JobRow,
    OutboxRow,
    RebaselineRow,
)
from onpace.storage.tables.model_items import (
    CycleRow,
    DependencyRow,
    FeedRow,
    InitiativeRow,
    KeyResultRow,
    KpiOwnerRow,
    KpiRow,
    ModelItem,
    NotifyRouteRow,
    ObjectiveRow,
    OrgRow,
    PersonRow,
    PlanVersionRow,
    PolicyRow,
    SourceRow,
    UnitRow,
)
from onpace.storage.tables.reviews import CycleCloseRow, CycleGradeRow, RetroNoteRow, ReviewPackRow

__all__ = [
    "NAMING_CONVENTION",
    "ApiTokenRow",
    "AuditCheckpointRow",
    "AuditHeadRow",
    "AuditRow",
    "Base",
    "CaseEventRow",
    "CaseRow",
    "ChannelRow",
    "CheckinRow",
    "CorrectiveActionRow",
    "CycleCloseRow",
    "CycleGradeRow",
    "CycleRow",
    "DeliveryAttemptRow",
    "DependencyRow",
    "EvaluationRow",
    "FeedRow",
    "IngestRunRow",
    "InitiativeRow",
    "JobRow",
    "JsonValue",
    "KeyResultRow",
    "KpiOwnerRow",
    "KpiRow",
    "LoginFailureRow",
    "MembershipRow",
    "ModelItem",
    "NotifyRouteRow",
    "ObjectiveRow",
    "OrgRow",
    "OutboxRow",
    "PersonRow",
    "PlanVersionRow",
    "PointRow",
    "PointsCacheRow",
    "PolicyRow",
    "QuarantineRow",
    "RebaselineRow",
    "RetroNoteRow",
    "ReviewPackRow",
    "SourceRow",
    "UnitRow",
    "UserRow",
    "WebSessionRow",
    "metadata",
    "org_fk",
]
