"""Deliver the outbox: claim due events, send each to its channels, record every attempt.

One pass (:func:`dispatch_due`) claims a batch of outbox rows by compare-and-set
(:func:`onpace.services.jobs.claim`), works out their deliveries
(:func:`onpace.services.routing.deliveries_for`), sends outside any transaction, recording each send as an attempt row (time, duration, error) in
its own short transaction as soon as it is made, then records in one transaction the channels to
disable, the digest jobs to queue, and each row's new state.

- A delivery recorded as done (an ``ok`` attempt for that row and delivery key) is never sent
  again, so a retry after a partial failure only resends what failed. Each delivery carries the
  idempotency key ``<outbox key>:<delivery key>``, the same on every try, so a receiver can drop
  a duplicate: a worker killed, or cut off from the store, between sending one delivery and
  recording it sends that one again after its claim expires — only that one, since every
  delivery before it was recorded as it completed. Emails carry a Message-ID made from the key.
- A transient error leaves the row to be retried after an exponential backoff (``run_after``);
  after ``max_attempts`` tries the failing channel is treated as permanently broken.
- A permanent error disables the channel (``channels.enabled = false`` with the reason) and
  raises a hygiene finding: a ``hygiene`` case on ``channel:<id>`` (in the cases list like any
  other; see :mod:`onpace.domain.channel_cases`), the ``channels`` row (see
  :func:`disabled_channels`), an audit row, and a ``channel_disabled`` outbox event (kind
  ``hygiene``, naming the case) mailed to the people accountable for the channel. Those are
  the heads of the units the route serves and the people it names, in that order, the first
  owning the case; for a person's mailbox, the head of their unit and the one above; when
  none is known, the heads of the top units. A disabled channel receives nothing until
  :func:`enable_channel`, which resolves the case.
- A digest route's deliveries are deferred to a ``digest`` job per channel, person and day,
  which sends one message for all of them after the day ends (:func:`run_digest_job`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from onpace.domain.model import Model
from onpace.services import jobs
from onpace.services.dispatch_channels import disable_channel
from onpace.services.dispatch_messages import DIGEST, digest_notification, notification_for
from onpace.services.dispatch_sending import (
    Attempt,
    DispatchOptions,
    DispatchReport,
    Send,
    attempt_send,
    done_keys,
    log_attempt,
    record_at_once,
    record_attempts,
    sender,
)
from onpace.services.evaluation_snapshot import WORKER_SNAPSHOTS
from onpace.services.pull import model_of
from onpace.services.routing import Delivery, deliveries_for
from onpace.storage.repositories import outbox_repo
from onpace.storage.tables import OutboxRow

__all__ = ["DIGEST", "DispatchOptions", "DispatchReport", "Send", "dispatch_due", "run_digest_job", "sender"]

log = structlog.get_logger("onpace.dispatch")

_OUTBOX_COLUMNS = ("id", "org_id", "event", "payload", "idempotency_key", "attempts", "created_at")

# ---------------------------------------------------------------------------------------------
# the pass


def _digest_job(
    session: Session,
    org_id: int,
    *,
    delivery: Delivery,
    created_at: dt.datetime,
    options: DispatchOptions,
    now: dt.datetime,
) -> None:
    day = created_at.astimezone(dt.UTC).date()
    person = delivery.recipient or "-"
    jobs.enqueue(
        session,
        DIGEST,
        {"channel": delivery.channel, "recipient": delivery.recipient, "day": day.isoformat()},
        now=now,
        org_id=org_id,
        run_after=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC) + options.digest_delay,
        dedupe_key=f"{DIGEST}:{org_id}:{delivery.channel}:{person}:{day.isoformat()}",
    )


def dispatch_due(
    engine: Engine,
    *,
    worker_id: str,
    now: dt.datetime,
    options: DispatchOptions,
    send: Send | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> DispatchReport:
    """Claim up to ``options.batch`` due outbox rows, deliver them and record the outcome.

    ``send`` defaults to :func:`sender` (the real notifiers); ``clock`` (default: ``now``
    fixed) stamps attempts and renews claims while sending.
    """
    clock = clock or (lambda: now)
    send = send or sender(options)
    report = DispatchReport()
    with engine.begin() as connection:
        rows = jobs.claim(
            connection,
            jobs.OUTBOX,
            worker_id=worker_id,
            now=now,
            lease=options.lease,
            limit=options.batch,
            columns=_OUTBOX_COLUMNS,
        )
    if not rows:
        return report
    report.claimed = len(rows)
    ids = [int(r["id"]) for r in rows]
    models, broken = _load_models(engine, rows)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        states = {org: outbox_repo.channels(session, org) for org in models}
        done = done_keys(session, ids)
    disabled = {(org, cid) for org, chans in states.items() for cid, ch in chans.items() if not ch.enabled}

    attempts: list[Attempt] = []
    recorded = 0  # attempts[:recorded] are in the store already
    deferred: list[tuple[int, Delivery, dt.datetime]] = []
    plans: dict[int, list[Delivery]] = {}
    refused: set[tuple[int, str]] = set()
    org_of = {int(r["id"]): int(r["org_id"]) for r in rows}
    cut_short: set[int] = set()  # rows whose deliveries were not all tried
    with jobs.keep_claimed(engine, jobs.OUTBOX, ids, worker_id=worker_id, clock=clock, lease=options.lease):
        for row in rows:
            if row["id"] in broken:
                continue
            if recorded < len(attempts):
                # The store stopped taking records: send nothing more that could not be recorded.
                cut_short.add(row["id"])
                continue
            org = int(row["org_id"])
            model = models[org]
            try:
                todo = [
                    d
                    for d in deliveries_for(row["payload"], model, smtp_url=options.smtp_url)
                    if (org, d.channel) not in disabled and (row["id"], d.key) not in done
                ]
                messages = [
                    notification_for(row, d, model, options.base_url) if not d.digest else None for d in todo
                ]
            except Exception as err:  # one malformed event must not hold up the others
                broken[row["id"]] = f"cannot route this event: {type(err).__name__}: {err}"
                log.exception("outbox.unroutable", outbox=row["id"], org=org)
                continue
            plans[row["id"]] = todo
            for delivery, notification in zip(todo, messages, strict=True):
                if notification is None:
                    deferred.append((org, delivery, row["created_at"]))
                    continue
                if (org, delivery.channel) in refused:
                    continue  # refused permanently earlier in this batch: about to be disabled
                attempt = attempt_send(send, row["id"], delivery, notification, clock())
                attempts.append(attempt)
                log_attempt(attempt, org, row["event"])
                if attempt.error is not None and attempt.error.permanent:
                    refused.add((org, delivery.channel))
                if not record_at_once(engine, org_of, attempt):
                    cut_short.add(row["id"])
                    break
                recorded += 1

    report.sent = sum(a.ok for a in attempts)
    report.failed = len(attempts) - report.sent
    report.deferred = len(deferred)
    finished = clock()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        record_attempts(session, org_of, attempts[recorded:])
        for org, delivery, created_at in deferred:
            _digest_job(session, org, delivery=delivery, created_at=created_at, options=options, now=finished)
        by_row: dict[int, list[Attempt]] = defaultdict(list)
        for attempt in attempts:
            by_row[attempt.outbox_id].append(attempt)
        for row in rows:
            org = int(row["org_id"])
            if row["id"] in broken:
                _settle_row(
                    session,
                    row,
                    worker_id=worker_id,
                    now=finished,
                    tries=int(row["attempts"]) + 1,
                    retry=True,
                    last_error=broken[row["id"]],
                    options=options,
                )
                continue
            failures = [a for a in by_row[row["id"]] if a.error is not None]
            tries = int(row["attempts"]) + (1 if by_row[row["id"]] else 0)
            if row["id"] in cut_short:
                why = (
                    "; ".join(str(a.error) for a in failures) or "stopped: the store took no delivery record"
                )
                _settle_row(
                    session,
                    row,
                    worker_id=worker_id,
                    now=finished,
                    tries=tries,
                    retry=True,
                    last_error=why[:2000],
                    options=options,
                )
                continue
            given_up = tries >= options.max_attempts
            for attempt in failures:
                error = attempt.error
                assert error is not None
                if error.permanent or given_up:
                    channel = _channel_of(plans[row["id"]], attempt.key)
                    reason = str(error) if error.permanent else f"{tries} tries failed; the last: {error}"
                    if (org, channel) not in disabled:
                        disable_channel(session, org, channel, reason=reason, now=finished, model=models[org])
                        disabled.add((org, channel))
                        report.disabled.append(channel)
            retry = any(not (a.error and a.error.permanent) for a in failures) and not given_up
            _settle_row(
                session,
                row,
                worker_id=worker_id,
                now=finished,
                tries=tries,
                retry=retry,
                last_error="; ".join(str(a.error) for a in failures)[:2000] or None,
                options=options,
            )
    return report


def _load_models(
    engine: Engine, rows: Sequence[Mapping[str, Any]]
) -> tuple[dict[int, Model], dict[int, str]]:
    """Return the model of each organisation of ``rows``, and the rows whose model cannot be loaded."""
    models: dict[int, Model] = {}
    broken: dict[int, str] = {}
    with Session(engine, expire_on_commit=False) as session, session.begin():
        for org in sorted({int(r["org_id"]) for r in rows}):
            try:
                with session.begin_nested():
                    # The worker's kept model when the model has not changed since.
                    models[org] = WORKER_SNAPSHOTS.current_model(session, org)
            except Exception as err:  # other organisations' events still go out
                log.exception("outbox.model_unavailable", org=org)
                for row in rows:
                    if int(row["org_id"]) == org:
                        broken[int(row["id"])] = f"cannot load the model: {type(err).__name__}: {err}"
    return models, broken


def _channel_of(plan: Sequence[Delivery], key: str) -> str:
    return next((d.channel for d in plan if d.key == key), key)


def _settle_row(
    session: Session,
    row: Mapping[str, Any],
    *,
    worker_id: str,
    now: dt.datetime,
    tries: int,
    retry: bool,
    last_error: str | None,
    options: DispatchOptions,
) -> None:
    """Mark a row delivered (nothing left to retry) or release it to retry after the backoff."""
    values: dict[str, Any] = {"attempts": tries, "last_error": last_error}
    if retry:
        wait = jobs.backoff(tries, base=options.backoff_base, cap=options.backoff_cap)
        values |= {"run_after": now + wait, "claimed_by": None, "claimed_at": None}
    else:
        values["delivered_at"] = now
    stmt = (
        update(OutboxRow).where(OutboxRow.id == row["id"], OutboxRow.claimed_by == worker_id).values(values)
    )
    if jobs.rowcount(session.execute(stmt)) != 1:
        # Another worker took the row after our claim expired; it will settle the row itself,
        # and the attempts recorded above keep it from resending what we delivered.
        log.warning("outbox.claim_lost", outbox=row["id"], worker=worker_id)


# ---------------------------------------------------------------------------------------------
# digests


def run_digest_job(run: jobs.JobRun, *, options: DispatchOptions, send: Send | None = None) -> None:
    """Send one person's daily digest on one channel: every deferred event of that day not yet sent."""
    org_id = run.job.org_id
    if org_id is None:
        raise ValueError(f"digest job {run.job.id} names no organisation")
    channel_id = str(run.job.payload["channel"])
    recipient = run.job.payload.get("recipient")
    day = dt.date.fromisoformat(str(run.job.payload["day"]))
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    with run.transaction() as session:
        model = model_of(session, org_id)
        state = outbox_repo.channels(session, org_id).get(channel_id)
        found = session.scalars(
            select(OutboxRow)
            .where(
                OutboxRow.org_id == org_id,
                OutboxRow.created_at >= start,
                OutboxRow.created_at < start + dt.timedelta(days=1),
            )
            .order_by(OutboxRow.id)
        ).all()
        candidates = [
            {"id": r.id, "payload": r.payload, "idempotency_key": r.idempotency_key, "event": r.event}
            for r in found
        ]
        done = done_keys(session, [c["id"] for c in candidates])
    target: Delivery | None = None
    rows = []
    for row in candidates:
        for delivery in deliveries_for(row["payload"], model, smtp_url=options.smtp_url):
            if delivery.digest and delivery.channel == channel_id and delivery.recipient == recipient:
                if (row["id"], delivery.key) not in done:
                    target = delivery
                    rows.append(row)
                break
    if target is None or (state is not None and not state.enabled):
        return
    notification = digest_notification(
        org_id, target, day=day, rows=rows, model=model, base_url=options.base_url
    )
    attempt = attempt_send(send or sender(options), rows[0]["id"], target, notification, run.clock())
    log_attempt(attempt, org_id, DIGEST)
    now = run.clock()
    attempts = [
        Attempt(row["id"], target.key, attempt.at, attempt.duration_ms, attempt.error) for row in rows
    ]
    with run.transaction() as session:
        record_attempts(session, dict.fromkeys([r["id"] for r in rows], org_id), attempts)
        error = attempt.error
        if error is None:
            run.settle(session)
            return
        tries = run.job.attempts + 1
        if error.permanent or tries >= options.max_attempts:
            reason = str(error) if error.permanent else f"{tries} tries failed; the last: {error}"
            disable_channel(session, org_id, channel_id, reason=reason, now=now, model=model)
            run.settle(session, error=reason)
            return
        wait = jobs.backoff(tries, base=options.backoff_base, cap=options.backoff_cap)
        run.settle(session, next_run=now + wait, attempts=tries, error=str(error))
