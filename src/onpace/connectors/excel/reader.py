"""Read actuals from Excel workbooks (.xlsx) or a watched drop folder of them.

Options: ``path`` (a file or a folder; ``env:VAR`` allowed), ``pattern`` (default ``*.xlsx``),
``sheet`` (default the first sheet), ``header_row`` (default 1), plus the layout options of
:mod:`onpace.connectors.tabular`. Formulas are read as the values Excel last computed. Line
numbers are worksheet row numbers. ``since`` is not used: content hashes decide what is new.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping
from dataclasses import replace

import polars as pl
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from onpace.connectors import files
from onpace.connectors.base import FetchResult, Rejected, SourceError, validate
from onpace.connectors.tabular import TableError, raw_frame
from onpace.domain.model import Source

KIND = "excel"


def _cell_text(value: object) -> str | None:
    """Return a cell as text the record checks parse: ISO dates, plain numbers."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        # Excel has no date-only type: a date cell arrives as midnight and should read as a date.
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _unique(names: list[str]) -> list[str]:
    """Return the header names with repeats suffixed (``value``, ``value_2``) so none is lost."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def _problem(locator: str, line: int | None, reason: str) -> FetchResult:
    return FetchResult(rejected=(Rejected(line, locator, "", reason),))


def read_xlsx_bytes(content: bytes, name: str, *, source: Source) -> FetchResult:
    """Parse one workbook's bytes into records and rejected rows; ``name`` appears in locators."""
    header_row = source.options.get("header_row", 1)
    if not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1:
        raise SourceError("option 'header_row' must be a row number from 1", permanent=True, source=source.id)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as err:
        return _problem(name, None, f"not a readable .xlsx workbook ({type(err).__name__})")
    try:
        wanted = source.options.get("sheet")
        if wanted is None:
            sheet = book.worksheets[0]
        elif str(wanted) in book.sheetnames:
            sheet = book[str(wanted)]
        else:
            return _problem(name, None, f"no sheet '{wanted}'; sheets: {', '.join(book.sheetnames)}")
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(min_row=header_row, values_only=True)]
        title = sheet.title
    finally:
        book.close()
    where = f"{name}[{title}]"
    if not rows:
        return _problem(f"{where}:{header_row}", header_row, "empty sheet")
    header = _unique([h.strip() if h else f"column{i + 1}" for i, h in enumerate(rows[0])])
    width = len(header)
    body = [(header_row + i + 1, r) for i, r in enumerate(rows[1:]) if any(c not in (None, "") for c in r)]
    table = pl.DataFrame(
        {h: [r[i] if i < len(r) else None for _, r in body] for i, h in enumerate(header)},
        schema=dict.fromkeys(header, pl.String),
    )
    line = pl.Series("line", [n for n, _ in body], dtype=pl.Int64)
    try:
        frame = raw_frame(table, source=source, line=line)
    except TableError as err:
        return _problem(f"{where}:{header_row}", header_row, str(err))
    result = validate(frame, source=source, origin=where)
    if not result.rejected:
        return result
    # Show refused rows as the whole row, like a CSV line, so the quarantine reads the same.
    text = {n: ",".join(c or "" for c in r[:width]) for n, r in body}
    rejected = tuple(replace(r, raw=text.get(r.line or 0, r.raw)) for r in result.rejected)
    return replace(result, rejected=rejected)


def fetch(
    source: Source,
    since: dt.datetime | None,
    *,
    env: Mapping[str, str],
    state: Mapping[str, str] | None = None,
) -> FetchResult:
    """Read the new or changed workbooks of ``source`` (see :func:`onpace.connectors.files.scan`)."""
    return files.scan(
        source,
        env=env,
        state=state,
        pattern="*.xlsx",
        read=lambda content, name: read_xlsx_bytes(content, name, source=source),
    )
