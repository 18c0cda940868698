"""Key the audit chain and anchor its head: row scheme and key id, the head record, checkpoints.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02

Rows written before this revision keep their unkeyed SHA-256 hashes (scheme 1) and still
verify; every row written after is an HMAC-SHA256 under the audit key (scheme 2), linked to
the last old row. ``audit_head`` (one row) holds the chain's row count and last hash; it is
created here counting the rows already stored, and gets its MAC at the first keyed append.
``audit_checkpoints`` keeps the checkpoints ``onpace audit checkpoint`` takes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS = "0" * 64


def upgrade() -> None:
    """Add ``scheme`` and ``key_id`` to ``audit_log``; create and fill ``audit_head``; create ``audit_checkpoints``."""
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("scheme", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("row_count", BIG_ID, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=True),
        sa.Column("mac", sa.String(64), nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("taken_at", UTC_DATETIME, nullable=False),
        sa.Column("row_count", BIG_ID, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT MAX(seq) FROM audit_log")).scalar()
    head_hash = GENESIS
    if last is not None:
        head_hash = bind.execute(
            sa.text("SELECT hash FROM audit_log WHERE seq = :seq"), {"seq": last}
        ).scalar_one()
    now = dt.datetime.now(dt.UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    op.bulk_insert(
        head,
        [
            {
                "id": 1,
                "row_count": int(last or 0),
                "head_hash": head_hash,
                "key_id": None,
                "mac": None,
                "updated_at": now,
            }
        ],
    )


def downgrade() -> None:
    """Drop the anchors and the two columns (keyed rows then no longer verify as scheme 1)."""
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("key_id")
        batch.drop_column("scheme")
