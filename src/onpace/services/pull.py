"""Re-run the loop after new data: evaluate and govern an organisation as of its today.

New points request an evaluation (:func:`request_evaluation`); :func:`run_evaluate_job`
evaluates and governs as of today (:func:`evaluate_and_govern`), which writes the cases and
their outbox rows for the dispatcher. Sources are pulled on their schedule by
:mod:`onpace.services.source_pulls` (its names are re-exported here for the callers of this module).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection

import structlog
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from onpace.domain.calendar import local_day
from onpace.domain.engine import Evaluation
from onpace.domain.model import Model
from onpace.services import jobs
from onpace.services.evaluate_service import evaluate_store, store_evaluation
from onpace.services.evaluation_requests import enqueue_evaluation
from onpace.services.evaluation_snapshot import WORKER_SNAPSHOTS
from onpace.services.govern import GovernReport, govern_store
from onpace.services.source_pulls import (
    DEFAULT_TICK,
    PULL,
    RETRY_CAP,
    TICK,
    PullOutcome,
    SourceBusyError,
    UnknownSourceError,
    ingest_fetched,
    known_metrics,
    model_of,
    pull_key,
    pull_now,
    pull_once,
    request_pull,
    run_pull_job,
    sync_schedules,
)
from onpace.storage.db import reading
from onpace.storage.repositories import evaluations_repo
from onpace.storage.tables import AuditRow, OrgRow

__all__ = [
    "DEFAULT_TICK",
    "PULL",
    "RETRY_CAP",
    "TICK",
    "Prepared",
    "PullOutcome",
    "SourceBusyError",
    "UnknownSourceError",
    "evaluate_and_govern",
    "ingest_fetched",
    "known_metrics",
    "live_previous_statuses",
    "model_of",
    "org_today",
    "prepare_evaluation",
    "pull_key",
    "pull_now",
    "pull_once",
    "request_evaluation",
    "request_pull",
    "run_evaluate_job",
    "run_pull_job",
    "store_version",
    "sync_schedules",
]

log = structlog.get_logger("onpace.pull")


# ---------------------------------------------------------------------------------------------
# evaluate and govern after new data


def request_evaluation(session: Session, org_id: int, *, now: dt.datetime) -> None:
    """Ask for an evaluation of the organisation (see :func:`enqueue_evaluation`); not committed."""
    enqueue_evaluation(session, org_id, now=now)


def live_previous_statuses(
    session: Session, org_id: int, as_of: dt.date, subjects: Collection[str] | None = None
) -> dict[str, str]:
    """Return each subject's status (at risk folded in) at its latest stored evaluation up to ``as_of``.

    Unlike a replay, the live loop evaluates the same day many times (after each batch of new
    data); comparing with the day's own earlier verdict keeps a status change from being
    announced again at every re-evaluation. Given ``subjects`` (those about to be governed),
    only the latest evaluated date is read when it holds them all — the usual case — so the
    cost does not grow with the days the loop has run; the others are looked up one by one.
    """
    found: list[tuple[str, str, bool]] = []
    others: Collection[str] | None = None  # the subjects still to look up one by one (None: all)
    if subjects is not None:
        latest = evaluations_repo.latest_as_of(session, org_id, as_of)
        if latest is None:
            return {}
        found = evaluations_repo.statuses_on(session, org_id, latest)
        others = set(subjects) - {subject for subject, _, _ in found}
    if others is None or others:
        rows = evaluations_repo.latest_evaluations(session, org_id, as_of, subjects=others)
        found += [(row.subject, row.status, row.at_risk) for row in rows]
    return {
        subject: "at_risk" if at_risk and status in ("green", "amber") else status
        for subject, status, at_risk in found
    }


def store_version(session: Session, org_id: int) -> int:
    """Return a number that grows with every change to the organisation's store (its audit trail).

    Actuals, model and plan changes, check-ins and case events each append to the audit log, so
    an evaluation made while this number stood still is the evaluation of the store as it is.
    """
    return session.scalar(select(func.max(AuditRow.seq)).where(AuditRow.org_id == org_id)) or 0


@dataclasses.dataclass(frozen=True)
class Prepared:
    """An evaluation made outside the write transaction, and the store version it was made at."""

    model: Model
    version: int
    evaluation: Evaluation


def org_today(engine: Engine, org_id: int, now: dt.datetime) -> dt.date:
    """Return the organisation's date at ``now``: days end at local midnight in its time zone."""
    with Session(reading(engine)) as session:
        org = session.get(OrgRow, org_id)
        return local_day(now, org.timezone if org is not None else "UTC")


def prepare_evaluation(engine: Engine, org_id: int, *, as_of: dt.date, now: dt.datetime) -> Prepared:
    """Evaluate the organisation in a read-only transaction: no lock held while the engine works.

    The inputs come from this process's snapshot of the organisation
    (:mod:`onpace.services.evaluation_snapshot`): only what changed since the last evaluation is
    read again.
    """
    del now  # the evaluation does not depend on the clock, only on ``as_of``
    with Session(reading(engine), expire_on_commit=False) as session, session.begin():
        snapshot = WORKER_SNAPSHOTS.snapshot(session, org_id, as_of)
        evaluation = snapshot.evaluation
    return Prepared(snapshot.model, snapshot.version, evaluation)


def evaluate_and_govern(
    session: Session,
    org_id: int,
    *,
    as_of: dt.date,
    now: dt.datetime,
    model: Model | None = None,
    prepared: Prepared | None = None,
) -> GovernReport:
    """Evaluate the organisation as of ``as_of``, keep the verdicts and govern them; not committed.

    The organisation's row is locked first (on PostgreSQL; SQLite workers write one at a time),
    so two workers never govern the same organisation at once and open a case twice. A
    ``prepared`` evaluation is used when the store has not changed since it was made (same
    :func:`store_version`, read under the lock); otherwise the organisation is evaluated again
    here, so what is stored is always the evaluation of the store as it is.
    """
    # NO KEY UPDATE, not UPDATE: it still keeps a second worker out, but lets writers whose rows
    # reference the organisation (an ingest run, its points) go on while the evaluation runs.
    session.execute(select(OrgRow.id).where(OrgRow.id == org_id).with_for_update(key_share=True))
    if prepared is not None and store_version(session, org_id) == prepared.version:
        model, evaluation = prepared.model, prepared.evaluation
    elif model is None:
        snapshot = WORKER_SNAPSHOTS.snapshot(session, org_id, as_of)
        model, evaluation = snapshot.model, snapshot.evaluation
    else:
        evaluation = evaluate_store(session, org_id, model, as_of, now=now, store=False)
    previous = live_previous_statuses(session, org_id, as_of, evaluation.results.keys())
    store_evaluation(session, org_id, as_of, evaluation.results, now=now)
    WORKER_SNAPSHOTS.keep_points(session, org_id, now=now)
    # Compare with the day's own earlier verdicts, so re-evaluating a day announces nothing twice.
    return govern_store(
        session,
        org_id,
        model,
        evaluation.results,
        as_of=as_of,
        now=now,
        previous=previous,
        leadlag=evaluation.leadlag,
        noise=evaluation.noise,
    )


def run_evaluate_job(run: jobs.JobRun) -> None:
    """Evaluate and govern the job's organisation as of today (in its time zone); a tick reschedules itself."""
    org_id = run.job.org_id
    if org_id is None:
        raise ValueError(f"{run.job.kind} job {run.job.id} names no organisation")
    now = run.clock()
    # The engine's work is done before the write transaction, so on SQLite writers are not held
    # up while it runs; under the lock it is only checked to be still current.
    today = org_today(run.engine, org_id, now)
    prepared = prepare_evaluation(run.engine, org_id, as_of=today, now=now)
    with run.transaction() as session:
        report = evaluate_and_govern(session, org_id, as_of=today, now=now, prepared=prepared)
        every = run.job.payload.get("every") if run.job.kind == TICK else None
        run.settle(session, next_run=now + dt.timedelta(seconds=float(every)) if every else None)
    log.info("evaluate.done", org=org_id, as_of=today.isoformat(), events=len(report.events))
