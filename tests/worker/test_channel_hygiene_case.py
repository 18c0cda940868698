"""A channel disabled by a permanent delivery error is a hygiene case until someone enables it again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from worker_support import (
    HOOK_ROUTE,
    NOW,
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

from onpace.domain.cases import Case
from onpace.services.cases import case_history, list_cases
from onpace.services.dispatch_channels import enable_channel
from onpace.services.pull import evaluate_and_govern
from onpace.services.worker import run_worker
from onpace.storage.tables import OutboxRow

RED = 80.0  # against a plan of 100 with red at 10 %
SUBJECT = "channel:ops-hook"


def channel_cases(engine: Engine, org_id: int, *, open_only: bool = False) -> list[Case]:
    with Session(engine) as session:
        return [c for c in list_cases(session, org_id, open_only=open_only) if c.subject == SUBJECT]


def outbox_events(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def break_the_channel(engine: Engine, clock: Clock) -> int:
    """Store the model, push red data and let a worker meet a receiver that answers 410 Gone."""
    org_id, model = save(engine, model_text(HOOK_ROUTE))
    with hook_receiver(statuses=[410]) as receiver, mail_server() as mail:
        push(engine, org_id, model, weekly_rows(NOW.date(), value=RED))
        opts = options(env=hook_env(receiver.url), smtp_url=mail.smtp_url)
        stats = run_worker(engine, worker_id="w", once=True, now_fn=clock, options=opts)
    assert stats.channels_disabled == 1
    return org_id


def test_a_gone_receiver_opens_a_hygiene_case_on_the_channel_for_the_unit_head(store: Engine) -> None:
    org_id = break_the_channel(store, Clock())
    [case] = channel_cases(store, org_id, open_only=True)
    # The route serves the ops unit: its head, maria, is accountable for fixing it.
    assert (case.family, case.kind, case.subject_level) == ("hygiene", "hygiene", "channel")
    assert (case.owner, case.holder, case.participants) == ("maria", "maria", ("maria",))
    assert case.explain_due == NOW + dt.timedelta(days=2)
    assert "HTTP 410" in str(case.detail["reason"])
    with Session(store) as session:
        history = case_history(session, org_id, case.id or 0)
    assert [e.event for e in history] == ["case_opened"]
    # One notice tells maria, and it names the case; the case itself adds no second message.
    notices = [row for row in outbox_events(store) if row.payload.get("subject") in ("ops-hook", SUBJECT)]
    assert [row.event for row in notices] == ["channel_disabled"]
    assert notices[0].payload["detail"]["case"] == case.id


def test_evaluations_leave_the_channel_case_open_and_enabling_the_channel_resolves_it(store: Engine) -> None:
    clock = Clock()
    org_id = break_the_channel(store, clock)
    # Days of evaluations with the data back on plan: the channel is still broken.
    for days in range(1, 5):
        moment = NOW + dt.timedelta(days=days)
        with Session(store) as session, session.begin():
            evaluate_and_govern(session, org_id, as_of=moment.date(), now=moment)
    [still] = channel_cases(store, org_id, open_only=True)
    assert (still.state, still.good_streak) == ("open", 0)

    fixed = NOW + dt.timedelta(days=5)
    with Session(store) as session, session.begin():
        assert enable_channel(session, org_id, "ops-hook", by="maria", now=fixed)
    assert channel_cases(store, org_id, open_only=True) == []
    [resolved] = channel_cases(store, org_id)
    assert (resolved.state, resolved.resolved_at) == ("resolved", fixed)
    with Session(store) as session:
        history = case_history(session, org_id, resolved.id or 0)
    assert [(e.event, e.actor) for e in history] == [("case_opened", "onpace"), ("case_resolved", "maria")]
    [announced] = [row for row in outbox_events(store) if row.payload.get("subject") == SUBJECT]
    assert (announced.event, announced.payload["detail"]["reason"]) == (
        "case_resolved",
        "channel enabled again",
    )

    with Session(store) as session, session.begin():
        assert not enable_channel(session, org_id, "ops-hook", by="maria", now=fixed)
    assert len(channel_cases(store, org_id)) == 1


def test_a_channel_that_breaks_again_after_the_fix_gets_a_new_case(store: Engine) -> None:
    clock = Clock()
    org_id = break_the_channel(store, clock)
    with Session(store) as session, session.begin():
        enable_channel(session, org_id, "ops-hook", by="maria", now=NOW)
    clock.advance(dt.timedelta(days=8))
    with hook_receiver(statuses=[410]) as receiver, mail_server() as mail:
        with Session(store) as session, session.begin():
            evaluate_and_govern(session, org_id, as_of=clock().date(), now=clock())
        opts = options(env=hook_env(receiver.url), smtp_url=mail.smtp_url)
        stats = run_worker(store, worker_id="w", once=True, now_fn=clock, options=opts)
    assert stats.channels_disabled == 1
    cases = channel_cases(store, org_id)
    assert [c.state for c in cases] == ["resolved", "open"]
    assert cases[1].opened_at == clock()
