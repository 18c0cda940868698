"""Move many rows between polars frames and tables fast, in the caller's transaction.

Writing: ``executemany`` on SQLite, with the columns that hold one value throughout written into
the statement once instead of bound on every row; ``COPY … FROM STDIN`` on PostgreSQL, in the
binary format when every column type allows it (see :mod:`onpace.storage.copy_binary`), else as
CSV. The frame's columns are table column names; ``Datetime`` columns must be UTC
(``time_zone="UTC"``) and are stored the way :class:`~onpace.storage.types.UtcDateTime` stores
them. String columns must not hold empty strings where NULL is meant (COPY tells them apart).

Reading: the DBAPI cursor on SQLite, ``COPY (…) TO STDOUT`` on PostgreSQL, parsed by polars in
bulk rather than row by row through the ORM (ten times faster on millions of points).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Select, Table, insert
from sqlalchemy.orm import Session

from onpace.storage import copy_binary

Progress = Callable[[int], None]

DEFAULT_CHUNK = 100_000


def insert_frame(
    session: Session,
    table: Table,
    frame: pl.DataFrame,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
) -> int:
    """Insert every row of ``frame`` into ``table`` in chunks and return the number inserted.

    ``progress`` is called with the number of rows written after each chunk.
    """
    unknown = [name for name in frame.columns if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    if frame.is_empty():
        return 0
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql" and _copy_postgresql_binary(session, table, frame, chunk_size, progress):
        return frame.height
    written = 0
    for start in range(0, frame.height, chunk_size):
        chunk = frame.slice(start, chunk_size)
        if dialect == "postgresql":
            _copy_postgresql_csv(session, table, chunk)
        elif dialect == "sqlite":
            _executemany_sqlite(session, table, chunk)
        else:
            session.execute(insert(table), chunk.to_dicts())
        written += chunk.height
        if progress is not None:
            progress(written)
    return written


def _utc_datetimes_as_text(frame: pl.DataFrame, fmt: str) -> pl.DataFrame:
    columns = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                raise ValueError(f"column {name} holds naive datetimes; convert them to UTC first")
            columns.append(pl.col(name).dt.convert_time_zone("UTC").dt.strftime(fmt))
    return frame.with_columns(columns) if columns else frame


def _executemany_sqlite(session: Session, table: Table, frame: pl.DataFrame) -> None:
    # The text forms below are exactly what SQLAlchemy's SQLite Date/DateTime types write, so
    # rows inserted here read back like any other; booleans are 0/1.
    frame = _utc_datetimes_as_text(frame, "%Y-%m-%d %H:%M:%S%.6f")
    frame = frame.with_columns(
        [pl.col(name).dt.strftime("%Y-%m-%d") for name, t in frame.schema.items() if t == pl.Date]
        + [pl.col(name).cast(pl.Int8) for name, t in frame.schema.items() if t == pl.Boolean]
    )
    # Binding a value costs as much as storing it: a column with one value on every row (the
    # organisation, the run, the time of ingestion …) is written into the statement once.
    constants = _sqlite_constants(frame)
    varying = [name for name in frame.columns if name not in constants]
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    marks = ", ".join(constants.get(name, "?") for name in frame.columns)
    sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'
    raw: Any = session.connection().connection.driver_connection
    if varying:
        raw.executemany(sql, zip(*(frame[name].to_list() for name in varying), strict=True))
    else:
        raw.executemany(sql, [()] * frame.height)


def _sqlite_constants(frame: pl.DataFrame) -> dict[str, str]:
    """Return the SQL literal of each column that holds one value on every row, by name.

    Only NULL, integers, finite floats and text without NUL characters are written as
    literals; anything else stays a bound parameter.
    """
    if frame.height < 2:
        return {}
    counts = frame.select(pl.all().n_unique()).row(0)
    literals: dict[str, str] = {}
    for name, count in zip(frame.columns, counts, strict=True):
        if count != 1:
            continue
        literal = _sqlite_literal(frame[name][0])
        if literal is not None:
            literals[name] = literal
    return literals


def _sqlite_literal(value: object) -> str | None:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def _copy_postgresql_binary(
    session: Session, table: Table, frame: pl.DataFrame, chunk_size: int, progress: Progress | None
) -> bool:
    """Send the whole frame in one binary COPY; return False when its columns need text COPY.

    A writer thread sends each block while the next one is built, so building the rows
    overlaps the server storing them.
    """
    connection = session.connection()
    # A column that is NULL on every row and has no server default is NULL when left out: not
    # sending it spares four bytes a row on the wire and a field to read on the server.
    empty = [
        name
        for name in frame.columns
        if table.c[name].server_default is None and frame[name].null_count() == frame.height
    ]
    if empty and len(empty) < frame.width:
        frame = frame.drop(empty)
    types = {name: str(table.c[name].type.compile(dialect=connection.dialect)) for name in frame.columns}
    blocks = copy_binary.encode(frame, types, block_rows=chunk_size)
    if blocks is None:
        return False
    raw: Any = connection.connection.driver_connection
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FORMAT binary)'
    written = 0
    with raw.cursor() as cursor, cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
        for block, rows in blocks:
            copy.write(block)
            written += rows
            if rows and progress is not None:
                progress(written)
    return True


def _copy_postgresql_csv(session: Session, table: Table, frame: pl.DataFrame) -> None:
    raw: Any = session.connection().connection.driver_connection
    frame = _utc_datetimes_as_text(frame, "%Y-%m-%d %H:%M:%S%.6f+00:00")
    buffer = io.BytesIO()
    # In COPY's CSV format an unquoted empty field is NULL, which is how polars writes nulls.
    frame.write_csv(buffer, include_header=False)
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FORMAT csv)'
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(buffer.getvalue())


def read_frame(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
) -> pl.DataFrame:
    """Run ``stmt`` and return its rows as a frame with ``schema`` (names and types, in order).

    ``stmt`` selects one column per schema entry, in the same order. Supported types: String,
    Float64, Int64, Boolean and Date (dates must be stored as dates). Bound values are rendered
    into the SQL by SQLAlchemy's own literal quoting, so they are never spliced in by hand.
    """
    connection = session.connection()
    dialect = connection.dialect
    sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    names = list(schema)
    text_schema = dict.fromkeys(names, pl.String)
    raw: Any = connection.connection.driver_connection
    if dialect.name == "postgresql":
        buffer = bytearray()
        with raw.cursor() as cursor:
            # The text forms must not depend on server settings: ISO dates, and floats written
            # with enough digits to read back the exact same double.
            cursor.execute("SET LOCAL datestyle = 'ISO, YMD'")
            cursor.execute("SET LOCAL extra_float_digits = 1")
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    buffer += block
        frame = (
            pl.read_csv(bytes(buffer), has_header=False, new_columns=names, schema=text_schema)
            if buffer
            else pl.DataFrame(schema=text_schema)
        )
    else:
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
        if frame.is_empty():
            frame = pl.DataFrame(schema=text_schema)
    return frame.select(_typed(name, frame.schema[name], kind) for name, kind in schema.items())


def _typed(name: str, found: pl.DataType, kind: pl.DataType | type[pl.DataType]) -> pl.Expr:
    column = pl.col(name)
    if kind == pl.Date:
        return column.cast(pl.String).str.slice(0, 10).str.to_date("%Y-%m-%d").alias(name)
    if kind == pl.Boolean and found == pl.String:
        # PostgreSQL's CSV writes booleans as t/f.
        return column.is_in(["t", "true", "1"]).alias(name)
    return column.cast(kind).alias(name)
