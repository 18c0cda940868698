"""Cases in the store: load them as domain values, write decisions back, and the people's workflow.

Every case transition is written the same way (:func:`record_events`): a ``case_events`` row
(who, when, what), one ``outbox`` row for the notifiers — in the same transaction, so nothing is
sent before commit — and one audit row. The workflow functions (explain, act, complete an
action, comment, close) load the case, apply the pure step from
``onpace.domain.case_workflow`` and record it. Nothing here commits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onpace.domain import case_workflow
from onpace.domain.audit_chain import canonical_json
from onpace.domain.cases import Action, Case, CaseEvent
from onpace.errors import UserError
from onpace.services.audit import AuditEntry, append_audits
from onpace.storage.repositories import cases_repo
from onpace.storage.tables import CaseEventRow, CaseRow, CorrectiveActionRow, OutboxRow

# Keys of ``cases.detail`` that carry state the table has no column for.
HOLDER = "holder"
MISSED = "missed"
PUBLIC_EVENTS = ("case_opened", "case_escalated", "case_resolved", "status_changed")


def _json(value: Mapping[str, object]) -> dict[str, Any]:
    """Return ``value`` as plain JSON data (dates and datetimes as ISO text)."""
    loaded: dict[str, Any] = json.loads(canonical_json(value))
    return loaded


def case_from_row(row: CaseRow, actions: Sequence[CorrectiveActionRow] = ()) -> Case:
    """Return the domain value of a stored case."""
    detail = dict(row.detail or {})
    holder = detail.pop(HOLDER, row.owner)
    missed = tuple(str(m) for m in detail.pop(MISSED, []) or [])
    opened = row.opened_at
    return Case(
        id=row.id,
        subject=row.subject,
        subject_level=cast(Any, row.subject_level),
        family=cast(Any, row.family),
        kind=cast(Any, row.kind),
        owner=row.owner,
        holder=cast(str | None, holder),
        rung=row.level,
        opened_at=opened,
        explain_due=row.explain_due or opened,
        act_due=row.act_due or opened,
        state=cast(Any, row.status),
        participants=tuple(row.participants or ()),
        cycle=row.cycle,
        explained_at=row.explained_at,
        acted_at=row.acted_at,
        missed=missed,
        actions=tuple(
            Action(
                title=a.title, owner=a.owner, due=a.due, id=a.id, done_at=a.done_at, created_at=a.created_at
            )
            for a in actions
        ),
        good_streak=row.good_streak,
        resolved_at=row.resolved_at,
        severity=row.severity,
        detail=detail,
    )


def _row_values(case: Case, now: dt.datetime) -> dict[str, Any]:
    detail = _json({**case.detail, HOLDER: case.holder, MISSED: list(case.missed)})
    return {
        "family": case.family,
        "kind": case.kind,
        "subject": case.subject,
        "subject_level": case.subject_level,
        "owner": case.owner,
        "participants": list(case.participants),
        "status": case.state,
        "level": case.rung,
        "cycle": case.cycle,
        "opened_at": case.opened_at,
        "explain_due": case.explain_due,
        "act_due": case.act_due,
        "explained_at": case.explained_at,
        "acted_at": case.acted_at,
        "resolved_at": case.resolved_at,
        "severity": case.severity,
        "detail": detail,
        "good_streak": case.good_streak,
        "updated_at": now,
    }


def save_case(session: Session, org_id: int, case: Case, *, now: dt.datetime, by: str | None = None) -> Case:
    """Insert or update a case and its new corrective actions; return it with ids filled in."""
    values = _row_values(case, now)
    if case.id is None:
        row = CaseRow(org_id=org_id, **values)
        session.add(row)
        session.flush()
    else:
        found = cases_repo.get_case(session, org_id, case.id)
        if found is None:
            raise UserError(f"there is no case {case.id}")
        row = found
        for key, value in values.items():
            setattr(row, key, value)
    actions = []
    for action in case.actions:
        if action.id is None:
            stored = CorrectiveActionRow(
                org_id=org_id,
                case_id=row.id,
                title=action.title,
                owner=action.owner,
                due=action.due,
                done_at=action.done_at,
                created_by=by,
                created_at=action.created_at or now,
            )
            session.add(stored)
            session.flush()
            action = dataclasses.replace(action, id=stored.id)  # noqa: PLW2901 - the stored version
        else:
            existing = session.get(CorrectiveActionRow, action.id)
            if existing is not None and existing.done_at != action.done_at:
                existing.done_at = action.done_at
        actions.append(action)
    session.flush()
    return dataclasses.replace(case, id=row.id, actions=tuple(actions))


def load_case(session: Session, org_id: int, case_id: int) -> Case:
    """Return one case of the organisation; raise :class:`UserError` when there is none."""
    row = cases_repo.get_case(session, org_id, case_id)
    if row is None:
        raise UserError(f"there is no case {case_id}")
    return case_from_row(row, cases_repo.actions_for(session, [row.id]).get(row.id, []))


def governed_cases(session: Session, org_id: int) -> list[Case]:
    """Return the cases governance needs: every open case and the latest resolved one per subject and family."""
    ranked = (
        select(
            CaseRow.id,
            func.row_number()
            .over(
                partition_by=(CaseRow.subject, CaseRow.family),
                order_by=(CaseRow.resolved_at.desc(), CaseRow.id.desc()),
            )
            .label("rank"),
        )
        .where(CaseRow.org_id == org_id, CaseRow.status == "resolved")
        .subquery()
    )
    latest_resolved = select(ranked.c.id).where(ranked.c.rank == 1)
    stmt = (
        select(CaseRow)
        .where(CaseRow.org_id == org_id)
        .where((CaseRow.status == "open") | CaseRow.id.in_(latest_resolved))
        .order_by(CaseRow.opened_at, CaseRow.id)
    )
    rows = list(session.scalars(stmt))
    actions = cases_repo.actions_for(session, [r.id for r in rows])
    return [case_from_row(r, actions.get(r.id, [])) for r in rows]


def public_event(event: CaseEvent, as_of: dt.date | None = None) -> dict[str, Any]:
    """Return the event as the public contract shows it (DESIGN.md §5), JSON-ready.

    ``{"as_of", "event", "kind", "subject", "owner", "participants", "level", "detail"}``; a
    reopened case is announced as ``case_opened`` with ``detail.reopened``; ``level`` is the
    case's escalation rung (0 = the owner).
    """
    detail: dict[str, Any] = {
        "case": event.case_id,
        "family": event.family,
        "subject_level": event.subject_level,
        "at": event.at.isoformat(),
        "by": event.by,
        **_json(event.detail),
    }
    return {
        "as_of": (as_of or event.at.date()).isoformat(),
        "event": event.public_event,
        "kind": event.kind,
        "subject": event.subject,
        "owner": event.owner,
        "participants": list(event.participants),
        "level": event.level,
        "detail": detail,
    }


def _idempotency_key(org_id: int, event: CaseEvent, ordinal: int) -> str:
    """Return a key naming this event uniquely and the same way every time it is decided."""
    who = f"case:{event.case_id}" if event.case_id is not None else f"subject:{event.subject}"
    raw = f"{org_id}|{who}|{event.event}|{event.kind}|{event.at.isoformat()}|{ordinal}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Recorded:
    """An event as written: with its case id filled in and the outbox key it got."""

    event: CaseEvent
    outbox_key: str | None


def record_events(
    session: Session,
    org_id: int,
    events: Iterable[CaseEvent],
    *,
    as_of: dt.date | None = None,
    outbox: bool = True,
) -> list[Recorded]:
    """Write each event: a case_events row (when it concerns a case), an outbox row, an audit row.

    An outbox row whose idempotency key is already stored (the same decision written twice)
    is not written again. Events without a case id (a status change on a subject with no case)
    go to the outbox only.
    """
    items = list(events)
    keys: list[str] = []
    seen: dict[str, int] = {}
    for event in items:
        base = _idempotency_key(org_id, event, 0)
        seen[base] = seen.get(base, -1) + 1
        keys.append(_idempotency_key(org_id, event, seen[base]))
    existing = set()
    if outbox and keys:
        stmt = select(OutboxRow.idempotency_key).where(OutboxRow.idempotency_key.in_(keys))
        existing = set(session.scalars(stmt))
    recorded: list[Recorded] = []
    audits: list[AuditEntry] = []
    for event, key in zip(items, keys, strict=True):
        if event.case_id is not None:
            session.add(
                CaseEventRow(
                    org_id=org_id,
                    case_id=event.case_id,
                    at=event.at,
                    event=event.event,
                    actor=event.by,
                    detail=_json({"kind": event.kind, "level": event.level, **event.detail}),
                )
            )
            audits.append(
                AuditEntry(
                    org_id=org_id,
                    at=event.at,
                    actor=event.by,
                    action=f"case.{event.event}",
                    subject=f"case:{event.case_id}",
                    payload={
                        "subject": event.subject,
                        "kind": event.kind,
                        "level": event.level,
                        **event.detail,
                    },
                )
            )
        written: str | None = None
        if outbox and key not in existing:
            session.add(
                OutboxRow(
                    org_id=org_id,
                    event=event.public_event,
                    payload=public_event(event, as_of),
                    idempotency_key=key,
                    created_at=event.at,
                    run_after=None,
                    attempts=0,
                )
            )
            existing.add(key)
            written = key
        recorded.append(Recorded(event, written))
    # One chain append for all of them, in the events' order.
    append_audits(session, audits)
    session.flush()
    return recorded


# ---------------------------------------------------------------------------------------------
# the people's workflow


def _step(
    session: Session, org_id: int, step: tuple[Case, CaseEvent], *, now: dt.datetime, by: str
) -> CaseEvent:
    updated, event = step
    saved = save_case(session, org_id, updated, now=now, by=by)
    event = dataclasses.replace(event, case_id=saved.id, participants=saved.participants)
    record_events(session, org_id, [event])
    return event


def _workflow_error(exc: case_workflow.CaseWorkflowError) -> UserError:
    return UserError(str(exc))


def explain_case(
    session: Session, org_id: int, case_id: int, *, category: str, text: str, by: str, now: dt.datetime
) -> CaseEvent:
    """Record a case's root cause (category and text) by ``by`` at ``now``."""
    case = load_case(session, org_id, case_id)
    try:
        step = case_workflow.explain(case, category=category, text=text, by=by, now=now)
    except case_workflow.CaseWorkflowError as exc:
        raise _workflow_error(exc) from None
    return _step(session, org_id, step, now=now, by=by)


def act_on_case(
    session: Session,
    org_id: int,
    case_id: int,
    *,
    title: str,
    owner: str,
    due: dt.date,
    by: str,
    now: dt.datetime,
) -> CaseEvent:
    """Commit a corrective action (title, owner, due date) on a case."""
    case = load_case(session, org_id, case_id)
    try:
        step = case_workflow.commit_action(case, title=title, owner=owner, due=due, by=by, now=now)
    except case_workflow.CaseWorkflowError as exc:
        raise _workflow_error(exc) from None
    return _step(session, org_id, step, now=now, by=by)


def complete_action(
    session: Session, org_id: int, case_id: int, action_id: int, *, by: str, now: dt.datetime
) -> CaseEvent:
    """Mark a corrective action of a case done."""
    case = load_case(session, org_id, case_id)
    try:
        step = case_workflow.complete_action(case, action_id=action_id, by=by, now=now)
    except case_workflow.CaseWorkflowError as exc:
        raise _workflow_error(exc) from None
    return _step(session, org_id, step, now=now, by=by)


def comment_on_case(
    session: Session, org_id: int, case_id: int, *, text: str, by: str, now: dt.datetime
) -> CaseEvent:
    """Add a comment to a case."""
    case = load_case(session, org_id, case_id)
    try:
        step = case_workflow.comment(case, text=text, by=by, now=now)
    except case_workflow.CaseWorkflowError as exc:
        raise _workflow_error(exc) from None
    return _step(session, org_id, step, now=now, by=by)


def close_case(
    session: Session, org_id: int, case_id: int, *, by: str, now: dt.datetime, note: str = ""
) -> CaseEvent:
    """Resolve a case by hand (a relapse at the next evaluation reopens it)."""
    case = load_case(session, org_id, case_id)
    try:
        step = case_workflow.close(case, by=by, now=now, note=note)
    except case_workflow.CaseWorkflowError as exc:
        raise _workflow_error(exc) from None
    return _step(session, org_id, step, now=now, by=by)


def list_cases(
    session: Session, org_id: int, *, mine: str | None = None, open_only: bool = False
) -> list[Case]:
    """Return cases, oldest first: only open ones, and/or only those ``mine`` owns, holds or takes part in."""
    rows = cases_repo.cases(session, org_id, status="open" if open_only else None)
    actions = cases_repo.actions_for(session, [r.id for r in rows])
    found = [case_from_row(r, actions.get(r.id, [])) for r in rows]
    if mine is None:
        return found
    return [c for c in found if mine in (c.owner, c.holder) or mine in c.participants]


def case_history(session: Session, org_id: int, case_id: int) -> list[CaseEventRow]:
    """Return a case's events in order (raise :class:`UserError` for an unknown case)."""
    load_case(session, org_id, case_id)
    return cases_repo.events_for(session, [case_id]).get(case_id, [])
