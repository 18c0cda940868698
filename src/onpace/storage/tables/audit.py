"""Declare the audit chain's tables: the rows, the head and the checkpoints."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from onpace.storage.tables.base import Base, JsonValue
from onpace.storage.types import BigId, JsonDoc


class AuditRow(Base):
    """An append-only, hash-chained record of a change: ``hash`` covers the row and ``prev_hash``."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # No ON DELETE action: an organisation with an audit trail cannot be deleted by accident.
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str]
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None]
    payload: Mapped[JsonValue] = mapped_column(JsonDoc)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # 1: unkeyed SHA-256 (rows written before keys); 2: HMAC-SHA256 under the audit key.
    scheme: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    key_id: Mapped[str | None] = mapped_column(String(16))


class AuditHeadRow(Base):
    """The audit chain's head (one row, ``id`` 1): row count and last MAC, MACed under the audit key.

    Updated with every append, so deleting rows at the tail leaves a head that counts them.
    ``mac`` is NULL only before the first keyed append of a store that predates keys.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    row_count: Mapped[int] = mapped_column(BigId)
    head_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))
    mac: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime]


class AuditCheckpointRow(Base):
    """A checkpoint of the audit chain (row count and head MAC at a moment), itself MACed; exportable."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    taken_at: Mapped[dt.datetime]
    row_count: Mapped[int] = mapped_column(BigId)
    head_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))
