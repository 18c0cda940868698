"""The hygiene case of a broken notification channel: opened when it is disabled, resolved when enabled.

A channel (a notify route, or a person's mailbox) that answers a permanent delivery error is
disabled and receives nothing until someone fixes it. That is a hygiene finding of its own
(DESIGN.md §1 step 6): the dispatcher opens a ``hygiene`` case on the subject
``channel:<id>`` for the person accountable for the route, and enabling the channel again
resolves it. The condition is a fact of the store, not of an evaluation, so governance runs
leave these cases alone (no streak, no relapse, no escalation): only the two transitions here
move them. Pure: the caller passes ``now`` and the people.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from onpace.domain.cases import SYSTEM_ACTOR, Case, CaseEvent, EventName, SubjectLevel
from onpace.domain.model import Policy

LEVEL: SubjectLevel = "channel"
RULE = "channel_disabled"


def channel_subject(channel_id: str) -> str:
    """Return the case subject of a channel; prefixed, so it never meets a KPI or KR id."""
    return f"{LEVEL}:{channel_id}"


def is_channel_case(case: Case) -> bool:
    """Return whether ``case`` is a broken channel's case (moved only by this module)."""
    return case.subject_level == LEVEL


def open_channel_case(
    channel_id: str,
    *,
    reason: str,
    people: Sequence[str],
    policy: Policy,
    now: dt.datetime,
) -> tuple[Case, CaseEvent]:
    """Return the new hygiene case of a channel just disabled, and its ``case_opened`` event.

    ``people`` are those accountable for the channel, the first one owning the case (None when
    nobody is); the deadlines follow ``policy.sla`` like any case's.
    """
    owner = people[0] if people else None
    title = f"Notification channel {channel_id} is disabled"
    detail: dict[str, object] = {
        "title": title,
        "channel": channel_id,
        "reason": reason,
        "findings": [{"rule": RULE, "message": f"{title}: {reason}"}],
    }
    case = Case(
        subject=channel_subject(channel_id),
        subject_level=LEVEL,
        family="hygiene",
        kind="hygiene",
        owner=owner,
        holder=owner,
        rung=0,
        opened_at=now,
        explain_due=now + policy.sla.explain,
        act_due=now + policy.sla.act,
        participants=tuple(dict.fromkeys(people)),
        severity=1.0,
        detail=detail,
    )
    deadlines = {"explain_due": case.explain_due.isoformat(), "act_due": case.act_due.isoformat()}
    return case, _event("case_opened", case, now, SYSTEM_ACTOR, {**detail, **deadlines})


def resolve_channel_case(case: Case, *, by: str, now: dt.datetime) -> tuple[Case, CaseEvent]:
    """Return the channel's case resolved because ``by`` enabled the channel again, and the event."""
    if not is_channel_case(case):
        raise ValueError(f"case {case.id} is not a channel's case")
    resolved = dataclasses.replace(case, state="resolved", resolved_at=now)
    detail = {"reason": "channel enabled again", "by": by, "channel": case.detail.get("channel")}
    return resolved, _event("case_resolved", resolved, now, by, detail)


def _event(name: EventName, case: Case, now: dt.datetime, by: str, detail: dict[str, object]) -> CaseEvent:
    return CaseEvent(
        event=name,
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
        detail=detail,
    )
