"""The audit log: append hash-chained rows in the caller's transaction, and verify the chain.

One chain runs over the whole store (every organisation), ``seq`` 1, 2, 3 … with no gaps: the
service assigns ``seq`` itself rather than leaving it to a database sequence, which skips
numbers when a transaction rolls back. Appends are serialised — by the single writer on SQLite,
by a transaction-scoped advisory lock on PostgreSQL — so two writers never fork the chain.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from onpace.domain import audit_chain
from onpace.storage.tables import AuditRow

# Any constant: the key of PostgreSQL's advisory lock that serialises appends to the chain.
AUDIT_LOCK_KEY = 0x0A0D17
BATCH = 5_000


def _plain_payload(payload: Mapping[str, object]) -> dict[str, object]:
    """Return the payload exactly as the JSON column will give it back (dates as text …)."""
    loaded: dict[str, object] = json.loads(audit_chain.canonical_json(payload))
    return loaded


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def append_audit(
    session: Session,
    *,
    org_id: int | None,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str | None,
    payload: Mapping[str, object] | None = None,
) -> AuditRow:
    """Append one row to the chain (not committed: it belongs to the caller's transaction)."""
    _lock(session)
    session.flush()
    last = session.scalars(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).first()
    seq = last.seq + 1 if last is not None else 1
    prev = last.hash if last is not None else audit_chain.GENESIS
    plain = _plain_payload(payload or {})
    sealed = audit_chain.seal(
        audit_chain.AuditRow(seq, at, actor, action, subject, plain, org_id=org_id), prev
    )
    row = AuditRow(
        seq=seq,
        org_id=org_id,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        payload=plain,
        prev_hash=sealed.prev_hash,
        hash=sealed.hash,
    )
    session.add(row)
    session.flush()
    return row


def _chain_rows(session: Session) -> Iterator[audit_chain.AuditRow]:
    """Yield every stored row as a chain value, in ``seq`` order, a batch at a time."""
    after = 0
    while True:
        stmt = select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(BATCH)
        rows = list(session.scalars(stmt))
        if not rows:
            return
        for row in rows:
            yield audit_chain.AuditRow(
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                action=row.action,
                subject=row.subject,
                payload=row.payload or {},
                prev_hash=row.prev_hash,
                hash=row.hash,
                org_id=row.org_id,
            )
        after = rows[-1].seq


def verify_audit(session: Session) -> list[str]:
    """Return the problems of the audit chain (empty when it holds): the first break, said plainly."""
    broken = audit_chain.first_broken(_chain_rows(session))
    return [] if broken is None else [str(broken)]
