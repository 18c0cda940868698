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
Rows are parsed and checked in :mod:`onpace.services.ingest_rows`, compared with the store and
written in :mod:`onpace.services.ingest_store`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy.orm import Session

from onpace.connectors import csv_lines
from onpace.errors import UserError
from onpace.metrics import INGEST_SECONDS, timed
from onpace.services.audit import append_audit
from onpace.services.ingest_rows import BAD_COLUMNS, DATE_PATTERN, parse_rows, settle_repeats, with_raw
from onpace.services.ingest_store import (
    Lineage,
    Progress,
    audited_points,
    compare_with_store,
    insert_points,
    insert_quarantine,
    supersede,
)
from onpace.storage.tables import IngestRunRow, OrgRow

__all__ = [
    "DATE_PATTERN",
    "IngestError",
    "IngestReport",
    "ingest_csv",
    "ingest_frame",
    "read_actuals_csv",
    "record_failed_run",
]

REQUIRED_COLUMNS = ("metric", "date", "value")

SAMPLE_SIZE = 20


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
    parsed = parse_rows(frame, source, known_metrics, org.timezone if org is not None else "UTC")
    bad = parsed.filter(pl.col("reason").is_not_null())
    good = parsed.filter(pl.col("reason").is_null())
    good, repeats, conflicts = settle_repeats(good)
    bad = with_raw(frame, pl.concat([bad.select(BAD_COLUMNS), conflicts.select(BAD_COLUMNS)]))
    changes = compare_with_store(session, org_id, good)
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
        supersede(session, org_id, new.filter(pl.col("change") == "corrected"), now)
    lineage = Lineage(org_id=org_id, run_id=run.id, now=now, manual=manual, run_by=run_by, approved=approved)
    insert_points(session, new, lineage, progress)
    insert_quarantine(session, bad, lineage)
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
            **audited_points(new, manual=manual),
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
