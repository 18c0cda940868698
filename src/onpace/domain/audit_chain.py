"""The audit log's hash chain: each row carries the hash of the one before it.

A row's hash is SHA-256 over ``prev_hash`` followed by the canonical JSON of the row's content
(``seq``, ``org_id``, ``at``, ``actor``, ``action``, ``subject``, ``payload``). Editing any field of a row
changes its hash and breaks the link from the next row; deleting a row leaves a gap in ``seq``
and a link to nowhere. :func:`first_broken` finds the first place where the chain does not hold.
The first row links to :data:`GENESIS`.

Canonical JSON: keys sorted, no whitespace, UTF-8 kept as is; datetimes in UTC ISO form
(naive ones are taken as UTC, since stores may drop the zone), dates in ISO form, tuples as
lists — so a row read back from SQLite or PostgreSQL hashes the same as the row written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRow:
    """One audit entry: who did what to which subject, when, with the chain's two hashes."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject: str | None
    payload: Mapping[str, object] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""
    org_id: int | None = None


def _plain(value: object) -> object:
    """Return ``value`` as plain JSON data, in the one form every store gives back."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def canonical_json(content: Mapping[str, object]) -> str:
    """Return the canonical JSON text of a mapping (sorted keys, compact, dates normalised)."""
    return json.dumps(_plain(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def row_content(row: AuditRow) -> dict[str, object]:
    """Return the hashed content of a row: everything but the two hashes."""
    return {
        "seq": row.seq,
        "org_id": row.org_id,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "payload": row.payload,
    }


def row_hash(prev_hash: str, content: Mapping[str, object]) -> str:
    """Return SHA-256 (hex) of ``prev_hash`` followed by the canonical JSON of ``content``."""
    return hashlib.sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()


def seal(row: AuditRow, prev_hash: str) -> AuditRow:
    """Return the row linked to ``prev_hash`` with its own hash filled in."""
    return dataclasses.replace(row, prev_hash=prev_hash, hash=row_hash(prev_hash, row_content(row)))


@dataclass(frozen=True)
class Break:
    """Where the chain fails: the first bad ``seq`` and why."""

    seq: int
    reason: str

    def __str__(self) -> str:
        return f"audit row {self.seq}: {self.reason}"


def first_broken(rows: Iterable[AuditRow], first_seq: int = 1) -> Break | None:
    """Return the first broken or missing row of the chain, or None when it holds.

    Rows are checked in ``seq`` order from ``first_seq``: a missing seq, a ``prev_hash`` that is
    not the previous row's hash, or a hash that does not match the row's content is a break.
    """
    expected_seq = first_seq
    prev = GENESIS
    for row in sorted(rows, key=lambda r: r.seq):
        if row.seq != expected_seq:
            if row.seq < expected_seq:
                return Break(row.seq, "appears twice")
            return Break(expected_seq, "is missing (deleted?)")
        if row.prev_hash != prev:
            return Break(row.seq, "does not link to the row before it (edited or reordered?)")
        if row.hash != row_hash(prev, row_content(row)):
            return Break(row.seq, "content does not match its hash (edited?)")
        prev = row.hash
        expected_seq += 1
    return None
