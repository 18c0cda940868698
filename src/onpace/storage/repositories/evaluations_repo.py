"""Read stored evaluations: the latest verdict per subject, and when each subject was evaluated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onpace.storage import bulk
from onpace.storage.tables import EvaluationRow


def last_evaluated_on(
    session: Session, org_id: int, subjects: Collection[str] | None = None
) -> dict[str, dt.date]:
    """Return, for each subject ever evaluated, the latest ``as_of`` it was evaluated for."""
    stmt = (
        select(EvaluationRow.subject, func.max(EvaluationRow.as_of))
        .where(EvaluationRow.org_id == org_id)
        .group_by(EvaluationRow.subject)
    )
    if subjects is not None:
        stmt = stmt.where(EvaluationRow.subject.in_(sorted(set(subjects))))
    return {row[0]: row[1] for row in session.execute(stmt)}


def latest_as_of(session: Session, org_id: int, up_to: dt.date | None = None) -> dt.date | None:
    """Return the latest date (on or before ``up_to``) any subject was evaluated for (None: never)."""
    stmt = select(func.max(EvaluationRow.as_of)).where(EvaluationRow.org_id == org_id)
    if up_to is not None:
        stmt = stmt.where(EvaluationRow.as_of <= up_to)
    return session.scalar(stmt)


def latest_evaluations(
    session: Session,
    org_id: int,
    as_of: dt.date | None = None,
    *,
    subjects: Collection[str] | None = None,
) -> list[EvaluationRow]:
    """Return the latest evaluation of every subject (or of ``subjects``) on or before ``as_of``.

    "Latest" is the greatest ``as_of``, then the last written. Sorted by level and subject.
    """
    ranked = select(
        EvaluationRow.id,
        func.row_number()
        .over(
            partition_by=(EvaluationRow.level, EvaluationRow.subject),
            order_by=(EvaluationRow.as_of.desc(), EvaluationRow.id.desc()),
        )
        .label("rank"),
    ).where(EvaluationRow.org_id == org_id)
    if as_of is not None:
        ranked = ranked.where(EvaluationRow.as_of <= as_of)
    if subjects is not None:
        ranked = ranked.where(EvaluationRow.subject.in_(sorted(set(subjects))))
    latest = ranked.subquery()
    stmt = (
        select(EvaluationRow)
        .join(latest, latest.c.id == EvaluationRow.id)
        .where(latest.c.rank == 1)
        .order_by(EvaluationRow.level, EvaluationRow.subject)
    )
    return list(session.scalars(stmt))


def evaluations_between(
    session: Session,
    org_id: int,
    first: dt.date,
    last: dt.date,
    *,
    subjects: Collection[str] | None = None,
) -> list[EvaluationRow]:
    """Return every evaluation with ``as_of`` in [first, last], by subject, as_of and write order."""
    stmt = select(EvaluationRow).where(
        EvaluationRow.org_id == org_id,
        EvaluationRow.as_of >= first,
        EvaluationRow.as_of <= last,
    )
    if subjects is not None:
        stmt = stmt.where(EvaluationRow.subject.in_(sorted(set(subjects))))
    order = (EvaluationRow.level, EvaluationRow.subject, EvaluationRow.as_of, EvaluationRow.id)
    return list(session.scalars(stmt.order_by(*order)))


def risk_streaks(session: Session, org_id: int, before: dt.date, depth: int) -> dict[str, int]:
    """Return how many of each subject's last ``depth`` evaluated days before ``before`` were at risk in a row.

    A day evaluated several times counts once, by its last verdict; the count runs back from the
    latest day and stops at the first day not at risk (green or amber with an at-risk projection).
    """
    if depth < 1:
        return {}
    last_of_day = (
        select(func.max(EvaluationRow.id).label("id"))
        .where(EvaluationRow.org_id == org_id, EvaluationRow.as_of < before)
        .group_by(EvaluationRow.level, EvaluationRow.subject, EvaluationRow.as_of)
        .subquery()
    )
    ranked = (
        select(
            EvaluationRow.subject,
            EvaluationRow.status,
            EvaluationRow.at_risk,
            func.row_number()
            .over(
                partition_by=(EvaluationRow.level, EvaluationRow.subject), order_by=EvaluationRow.as_of.desc()
            )
            .label("rank"),
        )
        .join(last_of_day, last_of_day.c.id == EvaluationRow.id)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.subject, ranked.c.status, ranked.c.at_risk, ranked.c.rank)
        .where(ranked.c.rank <= depth)
        .order_by(ranked.c.subject, ranked.c.rank)
    ).all()
    streaks: dict[str, int] = {}
    broken: set[str] = set()
    for subject, status, at_risk, _ in rows:
        if subject in broken:
            continue
        if at_risk and status in ("green", "amber"):
            streaks[subject] = streaks.get(subject, 0) + 1
        else:
            broken.add(subject)
    return streaks


def statuses_on(session: Session, org_id: int, day: dt.date) -> list[tuple[str, str, bool]]:
    """Return (subject, status, at_risk) of every verdict stored for ``day``, in write order."""
    stmt = (
        select(EvaluationRow.subject, EvaluationRow.status, EvaluationRow.at_risk)
        .where(EvaluationRow.org_id == org_id, EvaluationRow.as_of == day)
        .order_by(EvaluationRow.id)
    )
    # In bulk: the live loop reads every subject's verdict after each evaluation.
    frame = bulk.read_frame(session, stmt, {"subject": pl.String, "status": pl.String, "at_risk": pl.Boolean})
    return frame.rows()
