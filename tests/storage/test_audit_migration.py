"""A store whose audit log was written before keys existed keeps verifying after the upgrade, and grows keyed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import column, insert, select, table
from sqlalchemy.orm import Session

from onpace.domain import audit_chain
from onpace.services.audit import append_audit, verify_audit
from onpace.storage.db import make_engine, upgrade
from onpace.storage.tables import AuditHeadRow, AuditRow
from onpace.storage.types import JsonDoc, UtcDateTime

pytestmark = pytest.mark.store

T0 = dt.datetime(2026, 1, 18, 9, 0, tzinfo=dt.UTC)
OLD_LOG = table(
    "audit_log",
    column("seq"),
    column("org_id"),
    column("at", UtcDateTime()),
    column("actor"),
    column("action"),
    column("subject"),
    column("payload", JsonDoc),
    column("prev_hash"),
    column("hash"),
)


def test_old_unkeyed_rows_verify_after_the_upgrade_and_new_rows_chain_on_keyed(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0004")  # the schema before keys, written by the old code
        prev = audit_chain.GENESIS
        with engine.begin() as connection:
            for seq in (1, 2, 3):
                row = audit_chain.seal(
                    audit_chain.AuditRow(seq, T0, "ana", "model.saved", "Acme", {"n": seq}), prev
                )
                connection.execute(
                    insert(OLD_LOG).values(
                        seq=seq,
                        org_id=None,
                        at=T0,
                        actor="ana",
                        action="model.saved",
                        subject="Acme",
                        payload={"n": seq},
                        prev_hash=prev,
                        hash=row.hash,
                    )
                )
                prev = row.hash
        upgrade(engine)
        with Session(engine) as session:
            head = session.get(AuditHeadRow, 1)
            assert head is not None
            assert (head.row_count, head.head_hash, head.mac) == (3, prev, None)
            assert verify_audit(session) == []
            append_audit(session, org_id=None, at=T0, actor="ana", action="case.explain", subject="case:1")
            session.commit()
            rows = list(session.scalars(select(AuditRow).order_by(AuditRow.seq)))
            assert [(r.seq, r.scheme) for r in rows] == [(1, 1), (2, 1), (3, 1), (4, 2)]
            assert rows[3].prev_hash == prev
            assert verify_audit(session) == []
    finally:
        engine.dispose()
