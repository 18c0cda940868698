"""Read what the weekly review pack needs beyond verdicts and cases: stored packs, status history, data health.

Every function reads with one query whatever the number of subjects; a pack's scope is the
whole organisation (``unit`` None) or one unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from onpace.storage.tables import EvaluationRow, IngestRunRow, PointRow, ReviewPackRow


@dataclass(frozen=True)
class StatusPoint:
    """One stored verdict of one subject, as much of it as a status history needs."""

    subject: str
    as_of: dt.date
    status: str
    at_risk: bool
    threatened: bool

    @property
    def effective_status(self) -> str:
        """Return the status with at risk folded in."""
        return "at_risk" if self.at_risk and self.status in ("green", "amber") else self.status


def _scope(unit: str | None) -> ColumnElement[bool]:
    return ReviewPackRow.unit.is_(None) if unit is None else ReviewPackRow.unit == unit


def latest_evaluation_date(session: Session, org_id: int) -> dt.date | None:
    """Return the latest date the organisation was evaluated for, or None before any evaluation."""
    return session.scalar(select(func.max(EvaluationRow.as_of)).where(EvaluationRow.org_id == org_id))


def previous_digest(
    session: Session, org_id: int, unit: str | None, before: dt.date
) -> tuple[dt.date, dict[str, Any]] | None:
    """Return the as-of date and item digests of the latest stored pack of a scope dated before ``before``."""
    stmt = (
        select(ReviewPackRow.as_of, ReviewPackRow.items)
        .where(ReviewPackRow.org_id == org_id, _scope(unit), ReviewPackRow.as_of < before)
        .order_by(ReviewPackRow.as_of.desc(), ReviewPackRow.id.desc())
        .limit(1)
    )
    row = session.execute(stmt).first()
    return (row[0], dict(row[1] or {})) if row is not None else None


def latest_pack(session: Session, org_id: int, unit: str | None = None) -> ReviewPackRow | None:
    """Return the stored pack of a scope with the latest as-of date (the last stored on a tie)."""
    stmt = (
        select(ReviewPackRow)
        .where(ReviewPackRow.org_id == org_id, _scope(unit))
        .order_by(ReviewPackRow.as_of.desc(), ReviewPackRow.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def get_pack(session: Session, org_id: int, pack_id: int) -> ReviewPackRow | None:
    """Return stored pack ``pack_id`` if it belongs to the organisation, else None."""
    row = session.get(ReviewPackRow, pack_id)
    return row if row is not None and row.org_id == org_id else None


def packs_on(session: Session, org_id: int, unit: str | None, as_of: dt.date) -> list[ReviewPackRow]:
    """Return the stored packs of a scope for one as-of date (at most one when written by the service)."""
    stmt = select(ReviewPackRow).where(
        ReviewPackRow.org_id == org_id, _scope(unit), ReviewPackRow.as_of == as_of
    )
    return list(session.scalars(stmt.order_by(ReviewPackRow.id)))


def status_history(
    session: Session, org_id: int, subjects: Collection[str], first: dt.date, last: dt.date
) -> dict[str, list[StatusPoint]]:
    """Return each subject's stored verdicts with ``as_of`` in [first, last], oldest first.

    Only the columns a history needs are read: a live loop evaluates every day, so this is
    subjects × days rows.
    """
    if not subjects:
        return {}
    stmt = (
        select(
            EvaluationRow.subject,
            EvaluationRow.as_of,
            EvaluationRow.status,
            EvaluationRow.at_risk,
            EvaluationRow.threatened_by,
        )
        .where(
            EvaluationRow.org_id == org_id,
            EvaluationRow.subject.in_(sorted(set(subjects))),
            EvaluationRow.as_of >= first,
            EvaluationRow.as_of <= last,
        )
        .order_by(EvaluationRow.subject, EvaluationRow.as_of, EvaluationRow.id)
    )
    history: dict[str, list[StatusPoint]] = {}
    for subject, as_of, status, at_risk, threatened_by in session.execute(stmt):
        points = history.setdefault(subject, [])
        point = StatusPoint(subject, as_of, status, bool(at_risk), bool(threatened_by))
        # Several rows of one day (re-evaluations): the last written stands.
        if points and points[-1].as_of == as_of:
            points[-1] = point
        else:
            points.append(point)
    return history


def manual_counts(session: Session, org_id: int, first: dt.date, last: dt.date) -> dict[str, tuple[int, int]]:
    """Return, per metric, (manual points, all points) in force dated in [first, last]."""
    manual = func.sum(case((PointRow.manual.is_(True), 1), else_=0)).cast(Integer)
    stmt = (
        select(PointRow.metric, manual, func.count())
        .where(
            PointRow.org_id == org_id,
            PointRow.superseded_at.is_(None),
            PointRow.approved.is_(True),
            PointRow.date >= first,
            PointRow.date <= last,
        )
        .group_by(PointRow.metric)
    )
    return {metric: (int(hand or 0), int(total)) for metric, hand, total in session.execute(stmt)}


def retro_edits(
    session: Session, org_id: int, after: dt.datetime, until: dt.datetime
) -> dict[str, tuple[int, dt.date]]:
    """Return, per metric, how many retroactive corrections were ingested in (after, until], and the latest date corrected."""
    stmt = (
        select(PointRow.metric, func.count(), func.max(PointRow.date))
        .where(
            PointRow.org_id == org_id,
            PointRow.retro_flag.is_(True),
            PointRow.ingested_at > after,
            PointRow.ingested_at <= until,
        )
        .group_by(PointRow.metric)
    )
    return {metric: (int(count), latest) for metric, count, latest in session.execute(stmt)}


def latest_runs(session: Session, org_id: int, until: dt.datetime) -> dict[str, IngestRunRow]:
    """Return each source's latest ingest run started on or before ``until``."""
    ranked = (
        select(
            IngestRunRow.id,
            func.row_number()
            .over(
                partition_by=IngestRunRow.source,
                order_by=(IngestRunRow.started_at.desc(), IngestRunRow.id.desc()),
            )
            .label("rank"),
        )
        .where(IngestRunRow.org_id == org_id, IngestRunRow.started_at <= until)
        .subquery()
    )
    stmt = select(IngestRunRow).join(ranked, ranked.c.id == IngestRunRow.id).where(ranked.c.rank == 1)
    return {row.source: row for row in session.scalars(stmt)}
