"""Anchor the audit chain's head, so rows deleted at the tail (or everywhere) are found.

Links between rows find an edited, missing or reordered row in the middle, but not a chain
cut short: the last rows can go and the rest still links up. Two anchors say how long the
chain was, each MACed under the audit key so it cannot be forged without the key:

- the **head record** (table ``audit_head``), advanced by every append in the same
  transaction: its count grows by one from its own value, so after a deleted tail the next
  append still counts the missing rows;
- **checkpoints** (table ``audit_checkpoints``), taken by ``onpace audit checkpoint`` and
  exported to a file kept away from the database: the file still holds them when the tables
  themselves were emptied.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.domain import audit_chain
from onpace.errors import UserError
from onpace.services.audit_key import AuditKey
from onpace.storage.tables import AuditCheckpointRow, AuditHeadRow, AuditRow

HEAD_ID = 1
FILE_FORMAT = "onpace-audit-checkpoints"
_LAST = 1 << 62  # sorts problems that name no row after those that do


class CheckpointFileError(UserError, ValueError):
    """A checkpoint file cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Checkpoint:
    """The chain's length and last MAC at ``taken_at``, with the MAC that vouches for both."""

    taken_at: dt.datetime
    row_count: int
    head_hash: str
    key_id: str
    mac: str

    def as_json(self) -> dict[str, object]:
        """Return the checkpoint as it is written to an export file."""
        return {
            "taken_at": self.taken_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "row_count": self.row_count,
            "head_hash": self.head_hash,
            "key_id": self.key_id,
            "mac": self.mac,
        }

    def label(self) -> str:
        """Return how messages name this checkpoint."""
        return f"the checkpoint of {self.taken_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def advance_head(
    session: Session, *, seq: int, head_hash: str, key: AuditKey, at: dt.datetime, rows: int = 1
) -> None:
    """Count ``rows`` more rows (the last one ``seq``) in the head record and re-MAC it (not committed)."""
    head = session.get(AuditHeadRow, HEAD_ID)
    if head is None:
        head = AuditHeadRow(id=HEAD_ID, row_count=seq - rows, head_hash=audit_chain.GENESIS, updated_at=at)
        session.add(head)
    # From the head's own count, not from ``seq``: rows deleted at the tail stay counted.
    head.row_count = head.row_count + rows
    head.head_hash = head_hash
    head.key_id = audit_chain.key_id(key.key)
    head.mac = audit_chain.anchor_mac(key.key, "head", head.row_count, head_hash)
    head.updated_at = at


def check_head(session: Session, key: AuditKey, *, last_seq: int, last_hash: str) -> list[str]:
    """Return what the head record says is wrong with a chain that links up to ``last_seq``."""
    head = session.get(AuditHeadRow, HEAD_ID)
    if head is None:
        return ["the audit head record is missing (deleted?)"] if last_seq else []
    if head.mac is None:
        keyed = session.scalars(
            select(AuditRow.seq).where(AuditRow.scheme != audit_chain.LEGACY).limit(1)
        ).first()
        if keyed is not None:
            return ["the audit head record has lost its MAC although keyed rows exist (edited?)"]
    elif head.key_id != audit_chain.key_id(key.key):
        return [
            f"the audit head record was sealed with audit key {head.key_id}, "
            f"not the configured key {audit_chain.key_id(key.key)}"
        ]
    elif not audit_chain.same_mac(
        head.mac, audit_chain.anchor_mac(key.key, "head", head.row_count, head.head_hash)
    ):
        return ["the audit head record does not match its MAC (edited?)"]
    if head.row_count > last_seq:
        return [
            f"audit row {last_seq + 1}: is missing (deleted? the head record counts {head.row_count} rows)"
        ]
    if head.row_count < last_seq:
        return [
            f"audit row {head.row_count + 1}: was not written by onpace "
            f"(the head record counts {head.row_count} rows, the log has {last_seq})"
        ]
    if head.head_hash != last_hash:
        return [f"audit row {last_seq}: does not match the head record (rewritten?)"]
    return []


def stored_checkpoints(session: Session) -> list[Checkpoint]:
    """Return the checkpoints kept in the store, oldest first."""
    rows = session.scalars(select(AuditCheckpointRow).order_by(AuditCheckpointRow.id))
    return [Checkpoint(r.taken_at, r.row_count, r.head_hash, r.key_id, r.mac) for r in rows]


def checkpoint_mac(key: bytes, row_count: int, head_hash: str, taken_at: dt.datetime) -> str:
    """Return the MAC of a checkpoint (count, head hash and time, under the audit key)."""
    return audit_chain.anchor_mac(key, "checkpoint", row_count, head_hash, taken_at)


def take_checkpoint(session: Session, key: AuditKey, *, now: dt.datetime) -> Checkpoint:
    """Store a checkpoint of the chain as it is now and return it (not committed).

    The caller verifies the chain first: a checkpoint vouches for what it counts.
    """
    last = session.scalars(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).first()
    count, head_hash = (last.seq, last.hash) if last is not None else (0, audit_chain.GENESIS)
    taken_at = now.astimezone(dt.UTC).replace(microsecond=0)
    point = Checkpoint(
        taken_at,
        count,
        head_hash,
        audit_chain.key_id(key.key),
        checkpoint_mac(key.key, count, head_hash, taken_at),
    )
    session.add(
        AuditCheckpointRow(
            taken_at=point.taken_at,
            row_count=point.row_count,
            head_hash=point.head_hash,
            key_id=point.key_id,
            mac=point.mac,
        )
    )
    session.flush()
    return point


def check_checkpoints(
    session: Session, key: AuditKey, checkpoints: Iterable[Checkpoint], *, last_seq: int
) -> list[str]:
    """Return what the checkpoints say is wrong with a chain that links up to ``last_seq``.

    Problems are ordered by the row they name, the first bad row first.
    """
    found: dict[str, int] = {}
    configured = audit_chain.key_id(key.key)
    for point in checkpoints:
        if point.key_id != configured:
            found[
                f"{point.label()} was sealed with audit key {point.key_id}, not the configured key {configured}"
            ] = _LAST
            continue
        expected = checkpoint_mac(key.key, point.row_count, point.head_hash, point.taken_at)
        if not audit_chain.same_mac(point.mac, expected):
            found[f"{point.label()} does not match its MAC (edited or forged?)"] = _LAST
            continue
        if point.row_count > last_seq:
            message = f"audit row {last_seq + 1}: is missing (deleted? {point.label()} counts {point.row_count} rows)"
            found.setdefault(message, last_seq + 1)
            continue
        if point.row_count == 0:
            continue
        stored = session.scalars(select(AuditRow.hash).where(AuditRow.seq == point.row_count)).first()
        if stored != point.head_hash:
            found.setdefault(
                f"audit row {point.row_count}: does not match {point.label()} (rewritten?)", point.row_count
            )
    return sorted(found, key=lambda message: found[message])


def export_document(checkpoints: Sequence[Checkpoint]) -> str:
    """Return the JSON text of an export file holding ``checkpoints``."""
    document = {"format": FILE_FORMAT, "version": 1, "checkpoints": [c.as_json() for c in checkpoints]}
    return json.dumps(document, indent=2) + "\n"


def merge(*groups: Iterable[Checkpoint]) -> list[Checkpoint]:
    """Return the checkpoints of every group once each, oldest first."""
    seen: dict[str, Checkpoint] = {}
    for group in groups:
        for point in group:
            seen.setdefault(point.mac, point)
    return sorted(seen.values(), key=lambda c: (c.taken_at, c.row_count))


def read_checkpoint_file(path: Path) -> list[Checkpoint]:
    """Read an export file; raise :class:`CheckpointFileError` naming the file and the problem."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointFileError(f"{path}: not a checkpoint file ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise CheckpointFileError(f'{path}: not a checkpoint file (expected "format": "{FILE_FORMAT}")')
    items = document.get("checkpoints")
    if not isinstance(items, list):
        raise CheckpointFileError(f"{path}: 'checkpoints' must be a list")
    found = []
    for number, item in enumerate(items, start=1):
        try:
            found.append(
                Checkpoint(
                    taken_at=dt.datetime.fromisoformat(str(item["taken_at"]).replace("Z", "+00:00")),
                    row_count=int(item["row_count"]),
                    head_hash=str(item["head_hash"]),
                    key_id=str(item["key_id"]),
                    mac=str(item["mac"]),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointFileError(f"{path}: checkpoint {number} is malformed ({exc})") from None
    return found
