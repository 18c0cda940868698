"""Create the whole store: model items, plans, points, evaluations, cases, outbox, users, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written out in full (not generated at run time) and portable: the same operations run on SQLite
and PostgreSQL. Timestamps are stored as UTC; JSON documents are JSONB on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Creation order: referenced tables first. Dropped in reverse by downgrade().
TABLES = (
    "orgs",
    "audit_log",
    "cases",
    "channels",
    "checkins",
    "cycles",
    "dependencies",
    "evaluations",
    "ingest_runs",
    "initiatives",
    "jobs",
    "kpis",
    "notify_routes",
    "objectives",
    "outbox",
    "people",
    "plan_versions",
    "policies",
    "review_packs",
    "sources",
    "units",
    "users",
    "api_tokens",
    "case_events",
    "corrective_actions",
    "delivery_attempts",
    "key_results",
    "kpi_owners",
    "points",
    "quarantine",
    "rebaselines",
    "feeds",
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "orgs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("week_start", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orgs")),
        sa.UniqueConstraint("name", name=op.f("uq_orgs_name")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("payload", JSON_DOC, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_audit_log_org_id_orgs")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    op.create_index(op.f("ix_audit_log_org_id"), "audit_log", ["org_id"], unique=False)
    op.create_table(
        "cases",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("subject_level", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("participants", JSON_DOC, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.String(), nullable=True),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("explain_due", UTC_DATETIME, nullable=True),
        sa.Column("act_due", UTC_DATETIME, nullable=True),
        sa.Column("explained_at", UTC_DATETIME, nullable=True),
        sa.Column("acted_at", UTC_DATETIME, nullable=True),
        sa.Column("resolved_at", UTC_DATETIME, nullable=True),
        sa.Column("severity", sa.Float(), nullable=True),
        sa.Column("detail", JSON_DOC, nullable=False),
        sa.Column("good_streak", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_cases_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index("ix_cases_org_id_status", "cases", ["org_id", "status"], unique=False)
    op.create_index("ix_cases_org_id_subject_family", "cases", ["org_id", "subject", "family"], unique=False)
    op.create_table(
        "channels",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("disabled_at", UTC_DATETIME, nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_channels_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_channels")),
    )
    op.create_table(
        "checkins",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=True),
        sa.Column("reported_by", sa.String(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_checkins_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
    )
    op.create_index(
        "ix_checkins_org_id_subject_date", "checkins", ["org_id", "subject", "date"], unique=False
    )
    op.create_table(
        "cycles",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_cycles_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_cycles")),
    )
    op.create_table(
        "dependencies",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("provider_unit", sa.String(), nullable=False),
        sa.Column("provider_owner", sa.String(), nullable=False),
        sa.Column("consumer_unit", sa.String(), nullable=False),
        sa.Column("consumer_owner", sa.String(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("delivered", sa.Date(), nullable=True),
        sa.Column("kpi", sa.String(), nullable=True),
        sa.Column("blocks", JSON_DOC, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_dependencies_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_dependencies")),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at_risk", sa.Boolean(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("threatened_by", JSON_DOC, nullable=False),
        sa.Column("plan_to_date", sa.Float(), nullable=True),
        sa.Column("actual_to_date", sa.Float(), nullable=True),
        sa.Column("variance_abs", sa.Float(), nullable=True),
        sa.Column("variance_pct", sa.Float(), nullable=True),
        sa.Column("forecast_end", sa.Float(), nullable=True),
        sa.Column("forecast_low", sa.Float(), nullable=True),
        sa.Column("forecast_high", sa.Float(), nullable=True),
        sa.Column("plan_end", sa.Float(), nullable=True),
        sa.Column("p_target", sa.Float(), nullable=True),
        sa.Column("weeks_to_red", sa.Integer(), nullable=True),
        sa.Column("attainment", sa.Float(), nullable=True),
        sa.Column("last_point", sa.Date(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_evaluations_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    op.create_index(
        "ix_evaluations_org_id_subject_as_of", "evaluations", ["org_id", "subject", "as_of"], unique=False
    )
    op.create_table(
        "ingest_runs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("run_by", sa.String(), nullable=True),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_ingest_runs_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_runs")),
    )
    op.create_index(op.f("ix_ingest_runs_org_id"), "ingest_runs", ["org_id"], unique=False)
    op.create_table(
        "initiatives",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("supports", JSON_DOC, nullable=False),
        sa.Column("cost", sa.String(), nullable=True),
        sa.Column("capacity", sa.String(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_initiatives_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_initiatives")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON_DOC, nullable=False),
        sa.Column("dedupe_key", sa.String(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("run_after", UTC_DATETIME, nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_at", UTC_DATETIME, nullable=True),
        sa.Column("done_at", UTC_DATETIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_jobs_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_jobs_dedupe_key")),
    )
    op.create_index("ix_jobs_done_at_run_after", "jobs", ["done_at", "run_after"], unique=False)
    op.create_index(op.f("ix_jobs_org_id"), "jobs", ["org_id"], unique=False)
    op.create_table(
        "kpis",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("grain", sa.String(length=16), nullable=False),
        sa.Column("aggregate", sa.String(length=16), nullable=False),
        sa.Column("tolerance", JSON_DOC, nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("leading", sa.Boolean(), nullable=False),
        sa.Column("formula", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("is_constraint", sa.Boolean(), nullable=False),
        sa.Column("cycle", sa.String(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_kpis_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_kpis")),
    )
    op.create_table(
        "notify_routes",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("units", JSON_DOC, nullable=False),
        sa.Column("people", JSON_DOC, nullable=False),
        sa.Column("events", JSON_DOC, nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_notify_routes_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_notify_routes")),
    )
    op.create_table(
        "objectives",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("cycle", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("perspective", sa.String(length=32), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_objectives_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_objectives")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON_DOC, nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("run_after", UTC_DATETIME, nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_at", UTC_DATETIME, nullable=True),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_outbox_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index("ix_outbox_delivered_at_run_after", "outbox", ["delivered_at", "run_after"], unique=False)
    op.create_index(op.f("ix_outbox_org_id"), "outbox", ["org_id"], unique=False)
    op.create_table(
        "people",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_people_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_people")),
    )
    op.create_table(
        "plan_versions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("subject_level", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("plan", JSON_DOC, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=True),
        sa.Column("approved_by", sa.String(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_plan_versions_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_versions")),
        sa.UniqueConstraint(
            "org_id",
            "subject_level",
            "subject",
            "version",
            name=op.f("uq_plan_versions_org_id_subject_level_subject_version"),
        ),
    )
    op.create_index(op.f("ix_plan_versions_org_id"), "plan_versions", ["org_id"], unique=False)
    op.create_table(
        "policies",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("content", JSON_DOC, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_policies_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_policies")),
    )
    op.create_table(
        "review_packs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("content", JSON_DOC, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_review_packs_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_packs")),
    )
    op.create_index("ix_review_packs_org_id_as_of", "review_packs", ["org_id", "as_of"], unique=False)
    op.create_table(
        "sources",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("every_seconds", sa.Float(), nullable=True),
        sa.Column("options", JSON_DOC, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_sources_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_sources")),
    )
    op.create_table(
        "units",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("parent", sa.String(), nullable=True),
        sa.Column("head", sa.String(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_units_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_units")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("person_id", sa.String(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_users_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index(op.f("ix_users_org_id"), "users", ["org_id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_used_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_api_tokens_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_org_id"), "api_tokens", ["org_id"], unique=False)
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "case_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("detail", JSON_DOC, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_case_events_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    op.create_index(op.f("ix_case_events_case_id"), "case_events", ["case_id"], unique=False)
    op.create_index(op.f("ix_case_events_org_id"), "case_events", ["org_id"], unique=False)
    op.create_table(
        "corrective_actions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("done_at", UTC_DATETIME, nullable=True),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_corrective_actions_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_corrective_actions_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrective_actions")),
    )
    op.create_index(op.f("ix_corrective_actions_case_id"), "corrective_actions", ["case_id"], unique=False)
    op.create_index(op.f("ix_corrective_actions_org_id"), "corrective_actions", ["org_id"], unique=False)
    op.create_table(
        "delivery_attempts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_delivery_attempts_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_delivery_attempts_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    op.create_index(op.f("ix_delivery_attempts_org_id"), "delivery_attempts", ["org_id"], unique=False)
    op.create_index(op.f("ix_delivery_attempts_outbox_id"), "delivery_attempts", ["outbox_id"], unique=False)
    op.create_table(
        "key_results",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("objective_id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("kpi", sa.String(), nullable=True),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("grain", sa.String(length=16), nullable=False),
        sa.Column("aggregate", sa.String(length=16), nullable=False),
        sa.Column("tolerance", JSON_DOC, nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "objective_id"],
            ["objectives.org_id", "objectives.id"],
            name=op.f("fk_key_results_org_id_objective_id_objectives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_key_results_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_key_results")),
    )
    op.create_table(
        "kpi_owners",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "kpi_id"],
            ["kpis.org_id", "kpis.id"],
            name=op.f("fk_kpi_owners_org_id_kpi_id_kpis"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_kpi_owners_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "kpi_id", "position", name=op.f("pk_kpi_owners")),
    )
    op.create_table(
        "points",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("run_id", BIG_ID, nullable=True),
        sa.Column("ingested_at", UTC_DATETIME, nullable=False),
        sa.Column("entered_by", sa.String(), nullable=True),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("superseded_at", UTC_DATETIME, nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("approved_by", sa.String(), nullable=True),
        sa.Column("approved_at", UTC_DATETIME, nullable=True),
        sa.Column("retro_flag", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_points_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["ingest_runs.id"], name=op.f("fk_points_run_id_ingest_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points")),
        sa.UniqueConstraint(
            "org_id",
            "metric",
            "date",
            "source",
            "version",
            name=op.f("uq_points_org_id_metric_date_source_version"),
        ),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_quarantine_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["ingest_runs.id"], name=op.f("fk_quarantine_run_id_ingest_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index(op.f("ix_quarantine_org_id"), "quarantine", ["org_id"], unique=False)
    op.create_index(op.f("ix_quarantine_run_id"), "quarantine", ["run_id"], unique=False)
    op.create_table(
        "rebaselines",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("subject_level", sa.String(length=16), nullable=False),
        sa.Column("plan", JSON_DOC, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requested_at", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("case_id", BIG_ID, nullable=True),
        sa.Column("plan_version_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_rebaselines_case_id_cases"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_rebaselines_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["plan_version_id"],
            ["plan_versions.id"],
            name=op.f("fk_rebaselines_plan_version_id_plan_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebaselines")),
    )
    op.create_index(op.f("ix_rebaselines_org_id"), "rebaselines", ["org_id"], unique=False)
    op.create_table(
        "feeds",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.String(), nullable=False),
        sa.Column("kr_id", sa.String(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("lag_days", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "kpi_id"],
            ["kpis.org_id", "kpis.id"],
            name=op.f("fk_feeds_org_id_kpi_id_kpis"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "kr_id"],
            ["key_results.org_id", "key_results.id"],
            name=op.f("fk_feeds_org_id_kr_id_key_results"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_feeds_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "kpi_id", "kr_id", name=op.f("pk_feeds")),
    )


def downgrade() -> None:
    """Undo this revision: drop every table (with its indexes), referencing tables first."""
    for table in reversed(TABLES):
        op.drop_table(table)
