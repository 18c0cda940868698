"""Manual entries awaiting approval: approving puts them in force, rejecting keeps the old value, four eyes."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.modelfile import parse_model_text
from onpace.services.evaluation_requests import evaluation_key
from onpace.services.ingest import ingest_frame
from onpace.services.manual_approval import (
    AlreadyDecidedError,
    Decider,
    RefusedError,
    UnknownEntryError,
    decide,
    pending_entries,
)
from onpace.services.model_store import save_model
from onpace.storage.repositories import points_repo
from onpace.storage.tables import AuditRow, JobRow, PointRow

pytestmark = pytest.mark.store

DAY = dt.date(2026, 1, 7)
NOW = dt.datetime(2026, 1, 9, 8, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=2)

MODEL = """
org: Approvals
units:
  - {id: hq, name: Head office, head: hana}
  - {id: ops, name: Operations, head: olga, parent: hq}
  - {id: sales, name: Sales, head: sam}
people:
  - {id: hana, name: Hana Ito, email: hana@example.com, unit: hq}
  - {id: olga, name: Olga Berg, email: olga@example.com, unit: ops}
  - {id: sam, name: Sam Roy, email: sam@example.com, unit: sales}
  - {id: mia, name: Mia Lund, email: mia@example.com, unit: ops}
cycles:
  - {id: q1, start: 2026-01-05, end: 2026-03-29}
kpis:
  - {id: orders, title: Orders shipped, unit: ops, owner: mia, measure: flow, grain: week, aggregate: sum,
     plan: {per_bucket: 100}, source: feed}
sources:
  - {id: feed, kind: push}
policy:
  approve_manual: true
"""


def setup(session: Session) -> int:
    org_id = save_model(session, parse_model_text(MODEL, "approvals.yaml"), by="test", now=NOW).org_id
    enter(session, org_id, 410.0, by=None, manual=False, at=NOW)
    return org_id


def enter(
    session: Session,
    org_id: int,
    value: float,
    *,
    by: str | None,
    manual: bool = True,
    at: dt.datetime = LATER,
) -> int:
    frame = pl.DataFrame({"metric": ["orders"], "date": [DAY], "value": [value], "source": ["feed"]})
    return ingest_frame(
        session,
        org_id,
        frame,
        source="feed",
        run_by=by,
        manual=manual,
        approved=not manual,
        now=at,
        known_metrics={"orders"},
    ).run_id


def in_force(session: Session, org_id: int) -> list[float]:
    return points_repo.points_frame(session, org_id)["value"].to_list()


def jobs(session: Session, org_id: int) -> list[str | None]:
    return list(session.scalars(select(JobRow.dedupe_key).where(JobRow.org_id == org_id)))


def test_pending_entries_show_the_value_in_force_and_the_one_proposed(session: Session) -> None:
    org_id = setup(session)
    run = enter(session, org_id, 500.0, by="mia")
    (point,) = pending_entries(session, org_id, parse_model_text(MODEL, "m.yaml"))
    assert (point.run_id, point.title, point.date, point.source) == (run, "Orders shipped", DAY, "feed")
    assert (point.in_force, point.proposed, point.entered_by, point.version) == (410.0, 500.0, "mia", 2)


def test_approving_puts_the_value_in_force_and_supersedes_the_old_one(session: Session) -> None:
    org_id = setup(session)
    run = enter(session, org_id, 500.0, by="mia")
    model = parse_model_text(MODEL, "m.yaml")
    decision = decide(
        session, org_id, model, approve=True, who=Decider("olga", person="olga"), now=LATER, run=run
    )
    assert decision.approved
    assert decision.runs == (run,)
    assert in_force(session, org_id) == [500.0]
    versions = session.execute(
        select(PointRow.version, PointRow.approved, PointRow.approved_by, PointRow.superseded_at).order_by(
            PointRow.version
        )
    ).all()
    assert [(v, a, by) for v, a, by, _ in versions] == [(1, True, None), (2, True, "olga")]
    assert versions[0].superseded_at is not None
    assert versions[1].superseded_at is None
    assert pending_entries(session, org_id, model) == []


def test_rejecting_keeps_the_old_value_in_force(session: Session) -> None:
    org_id = setup(session)
    run = enter(session, org_id, 500.0, by="mia")
    model = parse_model_text(MODEL, "m.yaml")
    decide(session, org_id, model, approve=False, who=Decider("olga", person="olga"), now=LATER, run=run)
    assert in_force(session, org_id) == [410.0]
    assert pending_entries(session, org_id, model) == []
    rejected = session.scalars(select(PointRow).where(PointRow.version == 2)).one()
    assert (rejected.approved, rejected.superseded_at is not None) == (False, True)


def test_the_person_who_entered_the_points_may_not_decide_them_even_as_an_editor(session: Session) -> None:
    org_id = setup(session)
    run = enter(session, org_id, 500.0, by="olga@example.com")
    model = parse_model_text(MODEL, "m.yaml")
    with pytest.raises(RefusedError, match="four eyes"):
        decide(
            session,
            org_id,
            model,
            approve=True,
            who=Decider("olga", person="olga", editor=True),
            now=LATER,
            run=run,
        )
    assert in_force(session, org_id) == [410.0]
    assert len(pending_entries(session, org_id, model)) == 1


def test_only_the_units_heads_editors_and_admins_may_decide(session: Session) -> None:
    org_id = setup(session)
    run = enter(session, org_id, 500.0, by="mia")
    model = parse_model_text(MODEL, "m.yaml")
    with pytest.raises(RefusedError, match="head of its unit"):
        decide(session, org_id, model, approve=True, who=Decider("sam", person="sam"), now=LATER, run=run)
    # The head of the unit above decides too, and so does an editor who heads nothing.
    decide(session, org_id, model, approve=False, who=Decider("hana", person="hana"), now=LATER, run=run)
    second = enter(session, org_id, 600.0, by="mia", at=LATER + dt.timedelta(hours=1))
    decide(
        session,
        org_id,
        model,
        approve=True,
        who=Decider("ed@example.com", editor=True),
        now=LATER,
        run=second,
    )
    assert in_force(session, org_id) == [600.0]


def test_only_points_awaiting_approval_can_be_decided(session: Session) -> None:
    org_id = setup(session)
    run = enter(session, org_id, 500.0, by="mia")
    model = parse_model_text(MODEL, "m.yaml")
    olga = Decider("olga", person="olga")
    with pytest.raises(UnknownEntryError, match="no manual entry 987654"):
        decide(session, org_id, model, approve=True, who=olga, now=LATER, run=987654)
    with pytest.raises(UnknownEntryError, match="no point 987654"):
        decide(session, org_id, model, approve=True, who=olga, now=LATER, points=[987654])
    decide(session, org_id, model, approve=True, who=olga, now=LATER, run=run)
    with pytest.raises(AlreadyDecidedError):
        decide(session, org_id, model, approve=False, who=olga, now=LATER, run=run)
    first = session.scalars(select(PointRow.id).where(PointRow.version == 1)).one()
    with pytest.raises(AlreadyDecidedError):
        decide(session, org_id, model, approve=True, who=olga, now=LATER, points=[first])
    assert in_force(session, org_id) == [500.0]


def test_each_decision_writes_one_audit_row_naming_its_runs_and_points(session: Session) -> None:
    org_id = setup(session)
    run = enter(session, org_id, 500.0, by="mia")
    model = parse_model_text(MODEL, "m.yaml")
    before = session.scalar(select(AuditRow.seq).order_by(AuditRow.seq.desc()).limit(1))
    decide(session, org_id, model, approve=True, who=Decider("olga", person="olga"), now=LATER, run=run)
    (row,) = session.scalars(select(AuditRow).where(AuditRow.seq > before)).all()
    assert (row.action, row.actor, row.subject) == ("actuals.approved", "olga", "orders")
    assert row.payload["runs"] == [run]
    assert [(p["value"], p["in_force"], p["entered_by"]) for p in row.payload["points"]] == [
        (500.0, 410.0, "mia")
    ]


def test_approving_requests_an_evaluation_and_rejecting_does_not(session: Session) -> None:
    org_id = setup(session)
    model = parse_model_text(MODEL, "m.yaml")
    olga = Decider("olga", person="olga")
    rejected = enter(session, org_id, 500.0, by="mia")
    decide(session, org_id, model, approve=False, who=olga, now=LATER, run=rejected)
    assert jobs(session, org_id) == []
    approved = enter(session, org_id, 550.0, by="mia", at=LATER + dt.timedelta(hours=1))
    decide(session, org_id, model, approve=True, who=olga, now=LATER, run=approved)
    assert jobs(session, org_id) == [evaluation_key(org_id)]


def test_approving_a_later_entry_overtakes_an_earlier_one_still_waiting(session: Session) -> None:
    org_id = setup(session)
    earlier = enter(session, org_id, 500.0, by="mia")
    later = enter(session, org_id, 520.0, by="mia", at=LATER + dt.timedelta(hours=1))
    model = parse_model_text(MODEL, "m.yaml")
    decide(session, org_id, model, approve=True, who=Decider("olga", person="olga"), now=LATER, run=later)
    assert in_force(session, org_id) == [520.0]
    assert pending_entries(session, org_id, model) == []
    with pytest.raises(AlreadyDecidedError):
        decide(
            session, org_id, model, approve=True, who=Decider("olga", person="olga"), now=LATER, run=earlier
        )


def test_a_value_entered_again_after_its_rejection_waits_for_approval_again(session: Session) -> None:
    org_id = setup(session)
    model = parse_model_text(MODEL, "m.yaml")
    rejected = enter(session, org_id, 500.0, by="mia")
    decide(session, org_id, model, approve=False, who=Decider("olga", person="olga"), now=LATER, run=rejected)
    again = enter(session, org_id, 500.0, by="mia", at=LATER + dt.timedelta(hours=1))
    (point,) = pending_entries(session, org_id, model)
    assert (point.run_id, point.version, point.in_force, point.proposed) == (again, 3, 410.0, 500.0)


def test_an_entry_that_stored_no_point_has_nothing_to_decide(session: Session) -> None:
    org_id = setup(session)
    enter(session, org_id, 500.0, by="mia")
    repeated = enter(session, org_id, 500.0, by="mia", at=LATER + dt.timedelta(hours=1))  # unchanged
    model = parse_model_text(MODEL, "m.yaml")
    with pytest.raises(AlreadyDecidedError, match=f"entry {repeated} holds no point"):
        decide(
            session, org_id, model, approve=True, who=Decider("olga", person="olga"), now=LATER, run=repeated
        )
