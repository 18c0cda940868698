"""What people do with a case: explain it, commit corrective actions, comment, close it.

Each function takes a case and returns the updated case with the event that records the
transition (who and when). They raise :class:`CaseWorkflowError` with a plain sentence when the
step is not allowed (a closed case, an unknown root-cause category, an empty title …).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from onpace.domain.cases import CAUSE_CATEGORIES, Action, Case, CaseEvent, EventName


class CaseWorkflowError(ValueError):
    """Raise when a workflow step is not allowed; the message says why in one sentence."""


def _event(
    case: Case, event: EventName, by: str, now: dt.datetime, detail: Mapping[str, object]
) -> CaseEvent:
    return CaseEvent(
        event=event,
        kind=case.kind,
        subject=case.subject,
        subject_level=case.subject_level,
        at=now,
        owner=case.owner,
        participants=case.participants,
        level=case.rung,
        family=case.family,
        case_id=case.id,
        by=by,
        detail=dict(detail),
    )


def _require_open(case: Case, step: str) -> None:
    if not case.is_open:
        raise CaseWorkflowError(f"case on {case.subject} is resolved; it cannot be {step}")


def _require_text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise CaseWorkflowError(f"{what} must not be empty")
    return text


def explain(case: Case, *, category: str, text: str, by: str, now: dt.datetime) -> tuple[Case, CaseEvent]:
    """Record the root cause (a category and a text); the first explanation meets the explain SLA."""
    _require_open(case, "explained")
    if category not in CAUSE_CATEGORIES:
        raise CaseWorkflowError(
            f"unknown root-cause category {category!r}; use one of {', '.join(CAUSE_CATEGORIES)}"
        )
    body = _require_text(text, "the explanation")
    updated = dataclasses.replace(
        case,
        explained_at=case.explained_at or now,
        detail={**case.detail, "cause_category": category, "cause": body},
    )
    late = now > case.explain_due
    return updated, _event(
        updated, "case_explained", by, now, {"category": category, "text": body, "late": late}
    )


def commit_action(
    case: Case, *, title: str, owner: str, due: dt.date, by: str, now: dt.datetime
) -> tuple[Case, CaseEvent]:
    """Commit a corrective action (title, owner, due date); the first one meets the act SLA."""
    _require_open(case, "acted on")
    name = _require_text(title, "the action's title")
    who = _require_text(owner, "the action's owner")
    if due < now.date():
        raise CaseWorkflowError(f"the action's due date {due} is already past")
    action = Action(title=name, owner=who, due=due, created_at=now)
    updated = dataclasses.replace(case, acted_at=case.acted_at or now, actions=(*case.actions, action))
    late = now > case.act_due
    detail = {"title": name, "owner": who, "due": due.isoformat(), "late": late}
    return updated, _event(updated, "action_committed", by, now, detail)


def complete_action(case: Case, *, action_id: int, by: str, now: dt.datetime) -> tuple[Case, CaseEvent]:
    """Mark one of the case's corrective actions done."""
    found = next((a for a in case.actions if a.id == action_id), None)
    if found is None:
        raise CaseWorkflowError(f"case on {case.subject} has no action {action_id}")
    if found.done_at is not None:
        raise CaseWorkflowError(f"action {action_id} was already done on {found.done_at.date()}")
    done = dataclasses.replace(found, done_at=now)
    actions = tuple(done if a.id == action_id else a for a in case.actions)
    updated = dataclasses.replace(case, actions=actions)
    detail = {"action": action_id, "title": found.title, "late": now.date() > found.due}
    return updated, _event(updated, "action_done", by, now, detail)


def comment(case: Case, *, text: str, by: str, now: dt.datetime) -> tuple[Case, CaseEvent]:
    """Add a comment to a case (open or resolved): the case itself does not change."""
    body = _require_text(text, "the comment")
    return case, _event(case, "case_commented", by, now, {"text": body})


def close(
    case: Case, *, by: str, now: dt.datetime, note: str = "", reason: str = "closed"
) -> tuple[Case, CaseEvent]:
    """Resolve a case by hand (or by an approved re-baseline: ``reason="rebaseline"``).

    Closing does not silence the data: if the case's condition is still there at the next
    evaluation, the relapse rule reopens it. A re-baseline that fixes the plan is the way to
    close a variance case whose plan, not performance, was wrong.
    """
    _require_open(case, "closed")
    updated = dataclasses.replace(case, state="resolved", resolved_at=now, good_streak=0)
    detail: dict[str, object] = {"reason": reason, "by": by}
    if note.strip():
        detail["note"] = note.strip()
    return updated, _event(updated, "case_resolved", by, now, detail)


def resolve_by_rebaseline(
    case: Case, *, rebaseline: str, by: str, now: dt.datetime
) -> tuple[Case, CaseEvent]:
    """Resolve a variance case because its plan was re-baselined and the new plan approved."""
    if case.family != "variance":
        raise CaseWorkflowError(f"only a variance case resolves by re-baseline, not a {case.family} case")
    return close(case, by=by, now=now, note=f"re-baseline {rebaseline} approved", reason="rebaseline")
