"""Repositories answer the questions services ask, with rows filtered by organisation."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from sqlalchemy.orm import Session

from onpace.storage.errors import OrgNotFoundError
from onpace.storage.repositories import (
    cases_repo,
    checkins_repo,
    evaluations_repo,
    model_repo,
    outbox_repo,
    points_repo,
)
from onpace.storage.tables import (
    CaseEventRow,
    CaseRow,
    CheckinRow,
    CorrectiveActionRow,
    EvaluationRow,
    OrgRow,
    OutboxRow,
    PointRow,
)

NOW = dt.datetime(2026, 2, 2, 8, 0, tzinfo=dt.UTC)
D = dt.date(2026, 1, 5)


def make_org(session: Session, name: str) -> int:
    org = OrgRow(name=name, week_start="monday", created_at=NOW, updated_at=NOW)
    session.add(org)
    session.flush()
    return org.id


def point(org_id: int, metric: str, day: dt.date, value: float, **extra: object) -> PointRow:
    values: dict[str, object] = {
        "source": "csv",
        "version": 1,
        "manual": False,
        "approved": True,
        "retro_flag": False,
        "superseded_at": None,
    }
    values.update(extra)
    return PointRow(org_id=org_id, metric=metric, date=day, value=value, ingested_at=NOW, **values)


def evaluation(org_id: int, subject: str, as_of: dt.date, status: str) -> EvaluationRow:
    return EvaluationRow(
        org_id=org_id,
        subject=subject,
        level="kpi",
        as_of=as_of,
        status=status,
        at_risk=False,
        stale=False,
        threatened_by=[],
        created_at=NOW,
    )


def test_points_frame_gives_the_value_in_force_per_metric_date_and_source(session: Session) -> None:
    org = make_org(session, "Points")
    other = make_org(session, "Other")
    session.add_all(
        [
            point(org, "orders", D, 10.0, version=1, superseded_at=NOW),
            point(org, "orders", D, 12.0, version=2),
            point(org, "orders", D, 99.0, version=3, approved=False, manual=True),
            point(org, "orders", D, 5.0, source="shop"),
            point(org, "orders", D + dt.timedelta(days=1), 11.0),
            point(org, "uptime", D, 99.9),
            point(other, "orders", D, 1000.0),
        ]
    )
    session.flush()
    frame = points_repo.points_frame(session, org)
    assert frame.schema == pl.Schema(points_repo.POINTS_SCHEMA)
    assert frame.select("metric", "date", "value", "source").rows() == [
        ("orders", D, 12.0, "csv"),
        ("orders", D, 5.0, "shop"),
        ("orders", D + dt.timedelta(days=1), 11.0, "csv"),
        ("uptime", D, 99.9, "csv"),
    ]
    assert points_repo.points_frame(session, org, D)["value"].to_list() == [12.0, 5.0, 99.9]
    assert points_repo.points_frame(session, org, metrics=["uptime"])["metric"].to_list() == ["uptime"]
    assert [p.value for p in points_repo.pending_approval(session, org)] == [99.0]
    history = points_repo.point_history(session, org, "orders", last=D)
    assert [(p.source, p.version) for p in history] == [("csv", 1), ("csv", 2), ("csv", 3), ("shop", 1)]


def test_points_frame_of_an_empty_store_has_the_columns_and_no_rows(session: Session) -> None:
    frame = points_repo.points_frame(session, make_org(session, "Empty"), D)
    assert frame.is_empty()
    assert frame.columns == ["metric", "date", "value", "source", "manual", "run"]


def test_latest_versions_returns_the_highest_version_approved_or_not(session: Session) -> None:
    org = make_org(session, "Versions")
    session.add_all(
        [
            point(org, "orders", D, 10.0, version=1, superseded_at=NOW),
            point(org, "orders", D, 12.0, version=2),
            point(org, "orders", D, 13.0, version=3, approved=False),
            point(org, "orders", D + dt.timedelta(days=9), 1.0),
        ]
    )
    session.flush()
    frame = points_repo.latest_versions(session, org, ["orders"], D, D + dt.timedelta(days=1))
    assert frame.select("value", "version", "approved").rows() == [(13.0, 3, False)]
    assert points_repo.latest_versions(session, org, [], D, D).is_empty()


def test_latest_evaluations_take_the_last_as_of_on_or_before_the_date(session: Session) -> None:
    org = make_org(session, "Evals")
    session.add_all(
        [
            evaluation(org, "orders", D, "green"),
            evaluation(org, "orders", D + dt.timedelta(days=7), "amber"),
            evaluation(org, "orders", D + dt.timedelta(days=7), "red"),  # a re-run: the later write wins
            evaluation(org, "orders", D + dt.timedelta(days=14), "green"),
            evaluation(org, "uptime", D, "amber"),
        ]
    )
    session.flush()
    rows = evaluations_repo.latest_evaluations(session, org, D + dt.timedelta(days=10))
    assert [(r.subject, r.status) for r in rows] == [("orders", "red"), ("uptime", "amber")]
    assert evaluations_repo.last_evaluated_on(session, org) == {
        "orders": D + dt.timedelta(days=14),
        "uptime": D,
    }
    assert evaluations_repo.last_evaluated_on(session, org, ["uptime"]) == {"uptime": D}
    between = evaluations_repo.evaluations_between(
        session, org, D, D + dt.timedelta(days=7), subjects=["orders"]
    )
    assert [r.status for r in between] == ["green", "amber", "red"]


def test_cases_come_with_their_events_and_actions_in_two_queries(session: Session) -> None:
    org = make_org(session, "Cases")
    opened = [
        CaseRow(
            org_id=org,
            family="variance",
            kind="red",
            subject=subject,
            subject_level="kpi",
            owner=owner,
            participants=[owner],
            status=status,
            level=0,
            opened_at=NOW + dt.timedelta(hours=i),
            detail={},
            good_streak=0,
            updated_at=NOW,
        )
        for i, (subject, owner, status) in enumerate(
            [("orders", "ana", "open"), ("uptime", "kai", "open"), ("spend", "ana", "resolved")]
        )
    ]
    session.add_all(opened)
    session.flush()
    first, second, _ = opened
    session.add_all(
        [
            CaseEventRow(org_id=org, case_id=first.id, at=NOW, event="opened", actor=None, detail={}),
            CaseEventRow(
                org_id=org,
                case_id=first.id,
                at=NOW + dt.timedelta(days=1),
                event="explained",
                actor="ana",
                detail={},
            ),
            CaseEventRow(org_id=org, case_id=second.id, at=NOW, event="opened", actor=None, detail={}),
            CorrectiveActionRow(
                org_id=org,
                case_id=first.id,
                title="Fix",
                owner="ana",
                due=D,
                created_by="ana",
                created_at=NOW,
            ),
        ]
    )
    session.flush()
    assert [c.subject for c in cases_repo.open_cases(session, org)] == ["orders", "uptime"]
    assert [c.subject for c in cases_repo.open_cases(session, org, owner="ana")] == ["orders"]
    assert [c.subject for c in cases_repo.cases(session, org, owner="ana")] == ["orders", "spend"]
    events = cases_repo.events_for(session, [first.id, second.id])
    assert [e.event for e in events[first.id]] == ["opened", "explained"]
    assert [e.event for e in events[second.id]] == ["opened"]
    assert [a.title for a in cases_repo.actions_for(session, [first.id])[first.id]] == ["Fix"]
    assert cases_repo.events_for(session, []) == {}
    assert cases_repo.get_case(session, org, first.id) is first
    assert cases_repo.get_case(session, make_org(session, "Elsewhere"), first.id) is None


def test_undelivered_outbox_rows_wait_for_their_time(session: Session) -> None:
    org = make_org(session, "Outbox")
    session.add_all(
        [
            OutboxRow(
                org_id=org,
                event="case_opened",
                payload={"n": n},
                idempotency_key=f"k{n}",
                created_at=NOW,
                run_after=run_after,
                delivered_at=delivered,
                attempts=0,
            )
            for n, run_after, delivered in [
                (1, None, None),
                (2, NOW + dt.timedelta(minutes=5), None),
                (3, None, NOW),
                (4, NOW - dt.timedelta(minutes=5), None),
            ]
        ]
    )
    session.flush()
    due = outbox_repo.undelivered(session, now=NOW, org_id=org)
    assert [row.payload["n"] for row in due] == [1, 4]


def test_checkins_are_read_up_to_a_date(session: Session) -> None:
    org = make_org(session, "Checkins")
    session.add_all(
        CheckinRow(
            org_id=org,
            subject="KR1",
            date=day,
            status="green",
            confidence=8,
            reported_by="ana",
            created_at=NOW,
        )
        for day in (D, D + dt.timedelta(days=7))
    )
    session.flush()
    assert [c.date for c in checkins_repo.checkins(session, org, D)] == [D]


def test_find_org_names_what_the_store_holds(session: Session) -> None:
    with pytest.raises(OrgNotFoundError, match="no model yet"):
        model_repo.find_org(session)
    make_org(session, "Acme")
    assert model_repo.find_org(session).name == "Acme"
    make_org(session, "Globex")
    with pytest.raises(OrgNotFoundError, match="several organisations"):
        model_repo.find_org(session)
    with pytest.raises(OrgNotFoundError, match="'Acme', 'Globex'"):
        model_repo.find_org(session, "Initech")
    assert model_repo.find_org(session, "Globex").name == "Globex"


def test_points_frame_reads_back_exactly_the_doubles_stored(session: Session) -> None:
    org = make_org(session, "Doubles")
    values = [0.1 + 0.2, 1e-300, 12345678901234567.0, 3.141592653589793, -0.0, 2.0**-1074]
    session.add_all(point(org, "x", D + dt.timedelta(days=i), v) for i, v in enumerate(values))
    session.flush()
    assert points_repo.points_frame(session, org)["value"].to_list() == values


def test_metric_names_with_quotes_are_matched_literally(session: Session) -> None:
    org = make_org(session, "Quotes")
    name = "o'brien\"s, rate"
    session.add_all([point(org, name, D, 1.0), point(org, "o", D, 2.0)])
    session.flush()
    frame = points_repo.points_frame(session, org, metrics=[name, "x' OR '1'='1"])
    assert frame.select("metric", "value").rows() == [(name, 1.0)]
