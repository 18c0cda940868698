"""Keep the organisation's time zone and each KPI's unit of measure.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-02

The model file's ``calendar.timezone`` (an IANA name; days end at local midnight) and a KPI's
``uom`` (``%``, a currency code, ``count``, ``days`` …) must survive a save and load through the
store. Existing organisations keep UTC, which is what they were evaluated in; existing KPIs have
no unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``orgs.timezone`` (not null, default UTC) and ``kpis.uom`` (nullable)."""
    with op.batch_alter_table("orgs") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"))
    with op.batch_alter_table("kpis") as batch:
        batch.add_column(sa.Column("uom", sa.String(16), nullable=True))


def downgrade() -> None:
    """Drop ``kpis.uom`` and ``orgs.timezone``."""
    with op.batch_alter_table("kpis") as batch:
        batch.drop_column("uom")
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("timezone")
