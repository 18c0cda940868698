"""Read the closes, grades and retrospective notes of an organisation's cycles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.storage.tables import CycleCloseRow, CycleGradeRow, RetroNoteRow


def close_rows(session: Session, org_id: int) -> list[CycleCloseRow]:
    """Return every closed cycle of the organisation, in the order they were closed."""
    stmt = (
        select(CycleCloseRow)
        .where(CycleCloseRow.org_id == org_id)
        .order_by(CycleCloseRow.closed_at, CycleCloseRow.id)
    )
    return list(session.scalars(stmt))


def grade_rows(session: Session, org_id: int, cycle: str | None = None) -> list[CycleGradeRow]:
    """Return the grades of one closed cycle (or of all), in the order they were written."""
    stmt = select(CycleGradeRow).where(CycleGradeRow.org_id == org_id)
    if cycle is not None:
        stmt = stmt.where(CycleGradeRow.cycle == cycle)
    return list(session.scalars(stmt.order_by(CycleGradeRow.id)))


def note_rows(session: Session, org_id: int, cycle: str) -> list[RetroNoteRow]:
    """Return the retrospective notes of a cycle, oldest first."""
    stmt = (
        select(RetroNoteRow)
        .where(RetroNoteRow.org_id == org_id, RetroNoteRow.cycle == cycle)
        .order_by(RetroNoteRow.written_at, RetroNoteRow.id)
    )
    return list(session.scalars(stmt))
