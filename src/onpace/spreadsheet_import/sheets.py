"""Read a workbook (.xlsx) or a CSV file into sheets of cells that remember where they came from.

The header row is the first row with at least two filled cells among the first ten rows (title
rows above a table are common); rows under it that are entirely empty are dropped. A cell keeps
its Excel reference (``B7``) so every finding can say where to look.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from onpace.errors import UserError

CellValue = str | float | int | dt.date | dt.datetime | bool | None
HEADER_SEARCH_ROWS = 10


class WorkbookError(UserError, ValueError):
    """The workbook cannot be read at all; the message names the file and the reason."""


@dataclass(frozen=True)
class Row:
    """One data row: its worksheet row number and its cells by column index."""

    number: int
    cells: tuple[CellValue, ...]

    def get(self, column: int | None) -> CellValue:
        """Return the cell in ``column`` (None when the column is absent or the row is short)."""
        if column is None or column >= len(self.cells):
            return None
        return self.cells[column]


@dataclass(frozen=True)
class Sheet:
    """A table read from one worksheet (or a CSV file): header cells and data rows."""

    file: str
    name: str
    header_row: int
    headers: tuple[CellValue, ...]
    rows: tuple[Row, ...]

    def where(self, row: int, column: int | None = None) -> str:
        """Return a place a person can find: ``file:Sheet!C7`` (or ``file:7`` for CSV)."""
        if self.name == "":
            return f"{self.file}:{row}"
        cell = f"{get_column_letter(column + 1)}{row}" if column is not None else f"row {row}"
        return f"{self.file}:{self.name}!{cell}"

    def column_place(self, column: int) -> str:
        """Return where a column's header is."""
        return self.where(self.header_row, column)


def read_workbook(path: Path) -> list[Sheet]:
    """Return the sheets of an .xlsx workbook or the one sheet of a .csv file.

    Raise :class:`WorkbookError` for a missing file, another format, or a file that is not a workbook.
    """
    suffix = path.suffix.lower()
    if not path.is_file():
        raise WorkbookError(f"no such file: {path}")
    if suffix == ".csv":
        return [_csv_sheet(path)]
    if suffix not in (".xlsx", ".xlsm"):
        raise WorkbookError(
            f"{path}: expected an .xlsx workbook or a .csv file (save .xls and .ods as .xlsx)"
        )
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise WorkbookError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    sheets = []
    try:
        for worksheet in book.worksheets:
            rows = [cast(tuple[CellValue, ...], tuple(row)) for row in worksheet.iter_rows(values_only=True)]
            sheet = _table(path.name, worksheet.title, rows)
            if sheet is not None:
                sheets.append(sheet)
    finally:
        book.close()
    return sheets


def _csv_sheet(path: Path) -> Sheet:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[tuple[CellValue, ...]] = [
        tuple(cell.strip() or None for cell in record) for record in csv.reader(io.StringIO(text), dialect)
    ]
    sheet = _table(path.name, "", rows)
    if sheet is None:
        raise WorkbookError(f"{path}: no table found (a header row and rows under it)")
    return sheet


def _table(file: str, name: str, rows: list[tuple[CellValue, ...]]) -> Sheet | None:
    header_index = next(
        (i for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]) if sum(1 for c in row if _filled(c)) >= 2),
        None,
    )
    if header_index is None:
        return None
    data = tuple(
        Row(number, tuple(_clean(c) for c in row))
        for number, row in enumerate(rows[header_index + 1 :], header_index + 2)
        if any(_filled(c) for c in row)
    )
    headers = tuple(_clean(c) for c in rows[header_index])
    return Sheet(file, name, header_index + 1, headers, data)


def _filled(value: CellValue) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _clean(value: CellValue) -> CellValue:
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return value
