"""Read governance state: cases with their events and corrective actions, re-baseline requests."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.storage.tables import CaseEventRow, CaseRow, CorrectiveActionRow, RebaselineRow


def cases(
    session: Session,
    org_id: int,
    *,
    status: str | None = None,
    owner: str | None = None,
    subject: str | None = None,
    family: str | None = None,
    opened_since: dt.datetime | None = None,
) -> list[CaseRow]:
    """Return the organisation's cases matching every given filter, oldest first."""
    stmt = select(CaseRow).where(CaseRow.org_id == org_id)
    if status is not None:
        stmt = stmt.where(CaseRow.status == status)
    if owner is not None:
        stmt = stmt.where(CaseRow.owner == owner)
    if subject is not None:
        stmt = stmt.where(CaseRow.subject == subject)
    if family is not None:
        stmt = stmt.where(CaseRow.family == family)
    if opened_since is not None:
        stmt = stmt.where(CaseRow.opened_at >= opened_since)
    return list(session.scalars(stmt.order_by(CaseRow.opened_at, CaseRow.id)))


def open_cases(session: Session, org_id: int, *, owner: str | None = None) -> list[CaseRow]:
    """Return the open cases, optionally only those held by ``owner``, oldest first."""
    return cases(session, org_id, status="open", owner=owner)


def get_case(session: Session, org_id: int, case_id: int) -> CaseRow | None:
    """Return case ``case_id`` if it belongs to the organisation, else None."""
    row = session.get(CaseRow, case_id)
    return row if row is not None and row.org_id == org_id else None


def cases_by_id(session: Session, org_id: int, case_ids: Collection[int]) -> list[CaseRow]:
    """Return the organisation's cases among ``case_ids`` (in one query), by id."""
    stmt = select(CaseRow).where(CaseRow.org_id == org_id, CaseRow.id.in_(list(case_ids)))
    return list(session.scalars(stmt.order_by(CaseRow.id)))


def events_for(session: Session, case_ids: Collection[int]) -> dict[int, list[CaseEventRow]]:
    """Return the events of each case (in order), keyed by case id; one query for all cases."""
    grouped: dict[int, list[CaseEventRow]] = defaultdict(list)
    if case_ids:
        stmt = (
            select(CaseEventRow)
            .where(CaseEventRow.case_id.in_(sorted(set(case_ids))))
            .order_by(CaseEventRow.case_id, CaseEventRow.at, CaseEventRow.id)
        )
        for row in session.scalars(stmt):
            grouped[row.case_id].append(row)
    return dict(grouped)


def actions_for(session: Session, case_ids: Collection[int]) -> dict[int, list[CorrectiveActionRow]]:
    """Return the corrective actions of each case (by due date), keyed by case id."""
    grouped: dict[int, list[CorrectiveActionRow]] = defaultdict(list)
    if case_ids:
        stmt = (
            select(CorrectiveActionRow)
            .where(CorrectiveActionRow.case_id.in_(sorted(set(case_ids))))
            .order_by(CorrectiveActionRow.case_id, CorrectiveActionRow.due, CorrectiveActionRow.id)
        )
        for row in session.scalars(stmt):
            grouped[row.case_id].append(row)
    return dict(grouped)


def rebaselines(session: Session, org_id: int, *, status: str | None = None) -> list[RebaselineRow]:
    """Return re-baseline requests (optionally with one status), oldest first."""
    stmt = select(RebaselineRow).where(RebaselineRow.org_id == org_id)
    if status is not None:
        stmt = stmt.where(RebaselineRow.status == status)
    return list(session.scalars(stmt.order_by(RebaselineRow.requested_at, RebaselineRow.id)))
