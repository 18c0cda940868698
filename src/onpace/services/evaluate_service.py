"""Evaluate the store as of a date: points and plan versions in, evaluation rows out.

The engine (``onpace.domain.engine.evaluate_model``) does the work on the points in force dated on or
before ``as_of``; this service feeds it from the store and keeps one row per subject in
``evaluations``. Evaluating the same date again replaces that date's rows, so the table holds
one verdict per subject and date. Nothing is committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from onpace.domain.engine import Evaluation, evaluate_model
from onpace.domain.model import Model, PlanVersion
from onpace.domain.read_window import evaluation_metrics, evaluation_window
from onpace.domain.results import SubjectResult
from onpace.metrics import EVALUATION_SECONDS, timed
from onpace.services.cycle_state import closed_cycles, frozen_on
from onpace.services.model_store import plan_versions
from onpace.storage.repositories import points_repo
from onpace.storage.tables import EvaluationRow


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


def store_evaluation(
    session: Session, org_id: int, as_of: dt.date, results: Mapping[str, SubjectResult], *, now: dt.datetime
) -> int:
    """Replace the stored verdicts of ``as_of`` with ``results``; return the number of rows."""
    session.execute(delete(EvaluationRow).where(EvaluationRow.org_id == org_id, EvaluationRow.as_of == as_of))
    rows = evaluation_rows(org_id, results, now=now)
    if rows:
        session.execute(insert(EvaluationRow), rows)
    return len(rows)


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
    points = points_repo.points_frame(
        session, org_id, as_of, since=evaluation_window(model, as_of), metrics=evaluation_metrics(model)
    )
    if versions is None:
        versions = plan_versions(session, org_id)
    closed = closed_cycles(session, org_id)
    evaluation = evaluate_model(model, points, as_of, versions, closed)
    # A date inside closed cycles only keeps the verdicts stored before the close.
    if store and not frozen_on(model, closed, as_of):
        store_evaluation(session, org_id, as_of, evaluation.results, now=now)
    return evaluation
