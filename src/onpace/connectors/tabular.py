"""Turn a table of text cells (a CSV file, an Excel sheet) into a raw frame of metric, date and value.

Two layouts are understood. *Long*: columns ``metric``, ``date``, ``value`` and optionally
``source`` (extra columns ignored). *Wide*: a date column and one column per metric; an empty
cell is no observation, not an error. The source options ``format`` (``long`` | ``wide`` |
``auto``, default auto), ``date_column`` (default ``date``) and ``metrics`` (the wide columns
to read; default every other column) choose how. Column names match case-insensitively.
"""

from __future__ import annotations

import polars as pl

from onpace.connectors.base import SourceError
from onpace.domain.model import Source

LAYOUTS = ("auto", "long", "wide")


class TableError(ValueError):
    """Raise when a table's header does not fit the layout the source asks for."""


def _find(columns: list[str], name: str) -> str | None:
    """Return the column whose stripped, lower-cased name is ``name``."""
    wanted = name.strip().lower()
    return next((c for c in columns if c.strip().lower() == wanted), None)


def _layout(source: Source) -> str:
    layout = str(source.options.get("format", "auto"))
    if layout not in LAYOUTS:
        raise SourceError(
            f"option 'format' must be one of {', '.join(LAYOUTS)}, not '{layout}'",
            permanent=True,
            source=source.id,
        )
    return layout


def raw_frame(table: pl.DataFrame, *, source: Source, line: pl.Series) -> pl.DataFrame:
    """Return the raw frame (metric, date, value[, source], line) of a table of text cells.

    ``line`` gives every table row's line number.
    Raises :class:`TableError` when the header has neither layout.
    """
    columns = table.columns
    layout = _layout(source)
    date_col = _find(columns, str(source.options.get("date_column", "date")))
    metric_col, value_col = _find(columns, "metric"), _find(columns, "value")
    is_long = metric_col is not None and value_col is not None and date_col is not None
    if layout == "long" or (layout == "auto" and is_long):
        named = {"metric": metric_col, "date": date_col, "value": value_col}
        missing = [n for n, c in named.items() if c is None]
        if missing:
            raise TableError(f"missing column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}")
        keep = {c: n for n, c in named.items() if c is not None}
        source_col = _find(columns, "source")
        if source_col is not None:
            keep[source_col] = "source"
        return table.select([pl.col(c).alias(n) for c, n in keep.items()]).with_columns(line.alias("line"))
    if date_col is None:
        raise TableError(
            "expected columns metric, date, value (long layout) or a date column plus one column per "
            f"metric (wide layout); found {', '.join(columns) or 'none'}"
        )
    wanted = source.options.get("metrics")
    if wanted is None:
        metric_cols = [c for c in columns if c != date_col and c.strip()]
    else:
        if not isinstance(wanted, list | tuple):
            raise SourceError(
                "option 'metrics' must be a list of column names", permanent=True, source=source.id
            )
        found = {str(m): _find(columns, str(m)) for m in wanted}
        absent = [m for m, c in found.items() if c is None]
        if absent:
            raise TableError(f"missing metric column(s) {', '.join(absent)}; found {', '.join(columns)}")
        metric_cols = [c for c in found.values() if c is not None]
    if not metric_cols:
        raise TableError(f"wide layout needs at least one metric column besides '{date_col}'")
    framed = table.select(
        pl.col(date_col).alias("date"),
        *[pl.col(c).cast(pl.String) for c in metric_cols],
    ).with_columns(line.alias("line"))
    long = framed.unpivot(on=metric_cols, index=["date", "line"], variable_name="metric", value_name="value")
    # An empty wide cell means "not measured that day": skip it rather than quarantine it.
    present = pl.col("value").is_not_null() & (pl.col("value").str.strip_chars() != "")
    return (
        long.filter(present)
        .with_columns(pl.col("metric").str.strip_chars())
        .sort("line", maintain_order=True)
    )
