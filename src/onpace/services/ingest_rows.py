"""Parse and check a batch of actuals rows, as polars frames (no Python loop per row).

Every field is stripped once; a bad row (missing field, unparseable date or number, NaN or
infinite value, unknown metric) gets its reason, and within the batch exact repeats count once
while of two different values for one (metric, date, source) the later line wins.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from onpace.connectors.clipping import MAX_RAW, clip_expr

# An ISO date, optionally followed by a valid time and zone; the point's date is the date as
# written (the day in the reporting system's own time zone, which is what its owner means).
_HOUR, _MINUTE = r"(?:[01]\d|2[0-3])", r"[0-5]\d"
_TIME = rf"{_HOUR}:{_MINUTE}(?::(?:[0-5]\d|60)(?:[.,]\d+)?)?"
_ZONE = rf"(?:Z|[+-]{_HOUR}(?::?{_MINUTE})?)"
DATE_PATTERN = rf"^\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]{_TIME}{_ZONE}?)?$"

BAD_COLUMNS = ("row", "line", "source", "reason")


def _text(name: str) -> pl.Expr:
    """Return column ``name`` as stripped text, with empty strings as null."""
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


# A timestamp that names its offset: Z, +01:00 or +0100 at the end.
_OFFSET_TAIL = r"(Z|[+-]\d{2}:?\d{2})$"


def _date_expr(dtype: pl.DataType, timezone: str = "UTC") -> pl.Expr:
    """Return the date of each row from ``date_typed`` (a Date or Datetime input) or ``date_text``.

    A moment that names its offset (``…Z``, ``…+01:00``, an aware Datetime) falls on the date it
    has in the org's ``timezone``; a date, or a time without an offset, is the org's date as written.
    (In a UTC organisation a text moment keeps the date it is written with, the fast path.)
    """
    if dtype == pl.Date:
        return pl.col("date_typed")
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            return pl.col("date_typed").dt.convert_time_zone(timezone).dt.date()
        return pl.col("date_typed").dt.date()
    text = pl.col("date_text")
    written = (
        pl.when(text.str.contains(DATE_PATTERN))
        .then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
        .otherwise(None)
    )
    if timezone == "UTC":
        return written
    moment = (
        text.str.replace(" ", "T")
        .str.replace("Z$", "+00:00")
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", strict=False, time_zone="UTC")
    )
    local = moment.dt.convert_time_zone(timezone).dt.date()
    return pl.when(text.str.contains(_OFFSET_TAIL) & moment.is_not_null()).then(local).otherwise(written)


def _value_expr(dtype: pl.DataType) -> pl.Expr:
    """Return the value of each row from ``value_typed`` (a numeric input) or ``value_text``."""
    if dtype.is_numeric():
        return pl.col("value_typed").cast(pl.Float64)
    return pl.col("value_text").cast(pl.Float64, strict=False)


def parse_rows(
    frame: pl.DataFrame, source: str, known_metrics: Collection[str], timezone: str = "UTC"
) -> pl.DataFrame:
    """Return the rows with parsed fields, their ``row`` in ``frame`` and a ``reason`` (null when good).

    Each field is stripped once and every check reads the stripped text; the raw text of a row
    is only put together for the rows that are refused (:func:`with_raw`).
    """
    inputs = [name for name in frame.columns if name != "line" and not name.startswith("_")]
    fields = [name for name in ("metric", "date", "value", "source") if name in frame.columns]
    # Lines the CSV reader itself refused (see read_actuals_csv) carry their own reason.
    problem = pl.col("_problem") if "_problem" in frame.columns else pl.lit(None, pl.String)
    typed = [name for name in ("date", "value") if frame.schema[name] != pl.String]
    texts = frame.select(
        pl.col("line").cast(pl.Int64),
        *[_text(name).alias(f"{name}_text") for name in fields],
        *[pl.col(name).alias(f"{name}_typed") for name in typed],
        # Other columns only matter to tell a blank line from a data row.
        *[_text(name).is_null().alias(f"{name}_empty") for name in inputs if name not in fields],
        problem.alias("problem"),
    ).with_row_index("row")
    # A line with every field empty is a blank line, not a data row.
    empty = [pl.col(f"{name}_text").is_null() for name in fields]
    empty += [pl.col(f"{name}_empty") for name in inputs if name not in fields]
    texts = texts.filter(~pl.all_horizontal(empty) | pl.col("problem").is_not_null())
    source_expr = pl.col("source_text").fill_null(source) if "source" in fields else pl.lit(source)
    parsed = texts.select(
        "row",
        "line",
        pl.col("metric_text").alias("metric"),
        "date_text",
        "value_text",
        _date_expr(frame.schema["date"], timezone).alias("date"),
        _value_expr(frame.schema["value"]).alias("value"),
        source_expr.alias("source"),
        "problem",
    )
    known = pl.Series("known", sorted(set(known_metrics)), dtype=pl.String)
    reason = (
        pl.when(pl.col("problem").is_not_null())
        .then(pl.col("problem"))
        .when(pl.col("metric").is_null())
        .then(pl.lit("missing metric"))
        .when(pl.col("date_text").is_null())
        .then(pl.lit("missing date"))
        .when(pl.col("value_text").is_null())
        .then(pl.lit("missing value"))
        .when(pl.col("date").is_null())
        .then(
            pl.format(
                "unparseable date '{}' (expected YYYY-MM-DD or an ISO timestamp)",
                clip_expr(pl.col("date_text")),
            )
        )
        .when(pl.col("value").is_null())
        .then(pl.format("not a number: '{}'", clip_expr(pl.col("value_text"))))
        .when(~pl.col("value").is_finite())
        .then(pl.format("value '{}' is NaN or infinite", clip_expr(pl.col("value_text"))))
        .when(~pl.col("metric").is_in(known.implode()))
        .then(pl.format("unknown metric '{}'", clip_expr(pl.col("metric"))))
        .otherwise(None)
    )
    return parsed.with_columns(reason.alias("reason")).drop("date_text", "value_text", "problem")


def with_raw(frame: pl.DataFrame, bad: pl.DataFrame) -> pl.DataFrame:
    """Add each refused row's ``raw`` text (its fields joined by commas), read from ``frame`` by ``row``."""
    inputs = [name for name in frame.columns if name != "line" and not name.startswith("_")]
    joined = pl.concat_str([pl.col(name).cast(pl.String).fill_null("") for name in inputs], separator=",")
    if "_raw" in frame.columns:  # a line the CSV reader refused is shown as written
        joined = pl.coalesce(pl.col("_raw"), joined)
    raw = frame[bad["row"]].select(clip_expr(joined, MAX_RAW).alias("raw"))
    return bad.with_columns(raw["raw"]).select("line", "source", "raw", "reason")


def settle_repeats(good: pl.DataFrame) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """Keep one row per (metric, date, source): the last line; earlier different values conflict.

    Return the kept rows in key order (metric, date, source: the order the points are stored
    in, so the unique index grows at its end), the number of exact repeats dropped, and the
    conflicting rows with their quarantine reason. Sorted by key, the rows of one key are
    neighbours: no hashing is needed to find them.
    """
    key = ["metric", "date", "source"]
    good = good.sort([*key, "line", "row"])
    last = pl.any_horizontal([pl.col(name) != pl.col(name).shift(-1) for name in key]).fill_null(value=True)
    good = good.with_columns(last.alias("is_last"))
    if good["is_last"].all():
        return good.drop("is_last"), 0, good.clear()
    good = good.with_columns(
        pl.when("is_last").then(pl.col("line")).backward_fill().alias("kept_line"),
        pl.when("is_last").then(pl.col("value")).backward_fill().alias("kept_value"),
    )
    kept = good.filter(pl.col("is_last"))
    earlier = good.filter(~pl.col("is_last"))
    repeats = earlier.filter(pl.col("value") == pl.col("kept_value")).height
    conflicts = earlier.filter(pl.col("value") != pl.col("kept_value")).with_columns(
        pl.format(
            "another value for the same metric, date and source on line {}, which is kept",
            "kept_line",
        ).alias("reason")
    )
    return kept.drop("is_last", "kept_line", "kept_value"), repeats, conflicts
