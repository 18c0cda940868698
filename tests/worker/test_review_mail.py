"""The weekly review goes out on the policy's review day: one pack per unit head, mailed through a real SMTP server."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from worker_support import NOW, Clock, mail_server, model_text, options, push, save, weekly_rows

from loopback_receivers import body_text
from onpace.modelfile import parse_model_text
from onpace.services import jobs
from onpace.services.model_store import save_model
from onpace.services.review_mail import REVIEW, sync_review_schedules
from onpace.services.worker import run_worker
from onpace.storage.tables import OutboxRow, ReviewPackRow

RED = 80.0  # against a plan of 100 with red at 10 %
GREEN_ERRORS = 0.5  # API errors against a plan of at most 1.0
MONDAY = dt.datetime(2026, 2, 9, 6, 0, tzinfo=dt.UTC)  # the first review day after NOW, at the review hour


def review_jobs(engine: Engine) -> list[tuple[int | None, dt.datetime]]:
    with Session(engine) as session:
        return [(j.org_id, j.run_after) for j in jobs.pending_jobs(session, kind=REVIEW)]


def test_each_unit_head_gets_the_weekly_review_by_mail_on_the_review_day(store: Engine) -> None:
    with mail_server() as mail:
        org_id, model = save(store, model_text())
        push(store, org_id, model, weekly_rows(NOW.date(), value=RED))
        clock = Clock()
        opts = options(smtp_url=mail.smtp_url)
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
        assert review_jobs(store) == [(org_id, MONDAY)]
        case_mail = len(mail.inbox.messages)

        clock.advance(MONDAY - NOW - dt.timedelta(seconds=1))
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
        assert len(mail.inbox.messages) == case_mail  # not before its time

        clock.advance(dt.timedelta(seconds=1))
        stats = run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
        reviews = {tuple(rcpt): m for _, rcpt, m in mail.inbox.messages[case_mail:]}

    assert stats.jobs_done == 1
    # API error rate never got data: it went stale and opened a stale case held by Raj, so IT's
    # pack asks a decision and its head gets a review too.
    assert set(reviews) == {("dana@hook.example",), ("maria@hook.example",), ("raj@hook.example",)}
    to_raj = reviews[("raj@hook.example",)]
    assert to_raj["Subject"].startswith("Weekly review for IT as of 3 Feb 2026: 0 new breach(es), 1 item(s)")
    raj_reads = body_text(to_raj)
    assert "API error rate" in raj_reads
    assert "no data since the cycle started" in raj_reads
    assert "Orders shipped per day" not in raj_reads  # Operations' breach is not IT's
    to_maria = reviews[("maria@hook.example",)]
    assert to_maria["Subject"].startswith("Weekly review for Operations as of 3 Feb 2026: 2 new breach(es)")
    assert to_maria.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in to_maria.walk() if not part.is_multipart()]
    assert kinds == ["text/plain", "text/html"]
    plain, html = (
        bytes(part.get_payload(decode=True)).decode() for part in to_maria.walk() if not part.is_multipart()
    )
    assert "Weekly review · Hookco · Operations" in plain
    assert "decisions needed" in plain
    assert "\\_" not in plain  # no Markdown escapes in the text a person reads
    breaches = html[html.index('id="section-new_breaches"') : html.index('id="section-at_risk"')]
    assert "Orders shipped per day" in breaches
    assert 'href="https://onpace.example/cases/' in breaches
    assert 'href="https://onpace.example/review?unit=ops"' in html
    assert "Orders shipped per day" in body_text(to_maria)
    with Session(store) as session:
        packs = session.scalars(select(ReviewPackRow).order_by(ReviewPackRow.id)).all()
        events = session.scalars(select(OutboxRow).where(OutboxRow.event == "review_ready")).all()
    assert [(p.unit, p.as_of) for p in packs] == [
        (None, NOW.date()),
        ("exec", NOW.date()),
        ("ops", NOW.date()),
        ("it", NOW.date()),
    ]
    assert sorted(e.payload["owner"] for e in events) == ["ceo", "maria", "raj"]
    assert all(e.delivered_at is not None for e in events)
    assert review_jobs(store) == [(org_id, MONDAY + dt.timedelta(days=7))]


def test_a_unit_head_whose_pack_asks_nothing_gets_no_review_mail(store: Engine) -> None:
    with mail_server() as mail:
        org_id, model = save(store, model_text())
        frame = pl.concat(
            [
                weekly_rows(NOW.date(), value=RED),
                weekly_rows(NOW.date(), value=GREEN_ERRORS, metric="api_errors"),
            ]
        )
        push(store, org_id, model, frame)
        clock = Clock()
        opts = options(smtp_url=mail.smtp_url)
        run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
        case_mail = len(mail.inbox.messages)
        clock.advance(MONDAY - NOW)
        stats = run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
        reviews = {tuple(rcpt) for _, rcpt, _ in mail.inbox.messages[case_mail:]}

    assert stats.jobs_done == 1
    # IT's pack asks nothing and reports no change: its head gets no empty review.
    assert reviews == {("dana@hook.example",), ("maria@hook.example",)}
    with Session(store) as session:
        units = session.scalars(select(ReviewPackRow.unit).order_by(ReviewPackRow.id)).all()
        events = session.scalars(select(OutboxRow).where(OutboxRow.event == "review_ready")).all()
    assert units == [None, "exec", "ops", "it"]  # stored all the same
    assert sorted(e.payload["owner"] for e in events) == ["ceo", "maria"]


def test_the_review_schedule_follows_the_policys_review_day(store: Engine) -> None:
    org_id, _ = save(store, model_text())
    with Session(store) as session, session.begin():
        assert sync_review_schedules(session, now=NOW) == 1
        assert sync_review_schedules(session, now=NOW) == 0
    assert review_jobs(store) == [(org_id, MONDAY)]
    friday = model_text().replace(
        "  auto_resolve_after: 2\n", "  auto_resolve_after: 2\n  review_weekday: friday\n"
    )
    with Session(store) as session, session.begin():
        save_model(session, parse_model_text(friday, "hookco.yaml"), by="test", now=NOW)
        assert sync_review_schedules(session, now=NOW) == 1
    assert review_jobs(store) == [(org_id, dt.datetime(2026, 2, 6, 6, 0, tzinfo=dt.UTC))]
