"""Count what the operators' metrics show, straight from the store: queues, deliveries, open cases.

Read at scrape time, so every server and worker process (on any machine) is counted once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, true
from sqlalchemy.orm import Session

from onpace.storage.tables import CaseRow, DeliveryAttemptRow, JobRow, OrgRow, OutboxRow


@dataclass(frozen=True)
class StoreCounts:
    """Figures per organisation name: pending work, delivery attempts by result, open cases by kind."""

    outbox_pending: dict[str, int]
    jobs_due: dict[str, int]
    deliveries: dict[tuple[str, str], int]
    open_cases: dict[tuple[str, str], int]


def _orgs(column: Any, org_ids: Collection[int] | None) -> ColumnElement[bool]:
    return column.in_(sorted(org_ids)) if org_ids is not None else true()


def store_counts(
    session: Session, *, now: dt.datetime, org_ids: Collection[int] | None = None
) -> StoreCounts:
    """Return the figures of the organisations ``org_ids`` (all when None); four grouped queries."""
    outbox = session.execute(
        select(OrgRow.name, func.count())
        .select_from(OutboxRow)
        .join(OrgRow, OrgRow.id == OutboxRow.org_id)
        .where(OutboxRow.delivered_at.is_(None), _orgs(OutboxRow.org_id, org_ids))
        .group_by(OrgRow.name)
    )
    jobs = session.execute(
        select(func.coalesce(OrgRow.name, ""), func.count())
        .select_from(JobRow)
        .outerjoin(OrgRow, OrgRow.id == JobRow.org_id)
        .where(
            JobRow.done_at.is_(None),
            JobRow.run_after <= now,
            _orgs(JobRow.org_id, org_ids),
        )
        .group_by(OrgRow.name)
    )
    result = case(
        (DeliveryAttemptRow.ok, "delivered"),
        (DeliveryAttemptRow.permanent, "failed_permanently"),
        else_="failed_will_retry",
    )
    deliveries = session.execute(
        select(OrgRow.name, result, func.count())
        .select_from(DeliveryAttemptRow)
        .join(OrgRow, OrgRow.id == DeliveryAttemptRow.org_id)
        .where(_orgs(DeliveryAttemptRow.org_id, org_ids))
        .group_by(OrgRow.name, result)
    )
    cases = session.execute(
        select(OrgRow.name, CaseRow.kind, func.count())
        .select_from(CaseRow)
        .join(OrgRow, OrgRow.id == CaseRow.org_id)
        .where(CaseRow.status == "open", _orgs(CaseRow.org_id, org_ids))
        .group_by(OrgRow.name, CaseRow.kind)
    )
    return StoreCounts(
        outbox_pending={str(name): int(n) for name, n in outbox},
        jobs_due={str(name): int(n) for name, n in jobs},
        deliveries={(str(name), str(kind)): int(n) for name, kind, n in deliveries},
        open_cases={(str(name), str(kind)): int(n) for name, kind, n in cases},
    )
