"""Owners' check-ins: read the check-ins CSV, record check-ins, and load them for governance.

The CSV is ``subject,date,status,confidence,by[,comment]`` (DESIGN.md §5): subject a KR or
objective id, status green/amber/red, confidence 0–10. A bad row is refused with its file, line
and field, never a traceback.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.domain.checkins import REPORTED_STATUSES, CheckIn, ReportedStatus
from onpace.domain.model import Model
from onpace.errors import UserError
from onpace.services.audit import append_audit
from onpace.storage.repositories import checkins_repo
from onpace.storage.tables import CheckinRow

REQUIRED = ("subject", "date", "status", "confidence", "by")


def parse_checkin(raw: dict[str, str | None], where: str, subjects: set[str] | None = None) -> CheckIn:
    """Return the check-in of one CSV record; raise :class:`UserError` naming ``where`` and the field."""

    def field(name: str) -> str:
        value = (raw.get(name) or "").strip()
        if not value and name != "comment":
            raise UserError(f"{where}: field `{name}` is empty")
        return value

    subject = field("subject")
    if subjects is not None and subject not in subjects:
        raise UserError(
            f"{where}: field `subject`: {subject!r} is not a key result or objective of the model"
        )
    text = field("date")
    try:
        day = dt.date.fromisoformat(text[:10])
    except ValueError:
        raise UserError(f"{where}: field `date`: {text!r} is not a date (use YYYY-MM-DD)") from None
    status = field("status").lower()
    if status not in REPORTED_STATUSES:
        raise UserError(f"{where}: field `status`: {status!r} is not one of green, amber, red")
    confidence_text = field("confidence")
    try:
        confidence = int(float(confidence_text))
    except ValueError:
        raise UserError(f"{where}: field `confidence`: {confidence_text!r} is not a number") from None
    if not 0 <= confidence <= 10 or float(confidence_text) != confidence:
        raise UserError(f"{where}: field `confidence`: {confidence_text} is not a whole number from 0 to 10")
    return CheckIn(
        subject=subject,
        date=day,
        status=status,
        confidence=confidence,
        by=field("by"),
        comment=(raw.get("comment") or "").strip(),
    )


def new_checkin(
    model: Model,
    *,
    subject: str,
    day: dt.date,
    status: str,
    confidence: int,
    by: str,
    comment: str = "",
) -> CheckIn:
    """Return a check-in given on the command line or in the app, checked like a CSV row."""
    subjects = {kr.id for kr in model.key_results} | {o.id for o in model.objectives}
    raw: dict[str, str | None] = {
        "subject": subject,
        "date": day.isoformat(),
        "status": status,
        "confidence": str(confidence),
        "by": by,
        "comment": comment,
    }
    return parse_checkin(raw, "check-in", subjects)


def refuse_unless_owner(model: Model, subject: str, by: str) -> None:
    """Raise :class:`UserError` unless ``by`` owns ``subject`` (a check-in is the owner's own word).

    The API refuses the same (``services.auth.may_check_in``); an unknown subject is left for
    :func:`new_checkin` to report.
    """
    owners = {o.id: o.owner for o in model.objectives} | {kr.id: kr.owner for kr in model.key_results}
    if subject in owners and owners[subject] != by:
        owner = owners[subject] or "nobody"
        raise UserError(
            f"check-in: {by!r} does not own {subject!r} (its owner is {owner}); only the owner checks in"
        )


def read_checkins_csv(path: Path, model: Model | None = None) -> list[CheckIn]:
    """Return every check-in of a CSV file, in file order; refuse the file at its first bad row."""
    subjects = None
    if model is not None:
        subjects = {kr.id for kr in model.key_results} | {o.id for o in model.objectives}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise UserError(f"{path}:1: the header lacks {', '.join(missing)} (need {','.join(REQUIRED)})")
        reader.fieldnames = header
        found = []
        for record in reader:
            if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
                continue
            found.append(parse_checkin(record, f"{path}:{reader.line_num}", subjects))
    return found


def record_checkins(session: Session, org_id: int, checkins: Iterable[CheckIn], *, now: dt.datetime) -> int:
    """Store check-ins (with an audit row each); return how many were stored.

    A check-in for a subject and date its author already reported on replaces that one as the
    latest: its audit row names the check-in it replaces, with the values before and after.
    """
    batch = list(checkins)
    earlier = _latest_reports(session, org_id, batch)
    count = 0
    for checkin in batch:
        row = CheckinRow(
            org_id=org_id,
            subject=checkin.subject,
            date=checkin.date,
            status=checkin.status,
            confidence=checkin.confidence,
            reported_by=checkin.by,
            comment=checkin.comment or None,
            created_at=now,
        )
        session.add(row)
        session.flush()
        key = (checkin.subject, checkin.date, checkin.by)
        previous = earlier.get(key)
        payload: dict[str, object] = {
            "id": row.id,
            "date": checkin.date,
            "status": checkin.status,
            "confidence": checkin.confidence,
            "comment": checkin.comment,
        }
        if previous is not None:
            payload["replaces"] = previous.id
            payload["before"] = {
                "status": previous.status,
                "confidence": previous.confidence,
                "comment": previous.comment,
            }
        earlier[key] = row
        append_audit(
            session,
            org_id=org_id,
            at=now,
            actor=checkin.by,
            action="checkin.record" if previous is None else "checkin.corrected",
            subject=checkin.subject,
            payload=payload,
        )
        count += 1
    session.flush()
    return count


def _latest_reports(
    session: Session, org_id: int, batch: Sequence[CheckIn]
) -> dict[tuple[str, dt.date, str | None], CheckinRow]:
    """Return the latest stored check-in per (subject, date, author) among those ``batch`` touches (one query)."""
    if not batch:
        return {}
    subjects = {c.subject for c in batch}
    dates = {c.date for c in batch}
    rows = session.scalars(
        select(CheckinRow)
        .where(CheckinRow.org_id == org_id, CheckinRow.subject.in_(subjects), CheckinRow.date.in_(dates))
        .order_by(CheckinRow.id)
    )
    return {(row.subject, row.date, row.reported_by): row for row in rows}


def checkins_as_of(session: Session, org_id: int, as_of: dt.date) -> list[CheckIn]:
    """Return the stored check-ins dated on or before ``as_of`` as domain values."""
    return [
        CheckIn(
            subject=row.subject,
            date=row.date,
            status=cast(ReportedStatus, row.status),
            confidence=row.confidence if row.confidence is not None else 0,
            by=row.reported_by or "",
            comment=row.comment or "",
        )
        for row in checkins_repo.checkins(session, org_id, as_of)
    ]
