"""Send one delivery and record it: the dispatcher's options, the sender, attempts and their rows.

:func:`attempt_send` sends once and times it (any failure becomes a :class:`NotifyError`);
:func:`record_attempts` writes the attempt rows, :func:`record_at_once` in a transaction of
their own as soon as a send is made (see :mod:`onpace.services.dispatch`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from onpace.notifiers import registry
from onpace.notifiers.base import Channel, Notification, NotifyError
from onpace.outbound import Allowlist
from onpace.services import jobs
from onpace.services.routing import Delivery
from onpace.storage.repositories import outbox_repo
from onpace.storage.tables import DeliveryAttemptRow

log = structlog.get_logger("onpace.dispatch")


Send = Callable[[Channel, Notification], None]
"""Deliver one notification to one channel or raise :class:`NotifyError`."""


@dataclass(frozen=True)
class DispatchOptions:
    """How the dispatcher sends: addresses, settings and retry policy.

    ``smtp_url`` is the Apprise mail URL people's own email goes through (``ONPACE_SMTP_URL``);
    ``env`` resolves ``env:VAR`` in route URLs and secrets; ``base_url`` starts links to cases;
    ``allow`` is the outbound allowlist (None: the ``ONPACE_OUTBOUND_ALLOW`` setting).
    """

    smtp_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    allow: Allowlist | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    lease: dt.timedelta = dt.timedelta(minutes=2)
    batch: int = 20
    max_attempts: int = 12
    backoff_base: dt.timedelta = jobs.BACKOFF_BASE
    backoff_cap: dt.timedelta = jobs.BACKOFF_CAP
    digest_delay: dt.timedelta = dt.timedelta(minutes=10)


@dataclass
class DispatchReport:
    """What one pass did: rows claimed, sends that worked or failed, channels disabled, deferrals."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    disabled: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Attempt:
    outbox_id: int
    key: str
    at: dt.datetime
    duration_ms: float
    error: NotifyError | None

    @property
    def ok(self) -> bool:
        return self.error is None


def sender(options: DispatchOptions) -> Send:
    """Return the real sender: the notifier registry with the options' env, address policy and timeout."""

    def send(channel: Channel, notification: Notification) -> None:
        registry.notify(
            channel,
            notification,
            env=options.env,
            allow=options.allow,
            timeout=options.timeout,
        )

    return send


def attempt_send(
    send: Send, outbox_id: int, delivery: Delivery, notification: Notification, at: dt.datetime
) -> Attempt:
    """Send once and time it; any failure becomes a :class:`NotifyError` (unknown ones transient)."""
    channel = Channel(delivery.channel, delivery.url, delivery.secret)
    started = time.perf_counter()
    error: NotifyError | None = None
    try:
        send(channel, notification)
    except NotifyError as err:
        error = err
    except Exception as err:  # a notifier's bug must not lose the event: record it and retry
        error = NotifyError(f"{type(err).__name__}: {err}", permanent=False, channel=delivery.channel)
    duration = (time.perf_counter() - started) * 1000
    return Attempt(outbox_id, delivery.key, at, duration, error)


def done_keys(session: Session, outbox_ids: Sequence[int]) -> set[tuple[int, str]]:
    attempts = outbox_repo.attempts_for(session, outbox_ids)
    return {(oid, a.channel) for oid, rows in attempts.items() for a in rows if a.ok}


def record_attempts(session: Session, org_ids: Mapping[int, int], attempts: Sequence[Attempt]) -> None:
    if not attempts:
        return
    session.execute(
        insert(DeliveryAttemptRow),
        [
            {
                "org_id": org_ids[a.outbox_id],
                "outbox_id": a.outbox_id,
                "channel": a.key,
                "at": a.at,
                "duration_ms": round(a.duration_ms, 3),
                "ok": a.ok,
                "permanent": bool(a.error and a.error.permanent),
                "error": None if a.error is None else str(a.error)[:2000],
            }
            for a in attempts
        ],
    )


def record_at_once(engine: Engine, org_ids: Mapping[int, int], attempt: Attempt) -> bool:
    """Record one attempt in its own short transaction, as soon as it is made; return whether it was.

    A worker killed or cut off from the store after this re-sends nothing it recorded: only
    the delivery in flight, never the batch. A store that cannot take the record is left alone:
    the attempt is recorded with the batch's outcome if the store comes back in time, else the
    delivery is sent again by whoever takes the row (with the same idempotency key).
    """
    try:
        with Session(engine) as session, session.begin():
            record_attempts(session, org_ids, [attempt])
    except Exception as err:  # a store that is down or busy; the batch's own transaction will tell
        log.warning("delivery.record_failed", outbox=attempt.outbox_id, channel=attempt.key, error=str(err))
        return False
    return True


def log_attempt(attempt: Attempt, org: int, event: str) -> None:
    if attempt.error is None:
        log.info(
            "delivery.sent",
            org=org,
            outbox=attempt.outbox_id,
            channel=attempt.key,
            outbox_event=event,
            duration_ms=round(attempt.duration_ms, 1),
        )
    else:
        log.warning(
            "delivery.failed",
            org=org,
            outbox=attempt.outbox_id,
            channel=attempt.key,
            outbox_event=event,
            permanent=attempt.error.permanent,
            error=str(attempt.error),
            duration_ms=round(attempt.duration_ms, 1),
        )
