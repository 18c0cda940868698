"""The outbox dispatcher with real receivers: a signed webhook on loopback and an SMTP server."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from worker_support import (
    HOOK_ROUTE,
    NOW,
    SECRET,
    Clock,
    hook_env,
    hook_receiver,
    mail_server,
    model_text,
    options,
    push,
    save,
    weekly_rows,
)

from loopback_receivers import body_text
from onpace.notifiers.webhook import verify_signature
from onpace.services import jobs
from onpace.services.dispatch import dispatch_due
from onpace.services.dispatch_channels import disabled_channels, enable_channel
from onpace.services.worker import run_worker
from onpace.storage.tables import AuditRow, DeliveryAttemptRow, OutboxRow

RED = 80.0  # against a plan of 100 with red at 10 %


def outbox(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def attempts(engine: Engine) -> list[DeliveryAttemptRow]:
    with Session(engine) as session:
        return list(session.scalars(select(DeliveryAttemptRow).order_by(DeliveryAttemptRow.id)))


def test_a_case_governance_opened_reaches_the_units_webhook_signed(store: Engine) -> None:
    with hook_receiver() as receiver:
        org_id, model = save(store, model_text(HOOK_ROUTE))
        push(store, org_id, model, weekly_rows(NOW.date(), value=RED))
        stats = run_worker(
            store, worker_id="w", once=True, now_fn=Clock(), options=options(env=hook_env(receiver.url))
        )
    got = receiver.received
    assert stats.sent == len(got) == 2
    bodies = [json.loads(r.body) for r in got]
    assert {(b["event"], b["subject"]) for b in bodies} == {
        ("case_opened", "throughput"),
        ("case_opened", "KR1"),
    }
    for request in got:
        # The receiver refused any request without a valid signature; check it here too.
        stamp = request.headers["x-onpace-timestamp"]
        assert verify_signature(
            SECRET, stamp, request.body, request.headers["x-onpace-signature"], 0, float(stamp)
        )
    throughput = next(b for b in bodies if b["subject"] == "throughput")
    assert throughput["kind"] == "red"
    assert throughput["owner"] == "lee"
    assert throughput["title"] == "Orders shipped per day is red"
    assert throughput["url"].startswith("https://onpace.example/cases/")
    assert throughput["idempotency_key"].endswith(":ops-hook")
    assert all(row.delivered_at == NOW for row in outbox(store))
    assert [a.ok for a in attempts(store)] == [True, True]


def test_the_owner_gets_an_email_through_the_smtp_server(store: Engine) -> None:
    with mail_server() as mail:
        org_id, model = save(store, model_text())
        push(store, org_id, model, weekly_rows(NOW.date(), value=RED))
        run_worker(store, worker_id="w", once=True, now_fn=Clock(), options=options(smtp_url=mail.smtp_url))
        messages = list(mail.inbox.messages)
    to_lee = [m for _, rcpt, m in messages if rcpt == ["lee@hook.example"]]
    assert len(to_lee) == 1
    assert to_lee[0]["Subject"] == "Orders shipped per day is red"
    text = body_text(to_lee[0])
    assert "A case was opened for Lee Park as of 3 Feb 2026." in text
    assert "https://onpace.example/cases/" in text
    # KR1 (Maria) and O1 (the CEO) have their own cases and their owners their own mail; the
    # API error rate has had no point in four weeks of the cycle, so Raj hears it went stale.
    assert sorted(rcpt[0] for _, rcpt, _ in messages) == [
        "dana@hook.example",
        "lee@hook.example",
        "maria@hook.example",
        "raj@hook.example",
    ]


def test_a_receiver_that_fails_once_gets_the_event_on_the_retry_with_the_same_key(store: Engine) -> None:
    with hook_receiver(statuses=[500, 200]) as receiver:
        org_id, model = save(store, model_text(HOOK_ROUTE.replace("units: [ops]", "people: [lee]")))
        push(store, org_id, model, weekly_rows(NOW.date(), value=RED))
        clock = Clock()
        opts = options(env=hook_env(receiver.url))
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
        [waiting] = [row for row in outbox(store) if row.delivered_at is None]
        assert (waiting.attempts, waiting.run_after) == (1, NOW + dt.timedelta(seconds=30))
        assert "HTTP 500" in (waiting.last_error or "")
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
        assert len(receiver.received) == 1  # not before its time
        clock.advance(dt.timedelta(seconds=30))
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
    first, second = receiver.received
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.body == second.body
    assert [(a.ok, a.permanent) for a in attempts(store)] == [(False, False), (True, False)]
    assert all(row.delivered_at is not None for row in outbox(store))


def test_a_gone_receiver_disables_the_channel_and_tells_the_unit_head(store: Engine) -> None:
    with hook_receiver(statuses=[410]) as receiver, mail_server() as mail:
        org_id, model = save(store, model_text(HOOK_ROUTE))
        push(store, org_id, model, weekly_rows(NOW.date(), value=RED))
        opts = options(env=hook_env(receiver.url), smtp_url=mail.smtp_url)
        stats = run_worker(store, worker_id="w", once=True, now_fn=Clock(), options=opts)
        assert stats.channels_disabled == 1
        assert len(receiver.received) == 1  # the second event found the channel disabled
        with Session(store) as session:
            [channel] = disabled_channels(session, org_id)
            audit = session.scalars(select(AuditRow).where(AuditRow.action == "channel.disabled")).all()
        assert (channel.id, channel.enabled, channel.disabled_at) == ("ops-hook", False, NOW)
        assert "HTTP 410" in (channel.disabled_reason or "")
        assert [a.subject for a in audit] == ["channel:ops-hook"]
        [notice] = [row for row in outbox(store) if row.event == "channel_disabled"]
        assert notice.payload["kind"] == "hygiene"
        assert notice.payload["participants"] == ["maria"]
        to_maria = [
            m
            for _, rcpt, m in mail.inbox.messages
            if m["Subject"] == "Notification channel ops-hook was disabled"
        ]
        assert len(to_maria) == 1
        assert "HTTP 410" in body_text(to_maria[0])

        # Fixed and enabled again, the channel is back in the routing.
        with Session(store) as session, session.begin():
            assert enable_channel(session, org_id, "ops-hook", by="maria", now=NOW)
            assert not enable_channel(session, org_id, "ops-hook", by="maria", now=NOW)
        with Session(store) as session:
            assert disabled_channels(session, org_id) == []


def test_a_delivery_done_is_not_sent_again_when_another_channel_of_the_event_retries(store: Engine) -> None:
    second = HOOK_ROUTE.replace("ops-hook", "ops-backup").replace("OPS_HOOK_URL", "BACKUP_URL")
    with hook_receiver() as good, hook_receiver(statuses=[503, 503, 200]) as flaky:
        org_id, model = save(store, model_text(HOOK_ROUTE, second))
        push(store, org_id, model, weekly_rows(NOW.date(), value=RED))
        clock = Clock()
        opts = options(env=hook_env(good.url) | {"BACKUP_URL": flaky.url})
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
        clock.advance(dt.timedelta(minutes=5))
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
    assert len(good.received) == 2
    assert len(flaky.received) == 4  # two events, each failed once then delivered
    keys = [a.channel for a in attempts(store) if a.ok]
    assert sorted(keys) == ["ops-backup", "ops-backup", "ops-hook", "ops-hook"]


def test_a_receiver_failing_for_too_long_has_its_channel_given_up(store: Engine) -> None:
    with hook_receiver(statuses=[503]) as receiver:
        org_id, model = save(store, model_text(HOOK_ROUTE))
        push(store, org_id, model, weekly_rows(NOW.date(), value=RED))
        clock = Clock()
        opts = options(env=hook_env(receiver.url), max_attempts=3)
        for _ in range(3):
            run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
            clock.advance(dt.timedelta(hours=1))
    with Session(store) as session:
        [channel] = disabled_channels(session, org_id)
    assert channel.disabled_reason is not None
    assert channel.disabled_reason.startswith(
        "3 tries failed; the last: channel ops-hook: receiver answered HTTP 503"
    )
    assert all(row.delivered_at is not None for row in outbox(store))


def test_rows_held_by_a_dead_worker_are_delivered_once_its_claim_expires(store: Engine) -> None:
    with hook_receiver() as receiver:
        org_id, model = save(store, model_text(HOOK_ROUTE))
        push(store, org_id, model, weekly_rows(NOW.date(), value=RED))
        clock = Clock()
        opts = options(env=hook_env(receiver.url))
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts, handlers={})
        # Rewind: a worker claimed everything and died before sending.
        with store.begin() as connection:
            connection.execute(
                jobs.OUTBOX.update().values(delivered_at=None, claimed_by="dead", claimed_at=NOW)
            )
            connection.execute(DeliveryAttemptRow.__table__.delete())
        report = dispatch_due(
            store, worker_id="alive", now=NOW + dt.timedelta(seconds=10), options=opts.dispatch
        )
        assert report.claimed == 0
        report = dispatch_due(
            store, worker_id="alive", now=NOW + dt.timedelta(seconds=31), options=opts.dispatch
        )
    assert (report.claimed, report.sent) == (len(outbox(store)), 2)
    assert len(receiver.received) == 4  # sent once before the rewind, once after: same keys both times
    keys = [r.headers["idempotency-key"] for r in receiver.received]
    assert sorted(keys[:2]) == sorted(keys[2:])


def test_a_digest_route_sends_one_message_per_person_the_next_morning(store: Engine) -> None:
    digest = HOOK_ROUTE.replace("units: [ops]", "digest: true")
    with hook_receiver() as receiver:
        org_id, model = save(store, model_text(digest))
        push(store, org_id, model, weekly_rows(NOW.date(), value=RED))
        push(store, org_id, model, weekly_rows(NOW.date(), value=3.0, metric="api_errors"))
        clock = Clock()
        opts = options(env=hook_env(receiver.url))
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
        assert receiver.received == []
        with Session(store) as session:
            waiting = jobs.pending_jobs(session, kind="digest")
        assert sorted(j.payload["recipient"] for j in waiting) == ["ceo", "lee", "maria", "raj"]
        clock.now = dt.datetime(2026, 2, 4, 0, 10, tzinfo=dt.UTC)
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
    bodies = [json.loads(r.body) for r in receiver.received]
    assert sorted(b["owner"] for b in bodies) == ["ceo", "lee", "maria", "raj"]
    lee = next(b for b in bodies if b["owner"] == "lee")
    assert lee["title"] == "Daily digest for Lee Park, 3 Feb 2026: 1 event(s)"
    assert [e["subject"] for e in lee["detail"]["events"]] == ["throughput"]
