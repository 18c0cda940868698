"""Keep plans per cycle and the close of a cycle: its grades, retrospective notes and carry-over.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-02

A KPI lives across cycles and has a plan per cycle, so ``plan_versions`` gains the ``cycle``
a version plans (NULL for the subject's home cycle: every version stored before this revision).
Closing a cycle writes ``cycle_closes`` (one row per closed cycle, with what was carried forward)
and ``cycle_grades`` (the final grade of every KR and objective); owners write their
retrospective in ``retro_notes`` before the close.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
)


def _org(table: str) -> list[Any]:
    return [
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f(f"fk_{table}_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    """Add ``plan_versions.cycle`` and the tables ``cycle_closes``, ``cycle_grades``, ``retro_notes``."""
    with op.batch_alter_table("plan_versions") as batch:
        batch.add_column(sa.Column("cycle", sa.String(), nullable=True))
    op.create_table(
        "cycle_closes",
        *_org("cycle_closes"),
        sa.Column("cycle", sa.String(), nullable=False),
        sa.Column("next_cycle", sa.String(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("carry", JSON_DOC, nullable=False),
        sa.Column("closed_by", sa.String(), nullable=False),
        sa.Column("closed_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("org_id", "cycle", name=op.f("uq_cycle_closes_org_id_cycle")),
    )
    op.create_table(
        "cycle_grades",
        *_org("cycle_grades"),
        sa.Column("cycle", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("subject_level", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attainment", sa.Float(), nullable=True),
        sa.Column("plan_to_date", sa.Float(), nullable=True),
        sa.Column("actual_to_date", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("note_by", sa.String(), nullable=True),
        sa.Column("carried_to", sa.String(), nullable=True),
        sa.Column("graded_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint(
            "org_id",
            "cycle",
            "subject_level",
            "subject",
            name=op.f("uq_cycle_grades_org_id_cycle_subject_level_subject"),
        ),
    )
    op.create_table(
        "retro_notes",
        *_org("retro_notes"),
        sa.Column("cycle", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_by", sa.String(), nullable=False),
        sa.Column("written_at", UTC_DATETIME, nullable=False),
    )
    for table in ("cycle_closes", "cycle_grades", "retro_notes"):
        op.create_index(op.f(f"ix_{table}_org_id"), table, ["org_id"], unique=False)


def downgrade() -> None:
    """Drop the three tables and ``plan_versions.cycle``."""
    for table in ("retro_notes", "cycle_grades", "cycle_closes"):
        op.drop_index(op.f(f"ix_{table}_org_id"), table_name=table)
        op.drop_table(table)
    with op.batch_alter_table("plan_versions") as batch:
        batch.drop_column("cycle")
