"""The people's workflow on stored cases: explain, act, complete, comment, close, list."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_govern_story import add_actuals, end_of_day, load_story, step, story_model

from onpace.errors import UserError
from onpace.services import cases as case_service
from onpace.services.audit import verify_audit
from onpace.storage.tables import CaseEventRow, CaseRow, CorrectiveActionRow, OutboxRow

WEEK4 = dt.date(2026, 2, 1)
SOON = end_of_day(WEEK4) + dt.timedelta(hours=10)


def red_case(session: Session) -> tuple[int, int]:
    org_id, model = load_story(session, WEEK4)
    step(session, org_id, model, WEEK4)
    case = session.scalars(select(CaseRow).where(CaseRow.subject == "throughput")).one()
    return org_id, case.id


def test_explaining_a_case_is_recorded_with_who_and_when(session: Session) -> None:
    org_id, case_id = red_case(session)
    event = case_service.explain_case(
        session, org_id, case_id, category="capacity", text="Two pickers out sick", by="lee", now=SOON
    )
    assert (event.event, event.by, event.case_id) == ("case_explained", "lee", case_id)
    row = session.get(CaseRow, case_id)
    assert row is not None
    assert row.explained_at == SOON
    assert row.detail["cause"] == "Two pickers out sick"
    history = case_service.case_history(session, org_id, case_id)
    assert [(h.event, h.actor) for h in history][-1] == ("case_explained", "lee")
    assert verify_audit(session) == []


def test_a_corrective_action_is_stored_and_meets_the_act_deadline(session: Session) -> None:
    org_id, case_id = red_case(session)
    case_service.act_on_case(
        session,
        org_id,
        case_id,
        title="Hire two temps",
        owner="lee",
        due=WEEK4 + dt.timedelta(days=4),
        by="lee",
        now=SOON,
    )
    action = session.scalars(select(CorrectiveActionRow)).one()
    assert (action.case_id, action.title, action.owner, action.created_by) == (
        case_id,
        "Hire two temps",
        "lee",
        "lee",
    )
    case = case_service.load_case(session, org_id, case_id)
    assert case.acted_at == SOON
    assert [a.id for a in case.actions] == [action.id]


def test_an_overdue_action_escalates_at_the_next_evaluation(session: Session) -> None:
    org_id, case_id = red_case(session)
    case_service.explain_case(
        session, org_id, case_id, category="capacity", text="Pickers out", by="lee", now=SOON
    )
    case_service.act_on_case(
        session,
        org_id,
        case_id,
        title="Hire temps",
        owner="lee",
        due=WEEK4 + dt.timedelta(days=3),
        by="lee",
        now=SOON,
    )
    org_model = story_model()
    later = WEEK4 + dt.timedelta(days=7)
    add_actuals(session, org_id, org_model, WEEK4 + dt.timedelta(days=1), later)
    report = step(session, org_id, org_model, later)
    climbed = [
        (e.detail["deadline"], e.detail["to"])
        for e in report.events
        if e.event == "case_escalated" and e.case_id == case_id
    ]
    action = session.scalars(select(CorrectiveActionRow)).one()
    assert climbed == [(f"action:{action.id}", "maria")]


def test_completing_an_action_marks_it_done(session: Session) -> None:
    org_id, case_id = red_case(session)
    case_service.act_on_case(
        session,
        org_id,
        case_id,
        title="Fix",
        owner="lee",
        due=WEEK4 + dt.timedelta(days=3),
        by="lee",
        now=SOON,
    )
    action = session.scalars(select(CorrectiveActionRow)).one()
    done_at = SOON + dt.timedelta(days=1)
    case_service.complete_action(session, org_id, case_id, action.id, by="lee", now=done_at)
    assert session.get(CorrectiveActionRow, action.id).done_at == done_at  # type: ignore[union-attr]


def test_a_comment_and_a_manual_close_are_case_events_and_outbox_rows(session: Session) -> None:
    org_id, case_id = red_case(session)
    outbox_before = len(session.scalars(select(OutboxRow)).all())
    case_service.comment_on_case(session, org_id, case_id, text="On it", by="maria", now=SOON)
    case_service.close_case(session, org_id, case_id, by="maria", now=SOON, note="Fixed the rota")
    row = session.get(CaseRow, case_id)
    assert row is not None
    assert (row.status, row.resolved_at) == ("resolved", SOON)
    events = session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id)).all()
    assert [e.event for e in events][-2:] == ["case_commented", "case_resolved"]
    assert len(session.scalars(select(OutboxRow)).all()) == outbox_before + 2


def test_a_refused_step_is_one_plain_sentence(session: Session) -> None:
    org_id, case_id = red_case(session)
    with pytest.raises(UserError, match="unknown root-cause category 'bad luck'"):
        case_service.explain_case(session, org_id, case_id, category="bad luck", text="x", by="lee", now=SOON)
    with pytest.raises(UserError, match="there is no case 999999"):
        case_service.comment_on_case(session, org_id, 999999, text="x", by="lee", now=SOON)


def test_listing_my_cases_includes_the_joint_reviews_i_take_part_in(session: Session) -> None:
    org_id, _ = red_case(session)
    mine = case_service.list_cases(session, org_id, mine="raj", open_only=True)
    assert {(c.subject, c.family) for c in mine} >= {("throughput", "variance"), ("KR1", "variance")}
    assert all(c.is_open for c in mine)
    assert case_service.list_cases(session, org_id, mine="nobody") == []


def test_a_check_in_given_by_hand_is_checked_like_a_csv_row() -> None:
    from onpace.services.checkins import new_checkin

    model = story_model()
    checkin = new_checkin(model, subject="KR1", day=WEEK4, status="Amber", confidence=6, by="maria")
    assert (checkin.status, checkin.confidence) == ("amber", 6)
    with pytest.raises(
        UserError, match="check-in: field `confidence`: 11 is not a whole number from 0 to 10"
    ):
        new_checkin(model, subject="KR1", day=WEEK4, status="green", confidence=11, by="maria")
    with pytest.raises(UserError, match="'throughput' is not a key result or objective"):
        new_checkin(model, subject="throughput", day=WEEK4, status="green", confidence=5, by="maria")
