"""Governance in the store: one transaction writes cases, case events, outbox and audit rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from test_govern_story import add_actuals, load_story, step

from onpace.services.audit import verify_audit
from onpace.services.govern import previous_statuses
from onpace.storage.tables import AuditRow, CaseEventRow, CaseRow, EvaluationRow, OutboxRow

WEEK4 = dt.date(2026, 2, 1)


def count(session: Session, table: type) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def test_a_red_kpi_becomes_a_stored_joint_review_with_events_outbox_and_audit(session: Session) -> None:
    org_id, model = load_story(session, WEEK4)
    report = step(session, org_id, model, WEEK4)
    cases = {(c.subject, c.family): c for c in session.scalars(select(CaseRow))}
    throughput = cases[("throughput", "variance")]
    assert (throughput.kind, throughput.owner, throughput.status, throughput.level) == (
        "red",
        "lee",
        "open",
        0,
    )
    assert throughput.participants == ["lee", "raj", "maria"]
    assert throughput.detail["holder"] == "lee"
    assert throughput.explain_due == dt.datetime(2026, 2, 3, 23, 59, 59, tzinfo=dt.UTC)
    with_case = [e for e in report.events if e.case_id is not None]
    assert all(e.case_id in {c.id for c in cases.values()} for e in with_case)
    assert count(session, CaseEventRow) == len(with_case)
    assert count(session, OutboxRow) == len(report.events)
    assert count(session, AuditRow) >= len(with_case)
    assert verify_audit(session) == []
    opened = session.scalars(select(OutboxRow).where(OutboxRow.event == "case_opened")).all()
    payload = next(o.payload for o in opened if o.payload["subject"] == "throughput")
    assert set(payload) == {"as_of", "event", "kind", "subject", "owner", "participants", "level", "detail"}
    assert payload["detail"]["case"] == throughput.id


def test_governing_the_same_day_twice_writes_nothing_new(session: Session) -> None:
    org_id, model = load_story(session, WEEK4)
    step(session, org_id, model, WEEK4)
    before = (count(session, CaseRow), count(session, OutboxRow), count(session, CaseEventRow))
    again = step(session, org_id, model, WEEK4)
    assert [e.event for e in again.events if e.event != "status_changed"] == []
    assert (count(session, CaseRow), count(session, OutboxRow)) == before[:2]


def test_the_outbox_rows_are_not_visible_outside_the_transaction_before_commit(
    session: Session, engine: Engine
) -> None:
    org_id, model = load_story(session, WEEK4)
    step(session, org_id, model, WEEK4)
    assert count(session, OutboxRow) > 0
    with engine.connect() as other:
        assert other.execute(text("SELECT count(*) FROM outbox")).scalar() == 0


def test_previous_statuses_come_from_the_last_evaluation_before_the_day(session: Session) -> None:
    org_id, model = load_story(session, WEEK4)
    step(session, org_id, model, dt.date(2026, 1, 25))
    step(session, org_id, model, WEEK4)
    previous = previous_statuses(session, org_id, WEEK4)
    assert previous["throughput"] == "green"
    assert previous["api_errors"] in ("amber", "at_risk")
    assert session.scalar(select(func.count()).where(EvaluationRow.as_of == WEEK4)) == len(previous)


def test_a_week_later_the_silent_owner_is_escalated_and_the_case_remembers_it(session: Session) -> None:
    org_id, model = load_story(session, WEEK4)
    step(session, org_id, model, WEEK4)
    add_actuals(session, org_id, model, WEEK4 + dt.timedelta(days=1), WEEK4 + dt.timedelta(days=7))
    report = step(session, org_id, model, WEEK4 + dt.timedelta(days=7))
    climbed = [
        (e.detail["from"], e.detail["to"])
        for e in report.events
        if e.event == "case_escalated" and e.subject == "throughput"
    ]
    assert climbed == [("lee", "maria"), ("maria", "ceo")]
    case = session.scalars(select(CaseRow).where(CaseRow.subject == "throughput")).one()
    assert (case.level, case.detail["holder"], case.detail["missed"]) == (2, "ceo", ["explain", "act"])
    assert verify_audit(session) == []
