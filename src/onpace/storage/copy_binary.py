"""Encode a polars frame in PostgreSQL's binary ``COPY`` format, column by column, without a row loop.

The binary format spares the server from parsing text (dates, floats, timestamps), which is
most of what a text ``COPY`` into a wide table costs. Every row is ``int16 field count`` and,
per field, ``int32 length`` (-1 for NULL) followed by the value in network byte order.

Rows are grouped by their layout (the byte length of each variable-width field), so that within
a group every row has the same length and each field lands in the same byte columns: a group is
then filled with a few contiguous slice assignments in numpy. Groups are written one after
another, so the rows of a frame arrive grouped rather than in frame order (COPY gives rows no
order anyway). A frame whose rows have too many distinct layouts (free text of every length) is
better sent as text; :func:`encode` returns None for it, as it does for a column type it does
not know.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"

# PostgreSQL counts dates and timestamps from 2000-01-01; polars from 1970-01-01.
_EPOCH_DAYS = (dt.date(2000, 1, 1) - dt.date(1970, 1, 1)).days
_EPOCH_MICROSECONDS = _EPOCH_DAYS * 86_400 * 1_000_000

# Above this many distinct row layouts per row count, grouping costs more than text COPY saves.
MAX_LAYOUTS = 256


@dataclass(frozen=True)
class _Kind:
    """How one PostgreSQL column type travels: the numpy big-endian dtype, or text when None."""

    wire: str | None


# Keyed by the column type as PostgreSQL's DDL names it.
KINDS: Mapping[str, _Kind] = {
    "SMALLINT": _Kind(">i2"),
    "INTEGER": _Kind(">i4"),
    "BIGINT": _Kind(">i8"),
    "FLOAT": _Kind(">f8"),
    "DOUBLE PRECISION": _Kind(">f8"),
    "REAL": _Kind(">f4"),
    "BOOLEAN": _Kind("u1"),
    "DATE": _Kind(">i4"),
    "TIMESTAMP WITH TIME ZONE": _Kind(">i8"),
    "TIMESTAMP WITHOUT TIME ZONE": _Kind(">i8"),
    "VARCHAR": _Kind(None),
    "TEXT": _Kind(None),
}


def kind_of(type_name: str) -> str | None:
    """Return the key of :data:`KINDS` for a column type name (``VARCHAR(16)`` is ``VARCHAR``), or None."""
    base = type_name.split("(", 1)[0].strip().upper()
    if base == "FLOAT" and "(" in type_name:
        return None  # FLOAT(p) may be single precision; let text COPY decide.
    return base if base in KINDS else None


Block = tuple[bytes, int]
"""Bytes of the payload and the number of rows they carry (none for the header and trailer)."""


def encode(
    frame: pl.DataFrame, types: Mapping[str, str], *, block_rows: int = 100_000
) -> Iterator[Block] | None:
    """Return the binary COPY payload of ``frame`` in blocks, or None to use text instead.

    ``types`` names each column's PostgreSQL type (keys of :data:`KINDS`). Integer, float,
    boolean, Date, Datetime (time-zone aware, sent as UTC) and String columns are supported;
    a column whose polars type does not fit its PostgreSQL type gives None. The first block
    is the header and the last the trailer; each in between carries at most ``block_rows``
    rows, built only when the consumer asks for it.
    """
    wires: list[str | None] = []
    values: list[pl.Expr] = []
    for name in frame.columns:
        kind = kind_of(types[name])
        if kind is None:
            return None
        wire = KINDS[kind].wire
        value = _wire_value(name, frame.schema[name], kind)
        if value is None:
            return None
        wires.append(wire)
        values.append(value)
    prepared = frame.select(values)
    widths = [
        _width(name, wire, prepared.schema[name]) for name, wire in zip(prepared.columns, wires, strict=True)
    ]
    layout = prepared.select(widths)
    if layout.is_empty():
        return iter(((HEADER, 0), (TRAILER, 0)))
    # Only the columns whose width varies from row to row decide the layout.
    varying = [name for name in layout.columns if layout[name].n_unique() > 1]
    row_sets: list[np.ndarray | None] = [None]
    if varying:
        groups = (
            layout.select(varying)
            .with_row_index("_row")
            .group_by(varying, maintain_order=True)
            .agg(pl.col("_row"))
        )
        if groups.height > MAX_LAYOUTS and groups.height * 64 > frame.height:
            return None
        rows = groups["_row"].explode().to_numpy().astype(np.int64)
        ends = groups["_row"].list.len().cum_sum().to_numpy()
        row_sets = list(np.split(rows, ends[:-1]))
    # Columns with one value throughout (the organisation, the run, the flags …) are laid into a
    # row template once and copied with it, instead of being written field by field on every row.
    same = prepared.select(
        [(pl.col(name) == pl.col(name).first()).all().alias(name) for name in prepared.columns]
    ).row(0)
    constant = [
        bool(flag) and prepared[name].null_count() == 0
        for name, flag in zip(prepared.columns, same, strict=True)
    ]
    return _blocks(prepared, layout, wires, row_sets, block_rows, constant=constant)


_NUMBERS: Mapping[str, type[pl.DataType]] = {
    "SMALLINT": pl.Int16,
    "INTEGER": pl.Int32,
    "BIGINT": pl.Int64,
    "FLOAT": pl.Float64,
    "DOUBLE PRECISION": pl.Float64,
    "REAL": pl.Float32,
}


def _wire_value(name: str, dtype: pl.DataType, kind: str) -> pl.Expr | None:
    """Return the column as the polars value that maps byte for byte onto the wire, or None."""
    column = pl.col(name)
    number = _NUMBERS.get(kind)
    if number is not None:
        if not (dtype.is_integer() if number.is_integer() else dtype.is_numeric()):
            return None
        return column.cast(number, strict=True)
    if kind == "BOOLEAN":
        return column.cast(pl.UInt8) if dtype == pl.Boolean else None
    if kind == "DATE":
        return (column.cast(pl.Int32) - _EPOCH_DAYS) if dtype == pl.Date else None
    if kind.startswith("TIMESTAMP"):
        if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
            return None
        return column.dt.convert_time_zone("UTC").dt.epoch("us") - _EPOCH_MICROSECONDS
    if dtype == pl.String or isinstance(dtype, pl.Enum | pl.Categorical):
        return column.cast(pl.String)
    return None


def _width(name: str, wire: str | None, dtype: pl.DataType) -> pl.Expr:
    """Return the field's byte length on each row: -1 for NULL."""
    column = pl.col(name)
    if wire is None:
        return column.str.len_bytes().cast(pl.Int32).fill_null(-1).alias(name)
    size = np.dtype(wire).itemsize
    return pl.when(column.is_null()).then(pl.lit(-1, pl.Int32)).otherwise(pl.lit(size, pl.Int32)).alias(name)


def _blocks(
    prepared: pl.DataFrame,
    layout: pl.DataFrame,
    wires: list[str | None],
    row_sets: list[np.ndarray | None],
    block_rows: int,
    *,
    constant: list[bool],
) -> Iterator[Block]:
    yield HEADER, 0
    parts: list[bytes] = []
    pending = 0  # rows in ``parts``
    for rows in row_sets:
        group = prepared if rows is None else prepared[rows]
        widths = layout.row(0) if rows is None else layout.row(int(rows[0]))
        start = 0
        while start < group.height:
            # Blocks hold exactly ``block_rows`` rows (the last fewer), whatever the groups.
            part = group.slice(start, block_rows - pending)
            parts.append(_rows(part, wires, widths, constant))
            pending += part.height
            start += part.height
            if pending == block_rows:
                yield b"".join(parts), pending
                parts, pending = [], 0
    if parts:
        yield b"".join(parts), pending
    yield TRAILER, 0


def _rows(
    group: pl.DataFrame, wires: list[str | None], widths: tuple[int, ...], constant: list[bool]
) -> bytes:
    """Return the rows of a group whose fields all take the same ``widths``, one after another.

    Every row starts as a copy of one template (field count, each field's length and the
    ``constant`` columns' bytes); only the other columns are then written field by field.
    """
    length = 2 + sum(4 + max(width, 0) for width in widths)
    template = np.empty(length, dtype=np.uint8)
    template[0:2] = np.array([len(wires)], dtype=">i2").view(np.uint8)
    varying: list[tuple[str, str | None, int, int]] = []
    at = 2
    for name, wire, width, fixed in zip(group.columns, wires, widths, constant, strict=True):
        template[at : at + 4] = np.array([width], dtype=">i4").view(np.uint8)
        at += 4
        if width <= 0:
            continue
        if fixed:
            template[at : at + width] = _field_bytes(group[name].head(1), wire, width)[0]
        else:
            varying.append((name, wire, width, at))
        at += width
    block = np.empty((group.height, length), dtype=np.uint8)
    block[:] = template
    for name, wire, width, start in varying:
        block[:, start : start + width] = _field_bytes(group[name], wire, width)
    return block.tobytes()


def _field_bytes(series: pl.Series, wire: str | None, width: int) -> np.ndarray:
    """Return a (rows, width) uint8 view of a non-null column whose values all take ``width`` bytes."""
    if wire is None:
        # One native concatenation of the group's strings: every one is ``width`` bytes long.
        joined = series.str.join("").item() or ""
        return np.frombuffer(joined.encode("utf-8"), dtype=np.uint8).reshape(series.len(), width)
    return series.to_numpy().astype(wire, copy=False).view(np.uint8).reshape(series.len(), width)
