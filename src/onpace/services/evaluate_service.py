"""Evaluate the store as of a date: points and plan versions in, evaluation rows out.

The engine (``onpace.domain.engine.evaluate_model``) does the work on the points in force dated on or
before ``as_of``; this service feeds it from the store and keeps one row per subject in
``evaluations``. Evaluating the same date again replaces that date's rows, so the table holds
one verdict per subject and date. Nothing is committed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, cast

import polars as pl
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from onpace.domain.engine import Evaluation, evaluate_model
from onpace.domain.model import Model, PlanVersion
from onpace.domain.read_window import evaluation_metrics, evaluation_window
from onpace.domain.results import VERDICT_FIELDS, SubjectResult
from onpace.metrics import EVALUATION_SECONDS, timed
from onpace.services.cycle_state import closed_cycles, frozen_on
from onpace.services.model_store import plan_versions
from onpace.services.points_cache import keep_window_points, read_window_points
from onpace.storage import bulk
from onpace.storage.tables import EvaluationRow

#: Subjects named in one DELETE (SQLite binds at most 32,766 values in a statement).
DELETE_CHUNK = 10_000


def evaluation_rows(
    org_id: int, results: Mapping[str, SubjectResult], *, now: dt.datetime
) -> list[dict[str, Any]]:
    """Return the ``evaluations`` rows of a set of results."""
    return [
        {
            "org_id": org_id,
            "subject": r.subject,
            "level": r.level,
            "as_of": r.as_of,
            "status": r.status,
            "at_risk": r.at_risk,
            "stale": r.stale,
            "threatened_by": list(r.threatened_by),
            "plan_to_date": r.plan_to_date,
            "actual_to_date": r.actual_to_date,
            "variance_abs": r.variance_abs,
            "variance_pct": r.variance_pct,
            "forecast_end": r.forecast_end,
            "forecast_low": r.forecast_low,
            "forecast_high": r.forecast_high,
            "plan_end": r.plan_end,
            "p_target": r.p_target,
            "weeks_to_red": r.weeks_to_red,
            "attainment": r.attainment,
            "last_point": r.last_point,
            "created_at": now,
        }
        for r in results.values()
    ]


#: The columns that hold a verdict: two rows that agree on these say the same thing.
VERDICT_COLUMNS = VERDICT_FIELDS


#: Joins a verdict's ``threatened_by`` names into one hashable text (ids hold no control characters).
NAME_SEPARATOR = "\x1f"

STORED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "subject": pl.String,
    "level": pl.String,
    "status": pl.String,
    "at_risk": pl.Boolean,
    "stale": pl.Boolean,
    "threatened_by": pl.String,
    **dict.fromkeys(
        ("plan_to_date", "actual_to_date", "variance_abs", "variance_pct", "forecast_end", "forecast_low"),
        pl.Float64,
    ),
    **dict.fromkeys(("forecast_high", "plan_end", "p_target"), pl.Float64),
    "weeks_to_red": pl.Int64,
    "attainment": pl.Float64,
    "last_point": pl.Date,
}


def _verdict(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(
        NAME_SEPARATOR.join(row[name] or ()) if name == "threatened_by" else row[name]
        for name in VERDICT_COLUMNS
    )


def stored_verdicts(session: Session, org_id: int, as_of: dt.date) -> list[tuple[Any, ...]]:
    """Return the verdicts stored for ``as_of``, one tuple of ``VERDICT_COLUMNS`` per row.

    Read in bulk (``bulk.read_frame``) rather than row by row: this runs after every evaluation.
    """
    table = cast(Table, EvaluationRow.__table__)
    stmt = select(*(table.c[name] for name in VERDICT_COLUMNS)).where(
        table.c.org_id == org_id, table.c.as_of == as_of
    )
    frame = bulk.read_frame(session, stmt, STORED_SCHEMA).with_columns(
        pl.col("threatened_by").str.json_decode(pl.List(pl.String)).list.join(NAME_SEPARATOR).fill_null("")
    )
    return frame.rows()


def store_evaluation(
    session: Session, org_id: int, as_of: dt.date, results: Mapping[str, SubjectResult], *, now: dt.datetime
) -> int:
    """Make the stored verdicts of ``as_of`` those of ``results``; return the number of rows written.

    Only the verdicts that differ from the stored ones are rewritten (deleted, then inserted
    with one ``executemany``): re-evaluating a day after one new point changes a handful of
    subjects, and rewriting all of an organisation's rows was most of the cost. The table ends
    up exactly as a full rewrite would leave it, except that an unchanged verdict keeps the
    ``created_at`` of the evaluation that first reached it.
    """
    table = cast(Table, EvaluationRow.__table__)
    stored = stored_verdicts(session, org_id, as_of)
    # A subject stored twice (by an older writer) is rewritten whatever its verdicts say.
    twice = {subject for subject, n in Counter(v[0] for v in stored).items() if n > 1}
    kept = set(stored)
    rows = evaluation_rows(org_id, results, now=now)
    fresh = [row for row in rows if row["subject"] in twice or _verdict(row) not in kept]
    wanted = set(results)
    stale = {verdict[0] for verdict in kept if verdict[0] not in wanted}
    stale |= {row["subject"] for row in fresh}
    if stale:
        targets = sorted(stale)
        for start in range(0, len(targets), DELETE_CHUNK):
            session.execute(
                delete(table).where(
                    table.c.org_id == org_id,
                    table.c.as_of == as_of,
                    table.c.subject.in_(targets[start : start + DELETE_CHUNK]),
                )
            )
    if fresh:
        session.connection().execute(insert(table), fresh)
    return len(fresh)


@timed(EVALUATION_SECONDS)
def evaluate_store(
    session: Session,
    org_id: int,
    model: Model,
    as_of: dt.date,
    *,
    now: dt.datetime,
    store: bool = True,
    versions: Mapping[str, Sequence[PlanVersion]] | None = None,
) -> Evaluation:
    """Evaluate the organisation as of ``as_of`` from the store, keep the rows, return the evaluation.

    ``versions`` are the plan versions when the caller has already read them. Objectives of
    closed cycles are left out, and a date inside closed cycles only is evaluated but not stored.
    """
    # Only the points of the cycles judged: the cost follows the cycles, not the years stored.
    window = read_window_points(
        session, org_id, as_of=as_of, since=evaluation_window(model, as_of), metrics=evaluation_metrics(model)
    )
    if versions is None:
        versions = plan_versions(session, org_id)
    closed = closed_cycles(session, org_id)
    evaluation = evaluate_model(model, window.points, as_of, versions, closed)
    # A date inside closed cycles only keeps the verdicts stored before the close.
    if store and not frozen_on(model, closed, as_of):
        store_evaluation(session, org_id, as_of, evaluation.results, now=now)
        keep_window_points(session, org_id, window, now=now)
    return evaluation
