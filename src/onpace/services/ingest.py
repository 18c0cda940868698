"""Take actuals into the store: parse, quarantine bad rows, version corrections, keep lineage.

Input is the long format of the actuals CSV (``metric,date,value[,source]``; other columns are
ignored). The whole batch is handled as polars frames, without a Python loop per row:

1. parse and check every row; a bad row (missing field, unparseable date or number, NaN or
   infinite value, unknown metric) goes to the quarantine with its line number and the reason;
2. within the batch, exact repeats count once, and of two different values for the same
   (metric, date, source) the later line wins and the earlier one is quarantined;
3. against the store, a value equal to the latest version is unchanged (re-ingesting is
   idempotent), a new key is added as version 1, and a different value is a correction: the next
   version, superseding the old one, flagged retroactive when that date was already evaluated.

Nothing is updated in place except ``superseded_at``. Nothing is committed: the caller is.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import polars as pl
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, update
from sqlalchemy.orm import Session

from onpace.connectors import csv_lines
from onpace.connectors.clipping import MAX_RAW, clip_expr
from onpace.errors import UserError
from onpace.metrics import INGEST_SECONDS, timed
from onpace.services.audit import append_audit
from onpace.storage import bulk
from onpace.storage.repositories import evaluations_repo, points_repo
from onpace.storage.tables import IngestRunRow, OrgRow, PointRow, QuarantineRow

REQUIRED_COLUMNS = ("metric", "date", "value")

# An ISO date, optionally followed by a valid time and zone; the point's date is the date as
# written (the day in the reporting system's own time zone, which is what its owner means).
_HOUR, _MINUTE = r"(?:[01]\d|2[0-3])", r"[0-5]\d"
_TIME = rf"{_HOUR}:{_MINUTE}(?::(?:[0-5]\d|60)(?:[.,]\d+)?)?"
_ZONE = rf"(?:Z|[+-]{_HOUR}(?::?{_MINUTE})?)"
DATE_PATTERN = rf"^\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]{_TIME}{_ZONE}?)?$"

SAMPLE_SIZE = 20

POINTS = cast(Table, PointRow.__table__)
QUARANTINE = cast(Table, QuarantineRow.__table__)

Progress = Callable[[int, int], None]


class IngestError(UserError, ValueError):
    """The input as a whole cannot be read (missing file or columns); no row was stored."""


@dataclass(frozen=True)
class IngestReport:
    """Counts of one ingestion run; ``sample`` holds up to 20 (line, reason) of quarantined rows."""

    run_id: int
    total: int
    added: int
    corrected: int
    unchanged: int
    quarantined: int
    retro: int
    sample: tuple[tuple[int | None, str], ...] = ()

    @property
    def accepted(self) -> int:
        """Return the number of rows stored as new points or new versions."""
        return self.added + self.corrected

    def summary(self) -> str:
        """Return a one-line account of the run."""
        return (
            f"{self.total} rows: {self.added} added, {self.corrected} corrected "
            f"({self.retro} retroactive), {self.unchanged} unchanged, {self.quarantined} quarantined"
        )


def read_actuals_csv(path: Path | str) -> pl.DataFrame:
    """Read an actuals CSV as text columns plus ``line`` (the physical line of each row).

    Column names are matched without regard to case or surrounding spaces. Blank lines are
    dropped. A file the fast reader refuses (a stray quote) is read line by line
    (:mod:`onpace.connectors.csv_lines`): each line that is not valid CSV becomes a row carrying
    its problem (``_problem``, ``_raw``), to be quarantined with its line, and the rest are kept.
    Raise :class:`IngestError` when the file cannot be read or lacks a required column.
    """
    path = Path(path)
    try:
        frame = pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True, encoding="utf8-lossy")
    except FileNotFoundError:
        raise IngestError(f"{path}: no such file") from None
    except pl.exceptions.NoDataError:
        raise IngestError(
            f"{path}: the file is empty; expected a header line metric,date,value[,source]"
        ) from None
    except OSError as exc:
        raise IngestError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except pl.exceptions.PolarsError as exc:
        return _read_line_by_line(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    frame = _normalise_columns(frame, str(path))
    # Quoted fields may span lines; count their line breaks so line numbers stay physical.
    breaks = (
        pl.sum_horizontal(
            [pl.col(name).str.count_matches("\n", literal=True).fill_null(0) for name in frame.columns]
        )
        if frame.columns
        else pl.lit(0)
    )
    frame = frame.with_columns(breaks.alias("_breaks")).with_columns(
        (pl.int_range(pl.len()) + 2 + pl.col("_breaks").cum_sum() - pl.col("_breaks")).alias("line")
    )
    return frame.drop("_breaks")


def _read_line_by_line(path: Path, why: str) -> pl.DataFrame:
    """Read a file the fast reader refused one physical line at a time; see :func:`read_actuals_csv`."""
    text = path.read_bytes().decode("utf-8", "replace")
    try:
        lenient = csv_lines.read_lines(text)
    except csv_lines.HeaderError as exc:
        raise IngestError(f"{path}:1: cannot read it as CSV: {exc} ({why})") from None
    good = _normalise_columns(lenient.table.rename({"_line": "line"}), str(path))
    bad = pl.DataFrame(
        {
            "line": [b.line for b in lenient.bad],
            "_problem": [b.reason for b in lenient.bad],
            "_raw": [b.raw for b in lenient.bad],
        },
        schema={"line": pl.Int64, "_problem": pl.String, "_raw": pl.String},
    )
    return pl.concat([good, bad], how="diagonal").sort("line")


def _normalise_columns(frame: pl.DataFrame, where: str) -> pl.DataFrame:
    renamed = {
        name: name.strip().lstrip("\ufeff").lower() for name in frame.columns if not name.startswith("_")
    }
    frame = frame.rename(renamed)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        found = ",".join(frame.columns) or "nothing"
        raise IngestError(
            f"{where}: missing column(s) {', '.join(missing)}; expected metric,date,value[,source], found {found}"
        )
    return frame


def ingest_csv(
    session: Session,
    org_id: int,
    path: Path | str,
    *,
    source: str = "csv",
    run_by: str | None,
    manual: bool = False,
    now: dt.datetime,
    known_metrics: Collection[str],
    approved: bool = True,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest an actuals CSV file; see :func:`ingest_frame`. Lines are the file's own."""
    frame = read_actuals_csv(path)
    return ingest_frame(
        session,
        org_id,
        frame,
        source=source,
        run_by=run_by,
        manual=manual,
        now=now,
        known_metrics=known_metrics,
        approved=approved,
        origin=str(path),
        progress=progress,
    )


@timed(INGEST_SECONDS)
def ingest_frame(
    session: Session,
    org_id: int,
    frame: pl.DataFrame,
    *,
    source: str,
    run_by: str | None,
    manual: bool,
    now: dt.datetime,
    known_metrics: Collection[str],
    approved: bool = True,
    origin: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest a batch of actuals and record it as one run; return its counts.

    ``frame`` has columns ``metric``, ``date``, ``value`` and optionally ``source`` (text or
    already typed) and ``line`` (else rows are numbered from 1). ``source`` labels the run and
    the rows that name no source. ``manual`` marks hand-entered points (``run_by`` is kept as
    the person who entered them). ``approved=False`` stores the points as awaiting approval:
    they count, and supersede older versions, only once approved. ``known_metrics`` are the
    KPI (and KR) ids data may arrive for. ``progress(done, total)`` follows the inserts.
    Raise :class:`IngestError` when a required column is missing.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    if not source:
        raise ValueError("source must be a non-empty label")
    now = now.astimezone(dt.UTC)
    frame = _normalise_columns(frame, "actuals")
    if "line" not in frame.columns:
        frame = frame.with_row_index("line", offset=1)
    org = session.get(OrgRow, org_id)
    parsed = _parse(frame, source, known_metrics, org.timezone if org is not None else "UTC")
    bad = parsed.filter(pl.col("reason").is_not_null())
    good = parsed.filter(pl.col("reason").is_null())
    good, repeats, conflicts = _settle_repeats(good)
    bad = _with_raw(frame, pl.concat([bad.select(_BAD_COLUMNS), conflicts.select(_BAD_COLUMNS)]))
    changes = _compare_with_store(session, org_id, good)
    new = changes.filter(pl.col("change") != "unchanged")

    counts = changes.group_by("change").len()
    count = dict(zip(counts["change"].to_list(), counts["len"].to_list(), strict=True))
    retro = int(new["retro"].sum()) if not new.is_empty() else 0
    run = IngestRunRow(
        org_id=org_id,
        source=source,
        origin=origin,
        run_by=run_by,
        manual=manual,
        started_at=now,
        finished_at=now,
        total=parsed.height,
        accepted=new.height,
        unchanged=count.get("unchanged", 0) + repeats,
        quarantined=bad.height,
        status="ok" if bad.is_empty() else "partial",
        error=None,
    )
    session.add(run)
    session.flush()

    if approved:
        _supersede(session, org_id, new.filter(pl.col("change") == "corrected"), now)
    lineage = _Lineage(org_id=org_id, run_id=run.id, now=now, manual=manual, run_by=run_by, approved=approved)
    _insert_points(session, new, lineage, progress)
    _insert_quarantine(session, bad, lineage)
    sample = bad.sort("line").head(SAMPLE_SIZE)
    append_audit(
        session,
        org_id=org_id,
        at=now,
        actor=run_by or source,
        action="actuals.ingested",
        subject=source,
        payload={
            "run_id": run.id,
            "manual": manual,
            "added": count.get("added", 0),
            "corrected": count.get("corrected", 0),
            "retroactive": retro,
            "quarantined": bad.height,
            **_audited_points(new, manual=manual),
        },
    )
    return IngestReport(
        run_id=run.id,
        total=parsed.height,
        added=count.get("added", 0),
        corrected=count.get("corrected", 0),
        unchanged=count.get("unchanged", 0) + repeats,
        quarantined=bad.height,
        retro=retro,
        sample=tuple(zip(sample["line"].to_list(), sample["reason"].to_list(), strict=True)),
    )


def record_failed_run(
    session: Session,
    org_id: int,
    *,
    source: str,
    error: str,
    started_at: dt.datetime,
    now: dt.datetime,
    run_by: str | None = None,
    origin: str | None = None,
) -> int:
    """Record a run that failed before any row was read (network, auth, SQL error); return its id."""
    run = IngestRunRow(
        org_id=org_id,
        source=source,
        origin=origin,
        run_by=run_by,
        manual=False,
        started_at=started_at,
        finished_at=now,
        total=0,
        accepted=0,
        unchanged=0,
        quarantined=0,
        status="failed",
        error=error,
    )
    session.add(run)
    session.flush()
    return run.id


@dataclass(frozen=True)
class _Lineage:
    """What every row of one run shares."""

    org_id: int
    run_id: int
    now: dt.datetime
    manual: bool
    run_by: str | None
    approved: bool


def _audited_points(new: pl.DataFrame, *, manual: bool) -> dict[str, object]:
    """Return the points an audit row names one by one: every correction (value before and after),
    and every point of a manual entry; other new points are named by their run."""
    corrected = new.filter(pl.col("change") == "corrected")
    found: dict[str, object] = {}
    if not corrected.is_empty():
        found["corrections"] = corrected.select(
            "metric",
            "date",
            "source",
            "version",
            pl.col("previous").alias("before"),
            pl.col("value").alias("after"),
        ).to_dicts()
    if manual and not new.is_empty():
        found["entries"] = new.select("metric", "date", "source", "version", "value").to_dicts()
    return found


def _insert_points(session: Session, new: pl.DataFrame, lineage: _Lineage, progress: Progress | None) -> None:
    def report(done: int) -> None:
        if progress is not None:
            progress(done, new.height)

    # ``new`` is in key order (see _settle_repeats): the unique index grows at its end instead
    # of everywhere at once, and a file written day by day across many metrics stores twice
    # as fast as in its own order.
    rows = new.select(
        pl.lit(lineage.org_id, pl.Int64).alias("org_id"),
        "metric",
        "date",
        "value",
        "source",
        pl.lit(lineage.run_id, pl.Int64).alias("run_id"),
        pl.lit(lineage.now).dt.convert_time_zone("UTC").alias("ingested_at"),
        pl.lit(lineage.run_by if lineage.manual else None, pl.String).alias("entered_by"),
        pl.lit(lineage.manual).alias("manual"),
        pl.col("version").cast(pl.Int64),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("superseded_at"),
        pl.lit(lineage.approved).alias("approved"),
        pl.lit(None, pl.String).alias("approved_by"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("approved_at"),
        pl.col("retro").alias("retro_flag"),
    )
    bulk.insert_frame(session, POINTS, rows, progress=report)


def _insert_quarantine(session: Session, bad: pl.DataFrame, lineage: _Lineage) -> None:
    rows = bad.sort("line").select(
        pl.lit(lineage.org_id, pl.Int64).alias("org_id"),
        pl.lit(lineage.run_id, pl.Int64).alias("run_id"),
        "source",
        pl.col("line").cast(pl.Int64),
        "raw",
        "reason",
        pl.lit(lineage.now).dt.convert_time_zone("UTC").alias("created_at"),
    )
    bulk.insert_frame(session, QUARANTINE, rows)


_BAD_COLUMNS = ("row", "line", "source", "reason")


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


def _parse(
    frame: pl.DataFrame, source: str, known_metrics: Collection[str], timezone: str = "UTC"
) -> pl.DataFrame:
    """Return the rows with parsed fields, their ``row`` in ``frame`` and a ``reason`` (null when good).

    Each field is stripped once and every check reads the stripped text; the raw text of a row
    is only put together for the rows that are refused (:func:`_with_raw`).
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


def _with_raw(frame: pl.DataFrame, bad: pl.DataFrame) -> pl.DataFrame:
    """Add each refused row's ``raw`` text (its fields joined by commas), read from ``frame`` by ``row``."""
    inputs = [name for name in frame.columns if name != "line" and not name.startswith("_")]
    joined = pl.concat_str([pl.col(name).cast(pl.String).fill_null("") for name in inputs], separator=",")
    if "_raw" in frame.columns:  # a line the CSV reader refused is shown as written
        joined = pl.coalesce(pl.col("_raw"), joined)
    raw = frame[bad["row"]].select(clip_expr(joined, MAX_RAW).alias("raw"))
    return bad.with_columns(raw["raw"]).select("line", "source", "raw", "reason")


def _settle_repeats(good: pl.DataFrame) -> tuple[pl.DataFrame, int, pl.DataFrame]:
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


def _compare_with_store(session: Session, org_id: int, rows: pl.DataFrame) -> pl.DataFrame:
    """Label each row added, corrected or unchanged against the store; give versions and retro flags."""
    if rows.is_empty():
        return rows.with_columns(
            pl.lit(None, pl.String).alias("change"),
            pl.lit(None, pl.Int64).alias("version"),
            pl.lit(None, pl.Boolean).alias("retro"),
            pl.lit(None, pl.Float64).alias("previous"),
        )
    metrics = rows["metric"].unique().to_list()
    first, last = rows["date"].min(), rows["date"].max()
    stored = points_repo.latest_versions(session, org_id, metrics, first, last)  # type: ignore[arg-type]
    joined = rows.join(
        stored.select("metric", "date", "source", pl.col("value").alias("stored_value"), "version"),
        on=["metric", "date", "source"],
        how="left",
        maintain_order="left",
    )
    change = (
        pl.when(pl.col("version").is_null())
        .then(pl.lit("added"))
        .when(pl.col("stored_value") == pl.col("value"))
        .then(pl.lit("unchanged"))
        .otherwise(pl.lit("corrected"))
    )
    joined = joined.with_columns(change.alias("change"))
    corrected_metrics = joined.filter(pl.col("change") == "corrected")["metric"].unique().to_list()
    evaluated = evaluations_repo.last_evaluated_on(session, org_id, corrected_metrics)
    last_evaluated = pl.DataFrame(
        {"metric": list(evaluated), "evaluated_to": list(evaluated.values())},
        schema={"metric": pl.String, "evaluated_to": pl.Date},
    )
    return (
        joined.join(last_evaluated, on="metric", how="left", maintain_order="left")
        .with_columns(
            (pl.col("version").fill_null(0) + 1).alias("version"),
            (
                (pl.col("change") == "corrected")
                & pl.col("evaluated_to").is_not_null()
                & (pl.col("date") <= pl.col("evaluated_to"))
            ).alias("retro"),
        )
        .rename({"stored_value": "previous"})
        .drop("evaluated_to")
    )


def _supersede(session: Session, org_id: int, corrected: pl.DataFrame, now: dt.datetime) -> None:
    """Mark every older version of each corrected point as superseded at ``now``.

    Not through the ORM row by row: on SQLite one prepared statement runs for every key
    (in-process, each an index lookup); on PostgreSQL the keys go to a temporary table by
    COPY and one ``UPDATE … FROM`` joins them to the points.
    """
    if corrected.is_empty():
        return
    connection = session.connection()
    keys = corrected.select("metric", "date", "source", pl.col("version").cast(pl.Int64))
    if connection.dialect.name == "sqlite":
        # The text forms SQLAlchemy's SQLite Date and UtcDateTime types write.
        stamp = now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        raw: Any = connection.connection.driver_connection
        raw.executemany(
            "UPDATE points SET superseded_at = ? WHERE org_id = ? AND metric = ? AND date = ? "
            "AND source = ? AND superseded_at IS NULL AND version < ?",
            zip(
                itertools.repeat(stamp),
                itertools.repeat(org_id),
                keys["metric"].to_list(),
                keys["date"].dt.strftime("%Y-%m-%d").to_list(),
                keys["source"].to_list(),
                keys["version"].to_list(),
            ),
        )
        return
    table = _CORRECTIONS
    table.create(connection, checkfirst=True)
    try:
        bulk.insert_frame(session, table, keys)
        # Without statistics the planner would not know how few keys there may be.
        connection.exec_driver_sql(f"ANALYZE {table.name}")
        points = POINTS
        connection.execute(
            update(points)
            .where(
                points.c.org_id == org_id,
                points.c.metric == table.c.metric,
                points.c.date == table.c.date,
                points.c.source == table.c.source,
                points.c.superseded_at.is_(None),
                points.c.version < table.c.version,
            )
            .values(superseded_at=now)
        )
    finally:
        table.drop(connection, checkfirst=True)


# The keys of one run's corrections, for the set-based update above; a temporary table is
# private to the connection, so runs on other connections never see each other's keys.
_CORRECTIONS = Table(
    "onpace_corrected_points",
    MetaData(),
    Column("metric", String, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("source", String, primary_key=True),
    Column("version", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
