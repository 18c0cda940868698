"""Index ``evaluations`` by organisation and date: each evaluation replaces one date's verdicts.

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-02

The live loop evaluates an organisation after every batch of new data and replaces that date's
rows (``DELETE … WHERE org_id = ? AND as_of = ?``), then compares with the latest verdicts on or
before the date. The only index led with the subject, so both read every verdict ever stored:
their cost grew with the days the loop had run. By (org, date) both touch one date's rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``ix_evaluations_org_id_as_of``."""
    op.create_index("ix_evaluations_org_id_as_of", "evaluations", ["org_id", "as_of"])


def downgrade() -> None:
    """Drop ``ix_evaluations_org_id_as_of``."""
    op.drop_index("ix_evaluations_org_id_as_of", table_name="evaluations")
