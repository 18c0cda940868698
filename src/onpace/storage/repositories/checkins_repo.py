"""Read owners' check-ins."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.storage.tables import CheckinRow


def checkins(
    session: Session, org_id: int, up_to: dt.date | None = None, *, subject: str | None = None
) -> list[CheckinRow]:
    """Return check-ins dated on or before ``up_to``, by subject, date and entry order."""
    stmt = select(CheckinRow).where(CheckinRow.org_id == org_id)
    if up_to is not None:
        stmt = stmt.where(CheckinRow.date <= up_to)
    if subject is not None:
        stmt = stmt.where(CheckinRow.subject == subject)
    return list(session.scalars(stmt.order_by(CheckinRow.subject, CheckinRow.date, CheckinRow.id)))
