"""Keep what the next weekly review pack compares with: each item's digest and when the pack was made.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

A pack shows what changed since the last one of the same scope (the organisation or one
unit), so ``review_packs`` gains the item digests (``items``), the pack's own generation time
(``generated_at``), and an index that finds the latest pack of a scope before a date.
Packs stored before this revision get an empty digest and their storage time.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
)


def upgrade() -> None:
    """Add ``items`` and ``generated_at`` (filled for existing rows) and index packs by scope and date."""
    with op.batch_alter_table("review_packs") as batch:
        batch.add_column(sa.Column("items", JSON_DOC, nullable=True))
        batch.add_column(sa.Column("generated_at", UTC_DATETIME, nullable=True))
    packs = sa.table(
        "review_packs",
        sa.column("items", JSON_DOC),
        sa.column("generated_at", UTC_DATETIME),
        sa.column("created_at", UTC_DATETIME),
    )
    op.execute(packs.update().where(packs.c["items"].is_(None)).values(items={}))
    op.execute(packs.update().where(packs.c.generated_at.is_(None)).values(generated_at=packs.c.created_at))
    with op.batch_alter_table("review_packs") as batch:
        batch.alter_column("items", existing_type=JSON_DOC, nullable=False)
        batch.alter_column("generated_at", existing_type=UTC_DATETIME, nullable=False)
        batch.drop_index("ix_review_packs_org_id_as_of")
        batch.create_index("ix_review_packs_org_id_unit_as_of", ["org_id", "unit", "as_of"], unique=False)


def downgrade() -> None:
    """Drop the digests, the generation time and the scope index; restore the date index."""
    with op.batch_alter_table("review_packs") as batch:
        batch.drop_index("ix_review_packs_org_id_unit_as_of")
        batch.create_index("ix_review_packs_org_id_as_of", ["org_id", "as_of"], unique=False)
        batch.drop_column("generated_at")
        batch.drop_column("items")
