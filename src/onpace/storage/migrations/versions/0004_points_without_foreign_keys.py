"""Drop the foreign keys of ``points`` (to ``orgs`` and ``ingest_runs``): they cost most of an ingest.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

A foreign key is checked row by row: on PostgreSQL each inserted point ran two lookups through
the referential-integrity triggers, which made ``COPY`` into ``points`` about four times slower
than the insert itself (500,000 points: 8.4 s with the keys, 2.8 s without, on the same server);
SQLite checks them row by row as well. ``points`` is by far the largest table and is written
only by ingestion, which inserts the run (itself keyed to the organisation) in the same
transaction as its points, so every point names an existing organisation and run by
construction. The delete actions the keys carried never fire: runs are never deleted, and an
organisation that has points also has an audit trail, whose key forbids deleting it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop ``fk_points_org_id_orgs`` and ``fk_points_run_id_ingest_runs``."""
    with op.batch_alter_table("points") as batch:
        batch.drop_constraint(op.f("fk_points_org_id_orgs"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_points_run_id_ingest_runs"), type_="foreignkey")


def downgrade() -> None:
    """Put the two foreign keys back, with their delete actions."""
    with op.batch_alter_table("points") as batch:
        batch.create_foreign_key(
            op.f("fk_points_org_id_orgs"), "orgs", ["org_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_foreign_key(
            op.f("fk_points_run_id_ingest_runs"),
            "ingest_runs",
            ["run_id"],
            ["id"],
            ondelete="SET NULL",
        )
