"""Read a CSV that the fast reader refused, line by line, so one bad line does not take the file with it.

The fast path (polars) reads a well-formed file at once, quoted line breaks included. A stray
``"`` makes it refuse the whole file — an unclosed quote swallows every line after it. Then this
reader takes each physical line as one row: a line that is not valid CSV on its own (an
unclosed or misplaced quote) is refused with its line number, and every other line is kept. A
quoted cell spanning lines cannot be told from a stray quote here, so in such a file its lines
are refused too; the file's other rows are kept either way.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import polars as pl

from onpace.connectors.clipping import clip


@dataclass(frozen=True)
class BadLine:
    """A physical line that is not valid CSV: its number, its (clipped) text and why."""

    line: int
    raw: str
    reason: str


@dataclass(frozen=True)
class LenientTable:
    """The header, the good lines as text cells (with ``_line``), and the lines refused."""

    header: list[str]
    table: pl.DataFrame
    bad: list[BadLine]


class HeaderError(ValueError):
    """The header line itself cannot be read, so no line can be."""


def _cells(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter, strict=True), [])


def _unique(names: list[str]) -> list[str]:
    """Return the names with repeats suffixed (``value``, ``value_2``) so no column is lost."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def read_lines(text: str, delimiter: str = ",") -> LenientTable:
    """Return the rows of ``text`` read one physical line at a time (blank lines skipped).

    Rows with too few cells get empty ones; extra cells are dropped (as the fast reader does).
    Raise :class:`HeaderError` when the first line is not valid CSV.
    """
    lines = text.splitlines()
    try:
        header = [h.strip().lstrip("\ufeff") for h in _cells(lines[0] if lines else "", delimiter)]
    except csv.Error as err:
        raise HeaderError(f"the header line is not valid CSV ({err})") from None
    header = _unique(header)
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in header]
    numbers: list[int] = []
    bad: list[BadLine] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            cells = _cells(line, delimiter)
        except csv.Error as err:
            bad.append(BadLine(number, clip(line), f"line {number} is not valid CSV ({err}); a stray quote?"))
            continue
        cells = (cells + [""] * width)[:width]
        for column, cell in zip(columns, cells, strict=True):
            column.append(cell if cell != "" else None)
        numbers.append(number)
    table = pl.DataFrame(
        {name: pl.Series(values, dtype=pl.String) for name, values in zip(header, columns, strict=True)}
    ).with_columns(pl.Series("_line", numbers, dtype=pl.Int64))
    return LenientTable(header, table, bad)
