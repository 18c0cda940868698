"""The audit log's chain: each row carries the MAC (or, in old rows, the hash) of the one before it.

Two schemes share one chain. Scheme 2 (every row written now): a row's ``hash`` is
HMAC-SHA256, under the audit key, of ``prev_hash`` followed by the canonical JSON of the row's
content plus ``scheme`` and ``key_id`` — without the key, nobody can rewrite a row and
recompute the rest of the chain. Scheme 1 (rows written before keys existed): a row's hash is SHA-256 over ``prev_hash`` followed by the canonical JSON of the row's content
(``seq``, ``org_id``, ``at``, ``actor``, ``action``, ``subject``, ``payload``). Editing any field of a row
changes its hash and breaks the link from the next row; deleting a row leaves a gap in ``seq``
and a link to nowhere. :func:`first_broken` finds the first place where the chain does not hold.
The first row links to :data:`GENESIS`. Scheme 1 rows may only open the chain: a scheme 1
row after a scheme 2 row is a downgrade, hence a break.

A chain's head (row count and the last row's MAC) is anchored by :func:`anchor_mac` in the
head record and in checkpoints, so deleting rows at the tail is found too.

Canonical JSON: keys sorted, no whitespace, UTF-8 kept as is; datetimes in UTC ISO form
(naive ones are taken as UTC, since stores may drop the zone), dates in ISO form, tuples as
lists — so a row read back from SQLite or PostgreSQL hashes the same as the row written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

GENESIS = "0" * 64
LEGACY, KEYED = 1, 2


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
    scheme: int = LEGACY
    key_id: str | None = None


_AS_IS = frozenset({str, int, bool, type(None)})


def _plain(value: object) -> object:
    """Return ``value`` as plain JSON data, in the one form every store gives back."""
    # Exact-type fast paths first: a model load's audit payload holds about a million values.
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is float:
        return value if math.isfinite(value) else str(value)  # type: ignore[arg-type]
    if kind is dict:
        return {str(k): _plain(v) for k, v in value.items()}  # type: ignore[attr-defined]
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]  # type: ignore[attr-defined]
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
    """Return the hashed content of a row: everything but the two hashes (and, keyed, its scheme)."""
    content: dict[str, object] = {
        "seq": row.seq,
        "org_id": row.org_id,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "payload": row.payload,
    }
    if row.scheme != LEGACY:
        content["scheme"] = row.scheme
        content["key_id"] = row.key_id
    return content


def key_id(key: bytes) -> str:
    """Return the public fingerprint of an audit key (16 hex digits), stored with each row it seals."""
    return hmac.new(key, b"onpace audit key id", hashlib.sha256).hexdigest()[:16]


def row_mac(key: bytes, prev_hash: str, content: Mapping[str, object]) -> str:
    """Return HMAC-SHA256 (hex), under ``key``, of ``prev_hash`` followed by the canonical JSON of ``content``."""
    return hmac.new(key, (prev_hash + canonical_json(content)).encode("utf-8"), hashlib.sha256).hexdigest()


def seal_keyed(row: AuditRow, prev_hash: str, key: bytes) -> AuditRow:
    """Return the row linked to ``prev_hash`` and sealed (scheme 2) with the MAC under ``key``."""
    keyed = dataclasses.replace(row, prev_hash=prev_hash, scheme=KEYED, key_id=key_id(key))
    return dataclasses.replace(keyed, hash=row_mac(key, prev_hash, row_content(keyed)))


def anchor_mac(
    key: bytes, kind: str, row_count: int, head_hash: str, taken_at: dt.datetime | None = None
) -> str:
    """Return the MAC that anchors a chain head: ``kind`` (head, checkpoint), row count, head hash, time."""
    moment = "" if taken_at is None else str(_plain(taken_at))
    text = f"onpace audit {kind}|{row_count}|{head_hash}|{moment}"
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def same_mac(a: str, b: str) -> bool:
    """Return whether two MACs are equal, in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


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


def first_broken(rows: Iterable[AuditRow], first_seq: int = 1, *, key: bytes | None = None) -> Break | None:
    """Return the first broken or missing row of the chain, or None when it holds.

    Rows are checked in ``seq`` order from ``first_seq``: a missing seq, a ``prev_hash`` that is
    not the previous row's hash, a hash that does not match the row's content, or a scheme 1
    row after a scheme 2 one is a break. Scheme 2 rows are checked under ``key``; without a
    key, a scheme 2 row is a break (it cannot be checked).
    """
    expected_seq = first_seq
    prev = GENESIS
    keyed_seen = False
    for row in sorted(rows, key=lambda r: r.seq):
        if row.seq != expected_seq:
            if row.seq < expected_seq:
                return Break(row.seq, "appears twice")
            return Break(expected_seq, "is missing (deleted?)")
        if row.prev_hash != prev:
            return Break(row.seq, "does not link to the row before it (edited or reordered?)")
        if row.scheme == LEGACY:
            if keyed_seen:
                return Break(row.seq, "is an unkeyed row after keyed ones (chain rewritten?)")
            if row.hash != row_hash(prev, row_content(row)):
                return Break(row.seq, "content does not match its hash (edited?)")
        else:
            keyed_seen = True
            problem = _keyed_problem(row, prev, key)
            if problem is not None:
                return Break(row.seq, problem)
        prev = row.hash
        expected_seq += 1
    return None


def _keyed_problem(row: AuditRow, prev: str, key: bytes | None) -> str | None:
    """Return why a scheme 2 row fails its MAC, or None when it holds."""
    if row.scheme != KEYED:
        return f"has an unknown scheme {row.scheme} (edited?)"
    if key is None:
        return "is sealed with an audit key, and none is configured"
    if row.key_id != key_id(key):
        return (
            f"was sealed with audit key {row.key_id}, not the configured key {key_id(key)} "
            "(set the same audit key for every process, or the row was edited)"
        )
    if not same_mac(row.hash, row_mac(key, prev, row_content(row))):
        return "content does not match its MAC (edited or rewritten?)"
    return None
