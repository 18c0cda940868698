"""Keep each notify route's webhook signing secret (usually an ``env:NAME`` reference).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The model file's ``notify[].secret`` must survive a save and load through the store, or a
signed webhook route loses its key and the dispatcher refuses to send to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``notify_routes.secret`` (nullable text)."""
    with op.batch_alter_table("notify_routes") as batch:
        batch.add_column(sa.Column("secret", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop ``notify_routes.secret``."""
    with op.batch_alter_table("notify_routes") as batch:
        batch.drop_column("secret")
