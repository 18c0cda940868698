"""What the audit log records: model edits with ids and values, point corrections, check-in corrections."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_model_store import LATER, NOW, acme, replace_kpi

from onpace.domain.checkins import CheckIn
from onpace.domain.model import Plan
from onpace.services.checkins import record_checkins
from onpace.services.ingest import ingest_frame
from onpace.services.model_store import save_model
from onpace.storage.tables import AuditRow


def last_audit(session: Session) -> AuditRow:
    return session.scalars(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).one()


def test_a_model_edit_is_audited_with_the_item_id_and_values_before_and_after(session: Session) -> None:
    model = acme()
    save_model(session, model, by="admin", now=NOW)
    edited = replace_kpi(
        model, "orders", title="Orders shipped", owners=("raj",), plan=Plan(per_bucket=12_000.0)
    )
    save_model(session, edited, by="maria", now=LATER)
    row = last_audit(session)
    assert (row.action, row.actor) == ("model.saved", "maria")
    changes = row.payload["changes"]
    assert {
        "collection": "kpis",
        "id": "orders",
        "change": "updated",
        "before": {"title": "Orders processed"},
        "after": {"title": "Orders shipped"},
    } in changes
    owners = next(c for c in changes if c["collection"] == "kpi_owners")
    assert (owners["id"], owners["after"]) == ("orders", {"owners": ["raj"]})
    plan = next(c for c in changes if c["collection"] == "plans")
    assert plan["id"] == "kpi:orders"
    assert plan["before"]["version"] == 1
    assert plan["after"]["plan"]["per_bucket"] == 12_000.0


def test_a_corrected_point_is_audited_with_its_value_before_and_after(session: Session) -> None:
    org_id = save_model(session, acme(), by="admin", now=NOW).org_id

    def ingest(value: float) -> None:
        frame = pl.DataFrame({"metric": ["orders"], "date": ["2026-01-21"], "value": [value]})
        ingest_frame(
            session,
            org_id,
            frame,
            source="erp",
            run_by="ana",
            manual=False,
            now=LATER,
            known_metrics={"orders"},
        )

    ingest(100.0)
    assert "corrections" not in last_audit(session).payload
    ingest(90.0)
    assert last_audit(session).payload["corrections"] == [
        {
            "metric": "orders",
            "date": "2026-01-21",
            "source": "erp",
            "version": 2,
            "before": 100.0,
            "after": 90.0,
        }
    ]


def test_a_manual_entry_is_audited_point_by_point(session: Session) -> None:
    org_id = save_model(session, acme(), by="admin", now=NOW).org_id
    frame = pl.DataFrame({"metric": ["orders"], "date": ["2026-01-21"], "value": [7.0]})
    ingest_frame(
        session,
        org_id,
        frame,
        source="manual",
        run_by="ana",
        manual=True,
        now=LATER,
        known_metrics={"orders"},
    )
    assert last_audit(session).payload["entries"] == [
        {"metric": "orders", "date": "2026-01-21", "source": "manual", "version": 1, "value": 7.0}
    ]


def test_a_check_in_that_replaces_one_is_audited_with_the_values_before(session: Session) -> None:
    org_id = save_model(session, acme(), by="admin", now=NOW).org_id
    day = dt.date(2026, 1, 21)
    record_checkins(session, org_id, [CheckIn("KR1", day, "green", 8, "maria")], now=NOW)
    first = last_audit(session)
    assert first.action == "checkin.record"
    record_checkins(session, org_id, [CheckIn("KR1", day, "amber", 5, "maria", "slipping")], now=LATER)
    row = last_audit(session)
    assert row.action == "checkin.corrected"
    assert row.payload["replaces"] == first.payload["id"]
    assert row.payload["before"] == {"status": "green", "confidence": 8, "comment": None}
    assert (row.payload["status"], row.payload["confidence"]) == ("amber", 5)
