"""Read ingestion runs and their quarantined rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.storage.tables import IngestRunRow, QuarantineRow


def recent_runs(
    session: Session, org_id: int, *, source: str | None = None, limit: int = 50
) -> list[IngestRunRow]:
    """Return the latest ingestion runs (optionally of one source), newest first."""
    stmt = select(IngestRunRow).where(IngestRunRow.org_id == org_id)
    if source is not None:
        stmt = stmt.where(IngestRunRow.source == source)
    order = (IngestRunRow.started_at.desc(), IngestRunRow.id.desc())
    return list(session.scalars(stmt.order_by(*order).limit(limit)))


def quarantined(session: Session, run_id: int) -> list[QuarantineRow]:
    """Return the rows a run rejected, by line number."""
    stmt = select(QuarantineRow).where(QuarantineRow.run_id == run_id)
    return list(session.scalars(stmt.order_by(QuarantineRow.line, QuarantineRow.id)))
