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

import contextlib
import dataclasses
import datetime as dt
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import structlog
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from onpace.domain.cases import Case
from onpace.domain.channel_cases import channel_subject, open_channel_case, resolve_channel_case
from onpace.domain.model import Model
from onpace.domain.units import uom_of
from onpace.notifiers import registry
from onpace.notifiers.base import Channel, Notification, NotifyError
from onpace.outbound import Allowlist
from onpace.reports.format import format_moment, format_value
from onpace.services import jobs
from onpace.services.audit import append_audit
from onpace.services.case_evidence import readable_moments
from onpace.services.cases import case_from_row, record_events, save_case
from onpace.services.evaluation_snapshot import WORKER_SNAPSHOTS
from onpace.services.pull import model_of
from onpace.services.review_sections import figure, percent
from onpace.services.routing import EMAIL_CHANNEL_PREFIX, Delivery, deliveries_for
from onpace.storage.repositories import cases_repo, outbox_repo
from onpace.storage.tables import ChannelRow, DeliveryAttemptRow, OutboxRow

log = structlog.get_logger("onpace.dispatch")

DIGEST = "digest"
CHANNEL_DISABLED = "channel_disabled"
# A unit's weekly review pack is ready (written by ``onpace.services.review_mail``).
REVIEW_READY = "review_ready"
ACTOR = "onpace"
_OUTBOX_COLUMNS = ("id", "org_id", "event", "payload", "idempotency_key", "attempts", "created_at")

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
class _Attempt:
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


def _attempt(
    send: Send, outbox_id: int, delivery: Delivery, notification: Notification, at: dt.datetime
) -> _Attempt:
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
    return _Attempt(outbox_id, delivery.key, at, duration, error)


# ---------------------------------------------------------------------------------------------
# messages


def _subject_title(model: Model, subject: str) -> str:
    for kpi in model.kpis:
        if kpi.id == subject:
            return kpi.title or subject
    for objective in model.objectives:
        if objective.id == subject:
            return objective.title
        for kr in objective.key_results:
            if kr.id == subject:
                return kr.title
    for dep in model.dependencies:
        if dep.id == subject:
            return dep.title
    return subject


def _name(model: Model, person_id: object) -> str:
    person = model.person(person_id) if isinstance(person_id, str) else None
    return person.name if person is not None else str(person_id or "nobody")


_KIND_WORDS = {
    "red": "is red",
    "amber": "is amber",
    "at_risk": "is at risk of missing its target",
    "threatened": "is threatened by an off-track KPI",
    "mirage": "was reported better than its data shows",
    "stale": "has stopped receiving data",
    "dependency_late": "is late",
    "hygiene": "has a model hygiene finding",
}
_FIGURES = (
    ("plan_to_date", "Planned to date"),
    ("actual_to_date", "Actual to date"),
    ("variance_pct", "Variance"),
    ("forecast_end", "Forecast at cycle end"),
    ("plan_end", "Plan at cycle end"),
    ("weeks_to_red", "Red in"),
)


_IN_UNITS = frozenset({"plan_to_date", "actual_to_date", "forecast_end", "plan_end"})


_DEADLINES = (("explain_due", "Explain by"), ("act_due", "Act by"))


def _figure_text(key: str, value: float, uom: str | None) -> str:
    if key == "variance_pct":
        return percent(value, signed=True)
    if key == "weeks_to_red":
        count = int(value)
        return f"{count} week" if count == 1 else f"{count} weeks"
    if uom and key in _IN_UNITS:
        return format_value(value, uom)
    return figure(value)


def figure_rows(
    detail: Mapping[str, Any], uom: str | None = None, timezone: str = "UTC"
) -> list[tuple[str, str]]:
    """Return the figures of an event as (label, value) pairs people read: "Variance", "+17.6 %"."""
    rows = []
    for key, label in _DEADLINES:
        due = detail.get(key)
        if isinstance(due, str):
            with contextlib.suppress(ValueError):  # a deadline that is not a moment is left out
                rows.append((label, format_moment(dt.datetime.fromisoformat(due), timezone)))
    for key, label in _FIGURES:
        value = detail.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if key == "weeks_to_red" and detail.get("status") == "red":
                continue  # already red: "red in 0 weeks" says nothing
            rows.append((label, _figure_text(key, float(value), uom)))
    return rows


def _figures(detail: Mapping[str, Any], uom: str | None = None, timezone: str = "UTC") -> list[str]:
    lines = [f"{label}: {value}" for label, value in figure_rows(detail, uom, timezone)]
    for finding in detail.get("findings") or ():
        if isinstance(finding, Mapping) and finding.get("message"):
            lines.append(str(finding["message"]))
    return lines


def alert_html(lead: str, rows: Sequence[tuple[str, str]]) -> str:
    """Return an alert's HTML body: the lead sentence, then its figures as a small table."""
    table = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{escape(label)}</th><td>{escape(value)}</td></tr>'
        for label, value in rows
    )
    return f"<p>{escape(lead)}</p>" + (f"<table>{table}</table>" if table else "")


def describe(payload: Mapping[str, Any], model: Model, base_url: str) -> tuple[str, str, str | None]:
    """Return the title, text and link of an outbox event, in words its readers know."""
    event = str(payload.get("event", ""))
    kind = str(payload.get("kind", ""))
    subject = str(payload.get("subject", ""))
    detail: Mapping[str, Any] = payload.get("detail") or {}
    name = _subject_title(model, subject)
    words = _KIND_WORDS.get(kind, kind)
    owner = _name(model, payload.get("owner"))
    as_of = payload.get("as_of")
    if event == "case_opened":
        title = f"{name} {words}"
        lead = f"A case was opened for {owner} as of {as_of}."
    elif event == "case_escalated":
        title = f"Escalated: {name} {words}"
        lead = f"The case went to {_name(model, detail.get('to'))} (level {payload.get('level')})"
        lead += f": {readable_moments(str(detail['reason']))}." if detail.get("reason") else "."
    elif event == "case_resolved":
        title = f"Resolved: {name}"
        lead = f"The case of {owner} on {name} is resolved as of {as_of}."
    elif event == "status_changed":
        title = f"{name}: {detail.get('from', '?')} → {detail.get('to', kind)}"
        lead = f"Status changed as of {as_of}; owner {owner}."
    elif event == REVIEW_READY:
        return _describe_review(payload, model, base_url)
    elif event == CHANNEL_DISABLED:
        title = f"Notification channel {subject} was disabled"
        lead = (
            f"{detail.get('reason', 'it failed permanently')}. It receives nothing until someone fixes it "
            "and enables it again."
        )
    else:
        title = f"{event.replace('_', ' ').capitalize()}: {name}"
        lead = f"As of {as_of}."
    text = "\n".join([lead, *_figures(detail, uom_of(model, subject), model.calendar.timezone)])
    case_id = detail.get("case")
    url = f"{base_url.rstrip('/')}/cases/{case_id}" if isinstance(case_id, int) else None
    return title, text, url


def _describe_review(payload: Mapping[str, Any], model: Model, base_url: str) -> tuple[str, str, str | None]:
    """Return the title, text (the Markdown pack) and link of a ``review_ready`` event."""
    detail: Mapping[str, Any] = payload.get("detail") or {}
    unit = payload.get("subject")
    found = model.unit(unit) if isinstance(unit, str) else None
    scope = found.name if found is not None else str(detail.get("unit_name") or unit or model.org)
    new = detail.get("new_breaches")
    count = f": {new} new breach(es), {detail.get('items', 0)} item(s)" if isinstance(new, int) else ""
    title = f"Weekly review for {scope} as of {payload.get('as_of')}{count}"
    root = base_url.rstrip("/")
    url = f"{root}/review?unit={unit}" if isinstance(unit, str) and unit else f"{root}/review"
    text = str(detail.get("markdown") or f"The weekly review of {scope} is ready.")
    return title, text, url


def notification_for(row: Mapping[str, Any], delivery: Delivery, model: Model, base_url: str) -> Notification:
    """Return the message of one outbox row for one delivery (its idempotency key included)."""
    payload: Mapping[str, Any] = row["payload"]
    title, text, url = describe(payload, model, base_url)
    detail = payload.get("detail") or {}
    html_body = detail.get("html") if payload.get("event") == REVIEW_READY else None
    if html_body is None:
        lead = text.splitlines()[0] if text else title
        subject = str(payload.get("subject", ""))
        html_body = alert_html(lead, figure_rows(detail, uom_of(model, subject), model.calendar.timezone))
    return Notification(
        event=str(payload.get("event", row.get("event", ""))),
        subject=str(payload.get("subject", "")),
        kind=str(payload.get("kind", "")),
        owner=payload.get("owner"),
        participants=tuple(payload.get("participants") or ()),
        title=title,
        text=text,
        url=url,
        idempotency_key=f"{row['idempotency_key']}:{delivery.key}",
        detail={k: v for k, v in detail.items() if k != "html"}
        | {"as_of": payload.get("as_of"), "level": payload.get("level")},
        html=str(html_body),
    )


# ---------------------------------------------------------------------------------------------
# channels


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


# ---------------------------------------------------------------------------------------------
# the pass


def _done_keys(session: Session, outbox_ids: Sequence[int]) -> set[tuple[int, str]]:
    attempts = outbox_repo.attempts_for(session, outbox_ids)
    return {(oid, a.channel) for oid, rows in attempts.items() for a in rows if a.ok}


def _record_attempts(session: Session, org_ids: Mapping[int, int], attempts: Sequence[_Attempt]) -> None:
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


def _record_at_once(engine: Engine, org_ids: Mapping[int, int], attempt: _Attempt) -> bool:
    """Record one attempt in its own short transaction, as soon as it is made; return whether it was.

    A worker killed or cut off from the store after this re-sends nothing it recorded: only
    the delivery in flight, never the batch. A store that cannot take the record is left alone:
    the attempt is recorded with the batch's outcome if the store comes back in time, else the
    delivery is sent again by whoever takes the row (with the same idempotency key).
    """
    try:
        with Session(engine) as session, session.begin():
            _record_attempts(session, org_ids, [attempt])
    except Exception as err:  # a store that is down or busy; the batch's own transaction will tell
        log.warning("delivery.record_failed", outbox=attempt.outbox_id, channel=attempt.key, error=str(err))
        return False
    return True


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
        done = _done_keys(session, ids)
    disabled = {(org, cid) for org, chans in states.items() for cid, ch in chans.items() if not ch.enabled}

    attempts: list[_Attempt] = []
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
                attempt = _attempt(send, row["id"], delivery, notification, clock())
                attempts.append(attempt)
                _log_attempt(attempt, org, row["event"])
                if attempt.error is not None and attempt.error.permanent:
                    refused.add((org, delivery.channel))
                if not _record_at_once(engine, org_of, attempt):
                    cut_short.add(row["id"])
                    break
                recorded += 1

    report.sent = sum(a.ok for a in attempts)
    report.failed = len(attempts) - report.sent
    report.deferred = len(deferred)
    finished = clock()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        _record_attempts(session, org_of, attempts[recorded:])
        for org, delivery, created_at in deferred:
            _digest_job(session, org, delivery=delivery, created_at=created_at, options=options, now=finished)
        by_row: dict[int, list[_Attempt]] = defaultdict(list)
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


def _log_attempt(attempt: _Attempt, org: int, event: str) -> None:
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


# ---------------------------------------------------------------------------------------------
# digests


def digest_notification(
    org_id: int,
    delivery: Delivery,
    *,
    day: dt.date,
    rows: Sequence[Mapping[str, Any]],
    model: Model,
    base_url: str,
) -> Notification:
    """Return one message gathering the events of ``rows`` for one person and day."""
    person = _name(model, delivery.recipient) if delivery.recipient else "unowned subjects"
    lines = []
    for row in rows:
        title, _, url = describe(row["payload"], model, base_url)
        lines.append(f"- {title}" + (f" ({url})" if url else ""))
    first, last = rows[0]["id"], rows[-1]["id"]
    return Notification(
        event=DIGEST,
        subject=delivery.recipient or delivery.channel,
        kind=DIGEST,
        owner=delivery.recipient,
        participants=(),
        title=f"Daily digest for {person}, {day.isoformat()}: {len(rows)} event(s)",
        text="\n".join(lines),
        url=base_url,
        idempotency_key=f"{DIGEST}:{org_id}:{delivery.key}:{day.isoformat()}:{first}-{last}",
        detail={"day": day.isoformat(), "events": [dict(r["payload"]) for r in rows]},
    )


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
        done = _done_keys(session, [c["id"] for c in candidates])
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
    attempt = _attempt(send or sender(options), rows[0]["id"], target, notification, run.clock())
    _log_attempt(attempt, org_id, DIGEST)
    now = run.clock()
    attempts = [
        _Attempt(row["id"], target.key, attempt.at, attempt.duration_ms, attempt.error) for row in rows
    ]
    with run.transaction() as session:
        _record_attempts(session, dict.fromkeys([r["id"] for r in rows], org_id), attempts)
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
