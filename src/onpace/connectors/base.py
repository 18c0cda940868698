"""Define the connector contract: what a fetch returns, how it fails, and the checks every kind shares.

Every kind (``csv``, ``excel``, ``sql``, ``http``, ``push``) turns its input into a *raw frame*
(columns ``metric``, ``date``, ``value``, optionally ``source``, ``line``, ``raw`` and ``locator``;
any dtypes) and hands it to :func:`validate`, which parses dates and numbers vectorised and splits
good records from rejected rows. A connector never talks to the store: the ingest service takes
the :class:`FetchResult` from there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from onpace import env_refs
from onpace.connectors.clipping import clip_expr
from onpace.domain.model import Source

#: The columns and dtypes of :attr:`FetchResult.records`, in order.
RECORD_SCHEMA: dict[str, pl.DataType] = {
    "metric": pl.String(),
    "date": pl.Date(),
    "value": pl.Float64(),
    "source": pl.String(),
    "line": pl.Int64(),
}

# An ISO date may be followed by a time and an offset; the date is taken as written, because a
# point belongs to the day its system of record says, not to the day in UTC.
_TIME_TAIL = r"^(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"

AGGREGATIONS = ("sum", "count", "mean", "min", "max", "last")


class SourceError(Exception):
    """Raise when a source cannot be read at all.

    ``permanent`` says whether retrying can help: a refused connection, a timeout or a 5xx is
    transient (retry with backoff); bad credentials, a bad query or a bad option is permanent
    (retrying repeats the failure until someone changes the source).
    """

    def __init__(self, message: str, *, permanent: bool, source: str | None = None) -> None:
        self.message = message
        self.permanent = permanent
        self.source = source
        prefix = f"source {source}: " if source else ""
        super().__init__(prefix + message)


@dataclass(frozen=True)
class Rejected:
    """A row that could not become a record: where it was, what it said, and why it was refused."""

    line: int | None
    locator: str
    raw: str
    reason: str


def empty_records() -> pl.DataFrame:
    """Return a records frame with no rows and the record schema."""
    return pl.DataFrame(schema=RECORD_SCHEMA)


@dataclass(frozen=True)
class FetchResult:
    """What one fetch produced.

    ``records`` has the columns of :data:`RECORD_SCHEMA`; every value is finite and every date
    parsed. ``rejected`` lists the refused rows in input order. ``state`` is the connector's
    memory (e.g. content hashes of the files already processed) that the caller persists and
    passes back to the next fetch of the same source.
    """

    records: pl.DataFrame = field(default_factory=empty_records)
    rejected: tuple[Rejected, ...] = ()
    state: Mapping[str, str] = field(default_factory=dict)

    @property
    def accepted_count(self) -> int:
        """Return how many good records the fetch produced."""
        return self.records.height

    @property
    def rejected_count(self) -> int:
        """Return how many rows were refused."""
        return len(self.rejected)

    def restrict_to(self, metrics: Collection[str]) -> FetchResult:
        """Return a copy in which records of metrics not in ``metrics`` are rejected as unknown."""
        known = pl.col("metric").is_in(list(metrics))
        unknown = self.records.filter(~known)
        extra = tuple(
            Rejected(
                line=row["line"],
                locator=f"record {row['line']}",
                raw=f"{row['metric']},{row['date']},{row['value']:g}",
                reason=f"unknown metric '{row['metric']}'",
            )
            for row in unknown.iter_rows(named=True)
        )
        return FetchResult(self.records.filter(known), self.rejected + extra, self.state)


def combine(results: Iterable[FetchResult], state: Mapping[str, str]) -> FetchResult:
    """Concatenate several results (e.g. one per file) into one carrying ``state``."""
    parts = list(results)
    frames = [r.records for r in parts if r.records.height]
    records = pl.concat(frames) if frames else empty_records()
    rejected = tuple(rej for r in parts for rej in r.rejected)
    return FetchResult(records, rejected, dict(state))


class Fetch(Protocol):
    """The signature every connector kind exposes as ``fetch``."""

    def __call__(
        self,
        source: Source,
        since: dt.datetime | None,
        *,
        env: Mapping[str, str],
        state: Mapping[str, str] | None = None,
    ) -> FetchResult: ...


def resolve_env(value: str, env: Mapping[str, str], *, source: str | None = None, option: str = "") -> str:
    """Return ``value``, or the environment variable it names when it reads ``env:VAR``.

    A missing variable is a permanent :class:`SourceError` naming the source and the option,
    because no retry will make it appear.
    """
    if not value.startswith("env:"):
        return value
    name = value[4:].strip()
    if not name:
        raise SourceError(
            f"option '{option}' says 'env:' but names no variable", permanent=True, source=source
        )
    where = f" (option '{option}')" if option else ""
    refused = env_refs.setting_refusal(name)
    if refused is not None:
        raise SourceError(refused + where, permanent=True, source=source)
    if name not in env:
        hint = env_refs.missing_hint(name)
        raise SourceError(
            f"environment variable {name} is not set{where}{hint}", permanent=True, source=source
        )
    return env[name]


def option_text(source: Source, name: str, env: Mapping[str, str], default: str | None = None) -> str:
    """Return the text option ``name`` of ``source`` with ``env:`` resolved; required when no default."""
    value = source.options.get(name, default)
    if value is None:
        raise SourceError(
            f"option '{name}' is required for kind {source.kind}", permanent=True, source=source.id
        )
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SourceError(f"option '{name}' must be text, not {value!r}", permanent=True, source=source.id)
    return resolve_env(str(value), env, source=source.id, option=name)


def option_mapping(source: Source, name: str, env: Mapping[str, str]) -> dict[str, str]:
    """Return the mapping option ``name`` (e.g. headers) with every value's ``env:`` resolved."""
    value = source.options.get(name, {})
    if not isinstance(value, Mapping):
        raise SourceError(
            f"option '{name}' must be a mapping, not {value!r}", permanent=True, source=source.id
        )
    return {
        str(k): resolve_env(str(v), env, source=source.id, option=f"{name}.{k}") for k, v in value.items()
    }


def option_number(source: Source, name: str, default: float) -> float:
    """Return the numeric option ``name`` of ``source``, or ``default`` when absent."""
    value = source.options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SourceError(
            f"option '{name}' must be a number, not {value!r}", permanent=True, source=source.id
        )
    try:
        return float(value)
    except ValueError:
        raise SourceError(
            f"option '{name}' must be a number, not {value!r}", permanent=True, source=source.id
        ) from None


def _text(name: str, dtype: pl.DataType) -> pl.Expr:
    """Return column ``name`` as stripped text (an empty cell stays an empty string)."""
    column = pl.col(name) if dtype == pl.String() else pl.col(name).cast(pl.String)
    return column.str.strip_chars()


def _missing(name: str) -> pl.Expr:
    return pl.col(name).is_null() | (pl.col(name) == "")


def _date_expr(dtype: pl.DataType) -> pl.Expr:
    """Return an expression that parses the ``date`` column (text in ``_date_text``) into a Date."""
    if dtype == pl.Date():
        return pl.col("date")
    if isinstance(dtype, pl.Datetime):
        return pl.col("date").dt.date()
    text = pl.col("_date_text")
    # Slicing then checking the tail is several times faster than one anchored regex extract.
    day = text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    return pl.when(text.str.slice(10).str.contains(_TIME_TAIL)).then(day).otherwise(None)


def _value_expr(dtype: pl.DataType) -> pl.Expr:
    """Return an expression that parses the ``value`` column (text in ``_value_text``) into a Float64."""
    if dtype.is_numeric():
        return pl.col("value").cast(pl.Float64)
    if dtype == pl.Boolean():
        # A checkbox is not a measurement; refusing it is clearer than reading True as 1.
        return pl.lit(None, dtype=pl.Float64)
    return pl.col("_value_text").cast(pl.Float64, strict=False)


def validate(raw: pl.DataFrame, *, source: Source, origin: str) -> FetchResult:
    """Split a raw frame into good records and rejected rows, vectorised over all rows.

    ``raw`` needs ``metric``, ``date`` and ``value``; ``source`` (defaults to the source id),
    ``line`` (defaults to the row number from 1), ``raw`` (the text shown in the quarantine)
    and ``locator`` (defaults to ``origin:line``) are optional. Dates are ISO dates or
    timestamps (the date part is kept); values are numbers. A row is rejected for a missing
    metric, date or value, an unparseable date or number, or a value that is NaN or infinite.
    The ``aggregate`` option of the source (sum, count, mean, min, max, last) then folds the
    good records to one per metric, date and source.
    """
    frame = raw
    if "line" not in frame.columns:
        frame = frame.with_columns(pl.int_range(1, raw.height + 1, dtype=pl.Int64).alias("line"))
    schema = frame.schema
    extras = [c for c in ("raw", "locator") if c in schema]
    source_text = _text("source", schema["source"]) if "source" in schema else pl.lit("")
    # Two stages: the stripped texts first, then the parses and checks that all read them.
    texts = frame.select(
        _text("metric", schema["metric"]).alias("metric"),
        pl.col("date"),
        pl.col("value"),
        pl.when(source_text.is_null() | (source_text == ""))
        .then(pl.lit(source.id))
        .otherwise(source_text)
        .alias("source"),
        pl.col("line").cast(pl.Int64),
        _text("date", schema["date"]).alias("_date_text"),
        _text("value", schema["value"]).alias("_value_text"),
        *[pl.col(c).cast(pl.String) for c in extras],
    )
    parsed = texts.with_columns(
        _date_expr(schema["date"]).alias("date"), _value_expr(schema["value"]).alias("value")
    )
    # A numeric code for every row, the text of the reason for refused rows only: formatting a
    # string per row would cost more than all the parsing.
    code = (
        pl.when(_missing("metric"))
        .then(1)
        .when(_missing("_date_text"))
        .then(2)
        .when(pl.col("date").is_null())
        .then(3)
        .when(_missing("_value_text"))
        .then(4)
        .when(pl.col("value").is_null())
        .then(5)
        .when(~pl.col("value").is_finite())
        .then(6)
        .otherwise(0)
    )
    parsed = parsed.with_columns(code.alias("_code"))
    good = parsed.filter(pl.col("_code") == 0).select(list(RECORD_SCHEMA))
    reason = (
        pl.when(pl.col("_code") == 1)
        .then(pl.lit("missing metric"))
        .when(pl.col("_code") == 2)
        .then(pl.lit("missing date"))
        .when(pl.col("_code") == 3)
        .then(pl.format("unparseable date '{}'", clip_expr(pl.col("_date_text"))))
        .when(pl.col("_code") == 4)
        .then(pl.lit("missing value"))
        .when(pl.col("_code") == 5)
        .then(pl.format("unparseable number '{}'", clip_expr(pl.col("_value_text"))))
        .otherwise(pl.format("value is not a finite number ('{}')", clip_expr(pl.col("_value_text"))))
    )
    # The raw text and locator are built for refused rows only, for the same reason.
    bad = parsed.filter(pl.col("_code") != 0).with_columns(reason.alias("_reason"))
    if "raw" not in extras:
        cells = [pl.col(c).cast(pl.String).fill_null("") for c in ("metric", "_date_text", "_value_text")]
        bad = bad.with_columns(pl.concat_str(cells, separator=",").alias("raw"))
    if "locator" not in extras:
        bad = bad.with_columns(pl.format("{}:{}", pl.lit(origin), pl.col("line")).alias("locator"))
    rejected = tuple(
        Rejected(line=line, locator=locator, raw=text, reason=why)
        for line, locator, text, why in bad.select("line", "locator", "raw", "_reason").iter_rows()
    )
    how = source.options.get("aggregate")
    if how is not None:
        good = aggregate(good, str(how), source_id=source.id)
    return FetchResult(good, rejected)


def aggregate(records: pl.DataFrame, how: str, *, source_id: str = "") -> pl.DataFrame:
    """Fold records to one per (metric, date, source) with ``how``; the line kept is the first.

    Useful when an API returns one item per event (an issue resolved) and the KPI counts
    them per day: ``count`` counts the items, ``sum`` adds their values.
    """
    if how not in AGGREGATIONS:
        raise SourceError(
            f"option 'aggregate' must be one of {', '.join(AGGREGATIONS)}, not '{how}'",
            permanent=True,
            source=source_id or None,
        )
    value = {
        "sum": pl.col("value").sum(),
        "count": pl.len().cast(pl.Float64),
        "mean": pl.col("value").mean(),
        "min": pl.col("value").min(),
        "max": pl.col("value").max(),
        "last": pl.col("value").last(),
    }[how]
    return (
        records.group_by("metric", "date", "source", maintain_order=True)
        .agg(value.alias("value"), pl.col("line").min())
        .select(list(RECORD_SCHEMA))
        .sort("line")
    )
