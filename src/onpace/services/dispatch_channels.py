"""Disable a notification channel that fails for good, and enable it again: its hygiene case and its audit.

A permanent error disables the channel (``channels.enabled = false`` with the reason) and raises
a hygiene finding: a ``hygiene`` case on ``channel:<id>`` (see :mod:`onpace.domain.channel_cases`),
an audit row, and a ``channel_disabled`` outbox event mailed to the people accountable for the
channel. :func:`enable_channel` resolves the case.
"""

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence

import structlog
from sqlalchemy.orm import Session

from onpace.domain.cases import Case
from onpace.domain.channel_cases import channel_subject, open_channel_case, resolve_channel_case
from onpace.domain.model import Model
from onpace.services.audit import append_audit
from onpace.services.cases import case_from_row, record_events, save_case
from onpace.services.dispatch_messages import CHANNEL_DISABLED
from onpace.services.routing import EMAIL_CHANNEL_PREFIX
from onpace.storage.repositories import cases_repo, outbox_repo
from onpace.storage.tables import ChannelRow, OutboxRow

ACTOR = "onpace"
log = structlog.get_logger("onpace.dispatch")


def disabled_channels(session: Session, org_id: int) -> list[ChannelRow]:
    """Return the organisation's disabled channels, with reason and time (a hygiene finding each)."""
    return [row for row in outbox_repo.channels(session, org_id).values() if not row.enabled]


def enable_channel(session: Session, org_id: int, channel_id: str, *, by: str, now: dt.datetime) -> bool:
    """Enable a disabled channel again (after someone fixed it); return whether it was disabled."""
    row = session.get(ChannelRow, (org_id, channel_id))
    if row is None or row.enabled:
        return False
    row.enabled, row.disabled_reason, row.disabled_at, row.updated_at = True, None, None, now
    append_audit(
        session, org_id=org_id, at=now, actor=by, action="channel.enabled", subject=f"channel:{channel_id}"
    )
    for case in _open_channel_cases(session, org_id, channel_id):
        resolved, event = resolve_channel_case(case, by=by, now=now)
        save_case(session, org_id, resolved, now=now, by=by)
        record_events(session, org_id, [event])
    return True


def _open_channel_cases(session: Session, org_id: int, channel_id: str) -> list[Case]:
    rows = cases_repo.cases(
        session, org_id, status="open", subject=channel_subject(channel_id), family="hygiene"
    )
    return [case_from_row(row) for row in rows]


def _channel_watchers(model: Model, channel_id: str) -> list[str]:
    """Return who hears that a channel broke: its route's unit heads and people, else the top heads."""
    heads: list[str | None] = []
    route = next((r for r in model.notify if r.id == channel_id), None)
    if route is not None:
        heads += [u.head for u in model.units if u.id in route.units]
        heads += list(route.people)
    elif channel_id.startswith(EMAIL_CHANNEL_PREFIX):
        person = model.person(channel_id.removeprefix(EMAIL_CHANNEL_PREFIX))
        unit = model.unit(person.unit) if person is not None else None
        if unit is not None:
            heads.append(unit.head)
            parent = model.unit(unit.parent)
            heads.append(parent.head if parent is not None else None)
    if not any(heads):
        heads = [u.head for u in model.units if u.parent is None]
    # The person whose own mailbox broke cannot be told through it.
    broken = (
        channel_id.removeprefix(EMAIL_CHANNEL_PREFIX) if channel_id.startswith(EMAIL_CHANNEL_PREFIX) else None
    )
    return [h for h in dict.fromkeys(heads) if h and h != broken]


def disable_channel(
    session: Session, org_id: int, channel_id: str, *, reason: str, now: dt.datetime, model: Model
) -> None:
    """Disable a channel and raise the hygiene finding (channel row, audit row, outbox event); not committed."""
    row = session.get(ChannelRow, (org_id, channel_id))
    if row is None:
        row = ChannelRow(org_id=org_id, id=channel_id, enabled=True, updated_at=now)
        session.add(row)
    elif not row.enabled:
        return
    row.enabled, row.disabled_reason, row.disabled_at, row.updated_at = False, reason[:2000], now, now
    append_audit(
        session,
        org_id=org_id,
        at=now,
        actor=ACTOR,
        action="channel.disabled",
        subject=f"channel:{channel_id}",
        payload={"reason": reason[:2000]},
    )
    watchers = _channel_watchers(model, channel_id)
    case_id = _open_case_for(
        session, org_id, channel_id, reason=reason[:2000], people=watchers, model=model, now=now
    )
    payload = {
        "as_of": now.date().isoformat(),
        "event": CHANNEL_DISABLED,
        "kind": "hygiene",
        "subject": channel_id,
        "owner": watchers[0] if watchers else None,
        "participants": watchers,
        "level": 0,
        "detail": {
            "subject_level": "channel",
            "reason": reason[:2000],
            "at": now.isoformat(),
            "by": ACTOR,
            "case": case_id,
        },
    }
    key = hashlib.sha256(f"{org_id}|{CHANNEL_DISABLED}|{channel_id}|{now.isoformat()}".encode()).hexdigest()
    session.add(
        OutboxRow(
            org_id=org_id,
            event=CHANNEL_DISABLED,
            payload=payload,
            idempotency_key=key,
            created_at=now,
            run_after=None,
            attempts=0,
        )
    )
    session.flush()
    log.warning("channel.disabled", org=org_id, channel=channel_id, reason=reason, case=case_id)


def _open_case_for(
    session: Session,
    org_id: int,
    channel_id: str,
    *,
    reason: str,
    people: Sequence[str],
    model: Model,
    now: dt.datetime,
) -> int | None:
    """Open the channel's hygiene case unless one is open; return the open case's id."""
    already = _open_channel_cases(session, org_id, channel_id)
    if already:
        return already[0].id
    case, event = open_channel_case(channel_id, reason=reason, people=people, policy=model.policy, now=now)
    saved = save_case(session, org_id, case, now=now)
    # The channel_disabled event written next tells the people; the case event is the record.
    record_events(session, org_id, [dataclasses.replace(event, case_id=saved.id)], outbox=False)
    return saved.id
