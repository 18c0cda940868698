"""Declare the tables of reviews and cycle closes: review packs, closes, grades, retrospective notes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from onpace.storage.tables.base import Base, JsonValue, org_fk
from onpace.storage.types import BigId, JsonDoc


class ReviewPackRow(Base):
    """A generated weekly review pack, kept so the next one can show what changed.

    ``unit`` is the unit the pack covers (NULL: the whole organisation); ``items`` maps each
    item key to its digest (section, subject, title, headline, status, state), all the next
    pack needs to compare; ``content`` is the whole pack as generated.
    """

    __tablename__ = "review_packs"
    __table_args__ = (Index("ix_review_packs_org_id_unit_as_of", "org_id", "unit", "as_of"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    as_of: Mapped[dt.date]
    unit: Mapped[str | None]
    content: Mapped[JsonValue] = mapped_column(JsonDoc)
    items: Mapped[JsonValue] = mapped_column(JsonDoc)
    generated_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]


class CycleCloseRow(Base):
    """A closed cycle: who closed it and when, the cycle it opened and what was carried forward."""

    __tablename__ = "cycle_closes"
    __table_args__ = (UniqueConstraint("org_id", "cycle"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = org_fk()
    cycle: Mapped[str]
    next_cycle: Mapped[str | None]
    as_of: Mapped[dt.date]
    carry: Mapped[JsonValue] = mapped_column(JsonDoc)
    closed_by: Mapped[str]
    closed_at: Mapped[dt.datetime]


class CycleGradeRow(Base):
    """The final grade of one KR or objective of a closed cycle; written once, never rewritten."""

    __tablename__ = "cycle_grades"
    __table_args__ = (UniqueConstraint("org_id", "cycle", "subject_level", "subject"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = org_fk()
    cycle: Mapped[str]
    subject: Mapped[str]
    subject_level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    attainment: Mapped[float | None]
    plan_to_date: Mapped[float | None]
    actual_to_date: Mapped[float | None]
    note: Mapped[str | None] = mapped_column(Text)
    note_by: Mapped[str | None]
    carried_to: Mapped[str | None]
    graded_at: Mapped[dt.datetime]


class RetroNoteRow(Base):
    """An owner's retrospective note on a KR or objective of a cycle (the latest one counts)."""

    __tablename__ = "retro_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = org_fk()
    cycle: Mapped[str]
    subject: Mapped[str]
    text: Mapped[str] = mapped_column(Text)
    written_by: Mapped[str]
    written_at: Mapped[dt.datetime]
