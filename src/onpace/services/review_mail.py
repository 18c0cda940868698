"""Send the weekly review: once a week per organisation, on its policy's review day, a pack for each unit head.

- :func:`sync_review_schedules` keeps one ``review`` job per organisation, due on the policy's
  ``review_weekday`` at :data:`REVIEW_TIME` (UTC), so the pack is in the mailbox before the
  meeting; a changed review day moves the next run at once.
- :func:`run_review_job` builds and stores the organisation's pack and one pack per unit that
  has a head (the unit and the units below it), as of the latest evaluation, and writes one
  ``review_ready`` outbox row per unit head in the same transaction. The dispatcher delivers
  it like any event: to the head's own email and to the routes that take ``review_ready``. The
  mail is the pack as HTML (with a plain-text alternative), chats get the Markdown pack, both
  with a link to the pack's web page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onpace.domain.model import Model, Policy
from onpace.domain.review import ReviewPack, next_review_at
from onpace.domain.review_merge import summarise
from onpace.reports.html import pack_css, render_body
from onpace.reports.markdown import render_markdown
from onpace.services import jobs
from onpace.services.dispatch import DispatchOptions
from onpace.services.dispatch_messages import REVIEW_READY
from onpace.services.review import build_packs, org_model, save_pack
from onpace.storage import codec
from onpace.storage.repositories import review_repo
from onpace.storage.tables import JobRow, OrgRow, OutboxRow, PolicyRow

log = structlog.get_logger("onpace.review")

REVIEW = "review"
#: When the pack goes out on the review day (UTC): before anyone's working day starts in Europe.
REVIEW_TIME = dt.time(6, 0)


def review_key(org_id: int) -> str:
    """Return the dedupe key of an organisation's review schedule."""
    return f"{REVIEW}:{org_id}"


def review_link(base_url: str, unit: str | None) -> str:
    """Return the address of the review page of a scope."""
    root = base_url.rstrip("/")
    return f"{root}/review?unit={unit}" if unit else f"{root}/review"


def _weekdays(session: Session) -> dict[int, str]:
    """Return each organisation's review day (its policy's, else the default)."""
    rows = session.execute(select(PolicyRow.org_id, PolicyRow.content)).all()
    policies: dict[int, Any] = dict(rows)
    default = Policy().review_weekday
    found = {}
    for org_id in session.scalars(select(OrgRow.id)):
        doc = policies.get(org_id)
        found[org_id] = codec.decode_policy(doc).review_weekday if doc else default
    return found


def sync_review_schedules(session: Session, *, now: dt.datetime, at: dt.time = REVIEW_TIME) -> int:
    """Keep one review job per organisation, due on its review day at ``at``; not committed.

    A new organisation gets its job; one whose review day changed has its next run moved to
    the new day. Return the number of jobs added or moved. (A deleted organisation's job goes
    with it: jobs cascade.)
    """
    existing = {
        row.dedupe_key: row
        for row in session.scalars(select(JobRow).where(JobRow.kind == REVIEW))
        if row.dedupe_key
    }
    changes = 0
    for org_id, weekday in _weekdays(session).items():
        key = review_key(org_id)
        row = existing.get(key)
        payload: dict[str, Any] = {"weekday": weekday, "at": at.isoformat()}
        if row is None or row.done_at is not None:
            when = next_review_at(weekday, now, at)
            jobs.enqueue(session, REVIEW, payload, now=now, org_id=org_id, run_after=when, dedupe_key=key)
            changes += 1
        elif row.payload.get("weekday") != weekday or row.payload.get("at") != at.isoformat():
            session.execute(
                update(JobRow)
                .where(JobRow.id == row.id)
                .values(payload={**row.payload, **payload}, run_after=next_review_at(weekday, now, at))
            )
            changes += 1
    return changes


def _idempotency_key(org_id: int, pack: ReviewPack, person: str) -> str:
    raw = f"{org_id}|{REVIEW_READY}|{pack.unit or '-'}|{pack.as_of.isoformat()}|{person}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def review_event(pack: ReviewPack, head: str, *, base_url: str) -> dict[str, Any]:
    """Return the outbox payload telling ``head`` their unit's pack is ready (the public event shape)."""
    new = next((len(s.items) for s in pack.sections if s.key == "new_breaches"), 0)
    return {
        "as_of": pack.as_of.isoformat(),
        "event": REVIEW_READY,
        "kind": REVIEW,
        "subject": pack.unit,
        "owner": head,
        "participants": [head],
        "level": 0,
        "detail": {
            "subject_level": "unit",
            "unit_name": pack.unit_name,
            "pack": pack.id,
            "items": len(pack.items),
            "new_breaches": new,
            "link": review_link(base_url, pack.unit),
            "markdown": render_markdown(pack, base_url=base_url),
            "html": f"<style>{pack_css()}</style>{render_body(pack, base_url=base_url)}",
        },
    }


def publish_reviews(
    session: Session,
    org_id: int,
    *,
    now: dt.datetime,
    base_url: str,
    model: Model | None = None,
    as_of: dt.date | None = None,
) -> list[ReviewPack]:
    """Build and store the organisation's pack and each headed unit's, and tell each unit head; not committed.

    Return the stored packs, the organisation's first. A unit head already told about the
    same pack (same unit and date) is not told twice. Nothing is built before the first
    evaluation (an empty list comes back).
    """
    model = model or org_model(session, org_id)
    day = as_of or review_repo.latest_evaluation_date(session, org_id)
    if day is None:
        return []
    headed = [u for u in model.units if u.head]
    built = build_packs(session, org_id, [None, *(u.id for u in headed)], as_of=day, now=now, model=model)
    packs = [save_pack(session, org_id, pack, now=now) for pack in built]
    heads = {u.id: str(u.head) for u in headed}
    events = {
        _idempotency_key(org_id, pack, heads[pack.unit]): (pack, heads[pack.unit])
        for pack in packs
        if pack.unit
    }
    told = set(
        session.scalars(select(OutboxRow.idempotency_key).where(OutboxRow.idempotency_key.in_(events)))
    )
    for key, (pack, head) in events.items():
        if key in told or _empty(pack):
            continue
        session.add(
            OutboxRow(
                org_id=org_id,
                event=REVIEW_READY,
                payload=review_event(pack, head, base_url=base_url),
                idempotency_key=key,
                created_at=now,
                run_after=None,
                attempts=0,
            )
        )
    session.flush()
    return packs


def _empty(pack: ReviewPack) -> bool:
    """Return whether a pack asks nothing and reports no change: such a week is not mailed."""
    return summarise(pack).decisions == 0 and not pack.changes


def run_review_job(run: jobs.JobRun, *, options: DispatchOptions) -> None:
    """Publish the organisation's weekly review and schedule the next one on its review day."""
    org_id = run.job.org_id
    if org_id is None:
        raise ValueError(f"review job {run.job.id} names no organisation")
    at = dt.time.fromisoformat(str(run.job.payload.get("at") or REVIEW_TIME.isoformat()))
    now = run.clock()
    with run.transaction() as session:
        model = org_model(session, org_id)
        packs = publish_reviews(session, org_id, now=now, base_url=options.base_url, model=model)
        weekday = model.policy.review_weekday
        payload = {**run.job.payload, "weekday": weekday, "at": at.isoformat()}
        run.settle(session, next_run=next_review_at(weekday, now, at), payload=payload)
    log.info(
        "review.published",
        org=org_id,
        as_of=packs[0].as_of.isoformat() if packs else None,
        packs=len(packs),
        heads=len(packs) - 1 if packs else 0,
    )
