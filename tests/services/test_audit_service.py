"""The stored audit chain: appends link up, and any edited or deleted row is found."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from onpace.domain.audit_chain import GENESIS
from onpace.services.audit import append_audit, verify_audit
from onpace.storage.tables import AuditRow

T0 = dt.datetime(2026, 1, 18, 9, 0, tzinfo=dt.UTC)


def write(session: Session, count: int = 4) -> list[AuditRow]:
    return [
        append_audit(
            session,
            org_id=None,
            at=T0 + dt.timedelta(minutes=i),
            actor="maria",
            action="case.explain",
            subject=f"case:{i}",
            payload={"text": f"note {i}", "due": dt.date(2026, 1, 20), "n": i},
        )
        for i in range(count)
    ]


def test_appended_rows_form_a_chain_that_verifies(session: Session) -> None:
    rows = write(session)
    assert [r.seq for r in rows] == [1, 2, 3, 4]
    assert rows[0].prev_hash == GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert verify_audit(session) == []


def test_an_empty_log_verifies(session: Session) -> None:
    assert verify_audit(session) == []


def test_an_edited_row_is_reported(session: Session) -> None:
    write(session)
    session.execute(update(AuditRow).where(AuditRow.seq == 3).values(actor="mallory"))
    session.expire_all()
    assert verify_audit(session) == ["audit row 3: content does not match its MAC (edited or rewritten?)"]


def test_an_edited_payload_is_reported(session: Session) -> None:
    write(session)
    session.execute(update(AuditRow).where(AuditRow.seq == 2).values(payload={"text": "forged"}))
    session.expire_all()
    assert verify_audit(session) == ["audit row 2: content does not match its MAC (edited or rewritten?)"]


def test_a_deleted_row_is_reported(session: Session) -> None:
    write(session)
    session.execute(delete(AuditRow).where(AuditRow.seq == 2))
    session.expire_all()
    assert verify_audit(session) == ["audit row 2: is missing (deleted?)"]


def test_payload_dates_are_stored_as_the_text_that_was_hashed(session: Session) -> None:
    write(session, 1)
    stored = session.scalars(select(AuditRow)).one()
    assert stored.payload["due"] == "2026-01-20"


def test_loading_a_model_and_ingesting_actuals_are_chained_in_the_audit_log(session: Session) -> None:
    import datetime as dt
    from pathlib import Path

    import polars as pl

    from onpace.modelfile import load_model_file
    from onpace.services.ingest import ingest_frame
    from onpace.services.model_store import save_model
    from onpace.storage.tables import AuditRow

    model = load_model_file(Path(__file__).resolve().parents[2] / "examples" / "onpace.yaml")
    now = dt.datetime(2026, 4, 6, 9, tzinfo=dt.UTC)
    org_id = save_model(session, model, by="ana", now=now).org_id
    save_model(session, model, by="ana", now=now)  # unchanged: nothing to record
    frame = pl.DataFrame({"metric": ["online_orders"], "date": ["2026-04-07"], "value": [120.0]})
    ingest_frame(
        session,
        org_id,
        frame,
        source="csv",
        run_by="ana",
        manual=True,
        now=now,
        known_metrics={"online_orders"},
    )
    actions = [row.action for row in session.query(AuditRow).order_by(AuditRow.seq)]
    assert actions[-2:] == ["model.saved", "actuals.ingested"]
    assert actions.count("model.saved") == 1
    assert verify_audit(session) == []
