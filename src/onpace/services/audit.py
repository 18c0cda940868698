"""The audit log: append keyed, chained rows in the caller's transaction, and verify the chain.

One chain runs over the whole store (every organisation), ``seq`` 1, 2, 3 … with no gaps: the
service assigns ``seq`` itself rather than leaving it to a database sequence, which skips
numbers when a transaction rolls back. Appends are serialised — by the single writer on SQLite,
by a transaction-scoped advisory lock on PostgreSQL — so two writers never fork the chain.

Each row is sealed with an HMAC under the audit key (:mod:`onpace.services.audit_key`), and
each append advances the head record (:mod:`onpace.services.audit_anchors`), so a deleted
tail, an edited row, a reordering or a chain rewritten without the key is found by
:func:`verify_audit`, which names the first bad row.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from onpace.domain import audit_chain
from onpace.services import audit_anchors
from onpace.services.audit_key import AuditKey, audit_key
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


@dataclass(frozen=True)
class AuditEntry:
    """One row to append to the chain: who did what to which subject, when, with what detail."""

    org_id: int | None
    at: dt.datetime
    actor: str
    action: str
    subject: str | None
    payload: Mapping[str, object] | None = None


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
    return append_audits(session, [AuditEntry(org_id, at, actor, action, subject, payload)])[0]


def append_audits(session: Session, entries: Sequence[AuditEntry]) -> list[AuditRow]:
    """Append rows to the chain in order, under one lock and one head update (not committed).

    An evaluation that opens and escalates hundreds of cases writes hundreds of rows: reading
    the tail and moving the head once for all of them, not once a row, is what keeps it fast.
    """
    if not entries:
        return []
    _lock(session)
    session.flush()
    last = session.scalars(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).first()
    seq = last.seq if last is not None else 0
    prev = last.hash if last is not None else audit_chain.GENESIS
    key = audit_key()
    rows: list[AuditRow] = []
    for entry in entries:
        seq += 1
        plain = _plain_payload(entry.payload or {})
        sealed = audit_chain.seal_keyed(
            audit_chain.AuditRow(
                seq, entry.at, entry.actor, entry.action, entry.subject, plain, org_id=entry.org_id
            ),
            prev,
            key.key,
        )
        rows.append(
            AuditRow(
                seq=seq,
                org_id=entry.org_id,
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                subject=entry.subject,
                payload=plain,
                prev_hash=sealed.prev_hash,
                hash=sealed.hash,
                scheme=sealed.scheme,
                key_id=sealed.key_id,
            )
        )
        prev = sealed.hash
    session.add_all(rows)
    audit_anchors.advance_head(
        session, seq=seq, head_hash=prev, key=key, at=entries[-1].at, rows=len(entries)
    )
    session.flush()
    return rows


class _Tail:
    """Remember the last row a verification walked over (its seq and hash)."""

    def __init__(self) -> None:
        self.seq = 0
        self.hash = audit_chain.GENESIS

    def follow(self, rows: Iterator[audit_chain.AuditRow]) -> Iterator[audit_chain.AuditRow]:
        for row in rows:
            self.seq, self.hash = row.seq, row.hash
            yield row


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
                scheme=row.scheme,
                key_id=row.key_id,
            )
        after = rows[-1].seq


def verify_audit(
    session: Session,
    checkpoints: Sequence[audit_anchors.Checkpoint] = (),
    *,
    key: AuditKey | None = None,
) -> list[str]:
    """Return the problems of the audit chain (empty when it holds), each naming the first bad row.

    The rows are checked link by link, then against the head record, the stored checkpoints
    and ``checkpoints`` (read from an exported file): these find rows deleted at the tail or
    everywhere, which the links alone cannot.
    """
    key = key or audit_key()
    tail = _Tail()
    broken = audit_chain.first_broken(tail.follow(_chain_rows(session)), key=key.key)
    if broken is not None:
        return [str(broken)]
    problems = audit_anchors.check_head(session, key, last_seq=tail.seq, last_hash=tail.hash)
    stored = audit_anchors.stored_checkpoints(session)
    problems += audit_anchors.check_checkpoints(session, key, [*stored, *checkpoints], last_seq=tail.seq)
    return sorted(dict.fromkeys(problems), key=_row_named)


def _row_named(problem: str) -> int:
    """Return the row a problem names (problems naming none sort last), so the first bad row leads."""
    found = re.match(r"audit row (\d+):", problem)
    return int(found.group(1)) if found else 1 << 62
