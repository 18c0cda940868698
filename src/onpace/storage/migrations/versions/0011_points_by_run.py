"""Index ``points`` by ingest run, so an evaluation can read only what the runs since the last one wrote.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

A worker keeps each organisation's points between evaluations and, after new ingest runs (named
in the audit log), reads back only those runs' points. Run ids only grow, so the index is
appended at its end and costs bulk ingestion little.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``ix_points_run_id``."""
    op.create_index("ix_points_run_id", "points", ["run_id"])


def downgrade() -> None:
    """Drop ``ix_points_run_id``."""
    op.drop_index("ix_points_run_id", table_name="points")
