"""Declare what every table shares: the naming convention, the metadata and the declarative base."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from onpace.storage.types import UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

JsonValue = Any


class Base(DeclarativeBase):
    """Base of every table; shares the metadata with its naming convention."""

    metadata = metadata
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        str: String(),
        dt.datetime: UtcDateTime(),
        dt.date: Date(),
        float: Float(),
        int: Integer(),
        bool: Boolean(),
    }


def org_fk() -> Mapped[int]:
    """Return an ``org_id`` column: indexed, and deleted with its organisation."""
    return mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
