"""Read actuals from any SQLAlchemy database URL with a query returning ``date, metric, value``.

Options: ``url`` (usually ``env:VAR``, since it holds a password), ``query`` (columns named
``date``, ``metric``, ``value`` and optionally ``source``, in any order and case). When the query
names the bind parameter ``:since`` (a timestamp) or ``:since_date`` (a date), it receives the time
of the last good pull — or 1970-01-01 on the first — so only new rows travel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace

import polars as pl
import sqlalchemy as sa
from sqlalchemy import exc

from onpace.connectors.base import FetchResult, SourceError, option_text, validate
from onpace.domain.model import Source

KIND = "sql"
EPOCH = dt.datetime(1970, 1, 1)
REQUIRED = ("date", "metric", "value")

# Fragments of driver messages that no retry will fix: a wrong query or wrong credentials.
_PERMANENT_HINTS = (
    "syntax error",
    "no such table",
    "no such column",
    "does not exist",
    "authentication failed",
    "access denied",
    "permission denied",
    "unknown database",
)


def classify(err: exc.SQLAlchemyError, source_id: str) -> SourceError:
    """Return the :class:`SourceError` for a database error, deciding whether a retry can help.

    Connection trouble (refused, reset, timed out, locked) is transient; bad SQL, missing
    tables, bad credentials, a bad URL or a missing driver are permanent.
    """
    message = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
    if isinstance(err, exc.ArgumentError | exc.NoSuchModuleError):
        return SourceError(f"bad database URL: {message}", permanent=True, source=source_id)
    if isinstance(err, exc.ProgrammingError | exc.DataError | exc.IntegrityError | exc.NotSupportedError):
        return SourceError(f"query failed: {message}", permanent=True, source=source_id)
    if any(hint in message.lower() for hint in _PERMANENT_HINTS):
        return SourceError(f"query failed: {message}", permanent=True, source=source_id)
    return SourceError(f"database unavailable: {message}", permanent=False, source=source_id)


def _column(values: Sequence[object]) -> pl.Series:
    """Return one result column as a Series; mixed types (SQLite allows them) become text."""
    try:
        return pl.Series(values, strict=False)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        return pl.Series([None if v is None else str(v) for v in values], dtype=pl.String)


def _params(statement: sa.TextClause, since: dt.datetime | None) -> dict[str, object]:
    names = set(statement.compile().params)
    moment = since or EPOCH
    params: dict[str, object] = {}
    if "since" in names:
        params["since"] = moment
    if "since_date" in names:
        params["since_date"] = moment.date()
    return params


def fetch(
    source: Source,
    since: dt.datetime | None,
    *,
    env: Mapping[str, str],
    state: Mapping[str, str] | None = None,
) -> FetchResult:
    """Run the source's query and return its rows as records (line = result row number from 1)."""
    url = option_text(source, "url", env)
    query = option_text(source, "query", env)
    statement = sa.text(query)
    try:
        params = _params(statement, since)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    except exc.SQLAlchemyError as err:
        raise classify(err, source.id) from None
    try:
        with engine.connect() as conn:
            result = conn.execute(statement, params)
            names = result.keys()  # column names; iterating the result itself would read rows
            keys = [k.lower() for k in names]
            rows = result.fetchall()
    except exc.SQLAlchemyError as err:
        raise classify(err, source.id) from None
    finally:
        engine.dispose()
    missing = [k for k in REQUIRED if k not in keys]
    if missing:
        raise SourceError(
            f"the query must return columns {', '.join(REQUIRED)}; missing {', '.join(missing)} "
            f"(got {', '.join(keys) or 'none'})",
            permanent=True,
            source=source.id,
        )
    wanted = [k for k in (*REQUIRED, "source") if k in keys]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in keys]
    frame = pl.DataFrame([_column(columns[keys.index(k)]).alias(k) for k in wanted])
    if not rows:
        frame = pl.DataFrame(schema=dict.fromkeys(wanted, pl.String))
    return replace(validate(frame, source=source, origin="query row"), state=dict(state or {}))
