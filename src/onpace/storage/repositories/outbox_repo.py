"""Read the outbox, delivery attempts and channel state (claiming rows is the worker's write)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from onpace.storage.tables import ChannelRow, DeliveryAttemptRow, OutboxRow


def undelivered(
    session: Session, *, now: dt.datetime, org_id: int | None = None, limit: int = 100
) -> list[OutboxRow]:
    """Return outbox rows not yet delivered whose ``run_after`` has come, oldest first."""
    stmt = select(OutboxRow).where(
        OutboxRow.delivered_at.is_(None),
        or_(OutboxRow.run_after.is_(None), OutboxRow.run_after <= now),
    )
    if org_id is not None:
        stmt = stmt.where(OutboxRow.org_id == org_id)
    return list(session.scalars(stmt.order_by(OutboxRow.id).limit(limit)))


def attempts_for(session: Session, outbox_ids: Collection[int]) -> dict[int, list[DeliveryAttemptRow]]:
    """Return the delivery attempts of each outbox row, in order, keyed by outbox id."""
    grouped: dict[int, list[DeliveryAttemptRow]] = defaultdict(list)
    if outbox_ids:
        stmt = (
            select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.outbox_id.in_(sorted(set(outbox_ids))))
            .order_by(DeliveryAttemptRow.outbox_id, DeliveryAttemptRow.at, DeliveryAttemptRow.id)
        )
        for row in session.scalars(stmt):
            grouped[row.outbox_id].append(row)
    return dict(grouped)


def channels(session: Session, org_id: int) -> dict[str, ChannelRow]:
    """Return the recorded state of every channel of the organisation, keyed by channel id."""
    stmt = select(ChannelRow).where(ChannelRow.org_id == org_id)
    return {row.id: row for row in session.scalars(stmt)}
