"""Re-baselines: request, approve or reject by the right person, versions kept, cases resolved, stats."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_govern_story import end_of_day, load_story, step

from onpace.domain.model import Plan
from onpace.errors import UserError
from onpace.services.audit import verify_audit
from onpace.services.model_store import plan_versions, save_model
from onpace.services.rebaseline import (
    approve_rebaseline,
    approver,
    rebaseline_stats,
    reject_rebaseline,
    request_rebaseline,
    shift_size,
)
from onpace.storage.tables import CaseRow, RebaselineRow

WEEK4 = dt.date(2026, 2, 1)
NOW = end_of_day(WEEK4) + dt.timedelta(hours=9)
LOWER = Plan(per_bucket=85.0)


def requested(session: Session, by: str = "lee") -> tuple[int, object, RebaselineRow]:
    org_id, model = load_story(session, WEEK4)
    step(session, org_id, model, WEEK4)
    row = request_rebaseline(
        session,
        org_id,
        model,
        subject="throughput",
        plan=LOWER,
        reason="Peak season staffing was cut",
        effective=WEEK4 + dt.timedelta(days=1),
        by=by,
        now=NOW,
    )
    return org_id, model, row


def test_the_owners_unit_head_approves_and_the_next_head_up_when_she_is_asking(session: Session) -> None:
    _, model, _ = requested(session)
    assert approver(model, "throughput", "lee", WEEK4) == "maria"  # type: ignore[arg-type]
    assert approver(model, "throughput", "maria", WEEK4) == "ceo"  # type: ignore[arg-type]
    assert approver(model, "O1", "ceo", WEEK4) is None  # type: ignore[arg-type]


def test_a_request_records_the_open_variance_case_it_is_about(session: Session) -> None:
    _, _, row = requested(session)
    case = session.scalars(
        select(CaseRow).where(CaseRow.subject == "throughput", CaseRow.family == "variance")
    ).one()
    assert (row.status, row.case_id, row.requested_by) == ("requested", case.id, "lee")


def test_approval_adds_a_plan_version_keeps_the_old_one_and_resolves_the_case(session: Session) -> None:
    org_id, model, row = requested(session)
    version = approve_rebaseline(session, org_id, model, row.id, by="maria", now=NOW)  # type: ignore[arg-type]
    versions = plan_versions(session, org_id)["throughput"]
    assert [(v.version, v.plan.per_bucket) for v in versions] == [(1, 100.0), (2, 85.0)]
    assert (version.approved_by, version.requested_by, version.effective) == (
        "maria",
        "lee",
        WEEK4 + dt.timedelta(days=1),
    )
    case = session.scalars(
        select(CaseRow).where(CaseRow.subject == "throughput", CaseRow.family == "variance")
    ).one()
    assert (case.status, case.resolved_at) == ("resolved", NOW)
    assert row.status == "approved"
    assert verify_audit(session) == []


def test_loading_the_unchanged_model_again_keeps_an_approved_rebaseline(session: Session) -> None:
    org_id, model, row = requested(session)
    approve_rebaseline(session, org_id, model, row.id, by="maria", now=NOW)  # type: ignore[arg-type]
    report = save_model(session, model, by="loader", now=NOW + dt.timedelta(days=1))  # type: ignore[arg-type]
    assert report.plan_versions == 0
    assert [v.plan.per_bucket for v in plan_versions(session, org_id)["throughput"]] == [100.0, 85.0]


def test_editing_a_rebaselined_plan_in_the_model_makes_a_new_version(session: Session) -> None:
    org_id, model, row = requested(session)
    approve_rebaseline(session, org_id, model, row.id, by="maria", now=NOW)  # type: ignore[arg-type]
    edited = dataclasses.replace(
        model,  # type: ignore[type-var]
        kpis=tuple(
            dataclasses.replace(k, plan=Plan(per_bucket=90.0)) if k.id == "throughput" else k
            for k in model.kpis  # type: ignore[attr-defined]
        ),
    )
    report = save_model(session, edited, by="loader", now=NOW + dt.timedelta(days=1))
    assert report.plan_versions == 1
    assert [v.plan.per_bucket for v in plan_versions(session, org_id)["throughput"]] == [100.0, 85.0, 90.0]


def test_the_requester_cannot_approve_their_own_request(session: Session) -> None:
    org_id, model, row = requested(session, by="maria")
    with pytest.raises(UserError, match="cannot be decided by the person who asked"):
        approve_rebaseline(session, org_id, model, row.id, by="maria", now=NOW)  # type: ignore[arg-type]
    approve_rebaseline(session, org_id, model, row.id, by="ceo", now=NOW)  # type: ignore[arg-type]


def test_someone_outside_the_line_cannot_decide_but_an_admin_can(session: Session) -> None:
    org_id, model, row = requested(session)
    with pytest.raises(UserError, match="it is for maria"):
        reject_rebaseline(session, org_id, model, row.id, by="raj", now=NOW)  # type: ignore[arg-type]
    reject_rebaseline(session, org_id, model, row.id, by="raj", now=NOW, admin=True, note="Keep the bar")  # type: ignore[arg-type]
    assert (row.status, row.decided_by, row.decision_note) == ("rejected", "raj", "Keep the bar")
    assert [v.version for v in plan_versions(session, org_id)["throughput"]] == [1]
    with pytest.raises(UserError, match="already rejected"):
        approve_rebaseline(session, org_id, model, row.id, by="maria", now=NOW)  # type: ignore[arg-type]


def test_a_request_needs_a_reason_a_known_subject_and_a_date_not_in_the_past(session: Session) -> None:
    org_id, model = load_story(session, WEEK4)
    common = {"plan": LOWER, "by": "lee", "now": NOW}
    with pytest.raises(UserError, match="needs a reason"):
        request_rebaseline(
            session,
            org_id,
            model,
            subject="throughput",
            reason=" ",
            effective=WEEK4 + dt.timedelta(days=2),
            **common,
        )  # type: ignore[arg-type]
    with pytest.raises(UserError, match="is not a KPI or key result"):
        request_rebaseline(
            session,
            org_id,
            model,
            subject="nope",
            reason="x",
            effective=WEEK4 + dt.timedelta(days=2),
            **common,
        )  # type: ignore[arg-type]
    with pytest.raises(UserError, match="is in the past"):
        request_rebaseline(
            session,
            org_id,
            model,
            subject="throughput",
            reason="x",
            effective=WEEK4 - dt.timedelta(days=3),
            **common,
        )  # type: ignore[arg-type]


def test_goalpost_shifts_are_counted_and_sized_per_cycle_and_unit(session: Session) -> None:
    org_id, model, row = requested(session)
    approve_rebaseline(session, org_id, model, row.id, by="maria", now=NOW)  # type: ignore[arg-type]
    (stat,) = rebaseline_stats(session, org_id, model, WEEK4)  # type: ignore[arg-type]
    assert (stat.cycle, stat.unit, stat.count) == ("2026-Q1", "ops", 1)
    assert stat.total_size == pytest.approx(0.15)
    assert stat.largest_size == pytest.approx(0.15)


def test_shift_size_is_the_relative_change_of_the_end_value() -> None:
    assert shift_size(Plan(baseline=0, target=10), Plan(baseline=0, target=8)) == pytest.approx(-0.2)
    assert shift_size(Plan(per_bucket=0), Plan(per_bucket=5)) is None
    assert shift_size(None, Plan(per_bucket=5)) is None
    points = Plan(points=((dt.date(2026, 1, 5), 1.0), (dt.date(2026, 3, 1), 4.0)))
    assert shift_size(
        points, dataclasses.replace(points, points=((dt.date(2026, 3, 1), 5.0),))
    ) == pytest.approx(0.25)


def test_a_plan_is_read_from_key_value_text() -> None:
    from onpace.services.rebaseline import plan_from_text

    assert plan_from_text("per_bucket=85") == Plan(per_bucket=85.0)
    assert plan_from_text("baseline=0, target=8000, phasing=back") == Plan(
        baseline=0.0, target=8000.0, phasing="back"
    )
    with pytest.raises(UserError, match="cannot read 'goal=3'"):
        plan_from_text("goal=3")
    with pytest.raises(UserError, match="not a number"):
        plan_from_text("target=lots")
    with pytest.raises(UserError, match="needs a target"):
        plan_from_text("baseline=3")
    with pytest.raises(UserError, match="not both"):
        plan_from_text("per_bucket=3,target=4")
