"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Integer keys that grow large on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# JSON documents; JSONB on PostgreSQL so they can be indexed later. None is stored as SQL NULL,
# not as the JSON literal null, so "IS NULL" means "absent" on both databases.
JsonDoc = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Store aware datetimes as UTC and return them aware (UTC) on every database.

    PostgreSQL keeps them in ``timestamptz``; SQLite keeps naive UTC text, which sorts and compares
    correctly because every value is in the same zone. A naive datetime is refused: its zone is
    unknown, and guessing would shift deadlines by hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Convert an aware datetime to UTC (naive UTC for SQLite); refuse a naive one."""
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass an aware (UTC) datetime")
        utc = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """Return the stored instant as an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]
