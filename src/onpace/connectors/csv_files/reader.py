"""Read actuals from CSV files or a watched drop folder.

Options: ``path`` (a file or a folder; ``env:VAR`` allowed), ``pattern`` (default ``*.csv``),
``delimiter`` (default ``,``), plus the layout options of :mod:`onpace.connectors.tabular`.
Files are UTF-8 (a byte-order mark is fine). ``since`` is not used: the content hashes in the
state decide what is new.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import replace

import polars as pl

from onpace.connectors import csv_lines, files
from onpace.connectors.base import FetchResult, Rejected, SourceError, validate
from onpace.connectors.tabular import TableError, raw_frame
from onpace.domain.model import Source

KIND = "csv"


def _file_problem(name: str, header: str, reason: str) -> FetchResult:
    return FetchResult(rejected=(Rejected(1, f"{name}:1", header, reason),))


def read_csv_bytes(content: bytes, name: str, *, source: Source) -> FetchResult:
    """Parse one CSV file's bytes into records and rejected rows; ``name`` appears in locators.

    Every cell is read as text so a bad number is reported, not guessed at. Blank lines are
    skipped; a row with too few cells has its missing cells empty, one with too many loses the
    extras. Line numbers count the header as line 1 (a quoted cell spanning lines shifts them).
    """
    delimiter = str(source.options.get("delimiter", ","))
    if len(delimiter.encode()) != 1:
        raise SourceError("option 'delimiter' must be a single character", permanent=True, source=source.id)
    header = content.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lstrip("\ufeff")
    if not content.strip():
        return _file_problem(name, "", "empty file")
    try:
        table = pl.read_csv(
            io.BytesIO(content),
            infer_schema=False,
            separator=delimiter,
            truncate_ragged_lines=True,
        )
    except pl.exceptions.NoDataError as err:
        return _file_problem(name, header, f"cannot parse CSV: {err}")
    except pl.exceptions.PolarsError as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "utf-8" in reason.lower():
            return _file_problem(name, header, "cannot parse CSV: file is not UTF-8 text")
        return _read_line_by_line(content, name, source=source, delimiter=delimiter)
    table = table.with_row_index("_row", offset=2)
    blank = pl.all_horizontal(pl.exclude("_row").is_null())
    table = table.filter(~blank)
    line = table["_row"].cast(pl.Int64)
    table = table.drop("_row")
    try:
        frame = raw_frame(table, source=source, line=line)
    except TableError as err:
        return _file_problem(name, header, str(err))
    result = validate(frame, source=source, origin=name)
    return with_row_text(result, table.with_columns(line.alias("_line")), delimiter)


def _read_line_by_line(content: bytes, name: str, *, source: Source, delimiter: str) -> FetchResult:
    """Read a file the fast reader refused (a stray quote) a line at a time: bad lines refused, the rest kept."""
    try:
        lenient = csv_lines.read_lines(content.decode("utf-8", "replace"), delimiter)
    except csv_lines.HeaderError as err:
        return _file_problem(name, "", f"cannot parse CSV: {err}")
    line = lenient.table["_line"]
    table = lenient.table.drop("_line")
    try:
        frame = raw_frame(table, source=source, line=line)
    except TableError as err:
        return _file_problem(name, ",".join(lenient.header), str(err))
    result = with_row_text(validate(frame, source=source, origin=name), lenient.table, delimiter)
    refused = tuple(Rejected(b.line, f"{name}:{b.line}", b.raw, b.reason) for b in lenient.bad)
    rejected = sorted((*result.rejected, *refused), key=lambda r: r.line or 0)
    return replace(result, rejected=tuple(rejected))


def with_row_text(result: FetchResult, table: pl.DataFrame, delimiter: str) -> FetchResult:
    """Return ``result`` with each rejected row's raw text replaced by its whole row as written.

    ``table`` holds the text cells and their line numbers in ``_line``; only refused lines are
    joined back into text, so a clean file costs nothing here.
    """
    if not result.rejected:
        return result
    lines = [r.line for r in result.rejected]
    cells = [pl.col(c).fill_null("") for c in table.columns if c != "_line"]
    rows = table.filter(pl.col("_line").is_in(lines)).select(
        "_line", pl.concat_str(cells, separator=delimiter).alias("text")
    )
    text = dict(rows.iter_rows())
    rejected = tuple(replace(r, raw=text.get(r.line, r.raw)) for r in result.rejected)
    return replace(result, rejected=rejected)


def fetch(
    source: Source,
    since: dt.datetime | None,
    *,
    env: Mapping[str, str],
    state: Mapping[str, str] | None = None,
) -> FetchResult:
    """Read the new or changed CSV files of ``source`` (see :func:`onpace.connectors.files.scan`)."""
    return files.scan(
        source,
        env=env,
        state=state,
        pattern="*.csv",
        read=lambda content, name: read_csv_bytes(content, name, source=source),
    )
