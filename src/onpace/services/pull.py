"""Pull sources on their schedule, take what they return into the store, and re-run the loop after.

- :func:`sync_schedules` keeps one ``pull`` job per source that has ``every:`` (and one ``tick``
  job per organisation, a periodic evaluation so deadlines and staleness count without new data).
- :func:`run_pull_job` fetches through the connector registry outside any transaction, then
  ingests with lineage (:func:`ingest_fetched`) and reschedules in one transaction. A source
  that fails records a failed ingest run and is retried with backoff (a permanent failure at the
  regular schedule: only a change to the source can fix it). Points already ingested are never
  touched by a failure: each run commits whole or not at all.
- :func:`pull_now` runs one source's pull at once through that same path (``onpace ingest
  --source``) and returns its counts or its error.
- New points request an evaluation (:func:`request_evaluation`); :func:`run_evaluate_job`
  evaluates and governs as of today (:func:`evaluate_and_govern`), which writes the cases and
  their outbox rows for the dispatcher.

The job payload of a pull carries the connector's memory (``state``, e.g. the hashes of the
files already read) and ``since`` (when the last good fetch started).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Mapping
from typing import Any

import structlog
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from onpace.connectors.base import FetchResult, SourceError
from onpace.connectors.clipping import clip
from onpace.connectors.registry import connector_for
from onpace.domain.calendar import local_day
from onpace.domain.engine import Evaluation
from onpace.domain.model import Model, Source
from onpace.errors import UserError
from onpace.services import jobs
from onpace.services.evaluate_service import evaluate_store, store_evaluation
from onpace.services.evaluation_requests import enqueue_evaluation
from onpace.services.evaluation_snapshot import WORKER_SNAPSHOTS
from onpace.services.govern import GovernReport, govern_store
from onpace.services.ingest import IngestReport, ingest_frame, record_failed_run
from onpace.services.model_store import load_model
from onpace.storage.db import reading
from onpace.storage.repositories import evaluations_repo
from onpace.storage.tables import AuditRow, IngestRunRow, JobRow, OrgRow, QuarantineRow, SourceRow

log = structlog.get_logger("onpace.pull")

PULL = "pull"
TICK = "tick"
DEFAULT_TICK = dt.timedelta(days=1)
# How long a failing source without a schedule of its own waits at most between tries.
RETRY_CAP = dt.timedelta(hours=1)


def pull_key(org_id: int, source_id: str) -> str:
    """Return the dedupe key of a source's pull schedule."""
    return f"{PULL}:{org_id}:{source_id}"


def model_of(session: Session, org_id: int) -> Model:
    """Return the active model of the organisation with this id."""
    org = session.get(OrgRow, org_id)
    if org is None:
        raise LookupError(f"there is no organisation {org_id}")
    return load_model(session, org.name)


def known_metrics(model: Model) -> set[str]:
    """Return the ids actuals may arrive for: every KPI and every KR."""
    return {k.id for k in model.kpis} | {kr.id for kr in model.key_results}


# ---------------------------------------------------------------------------------------------
# schedules


def sync_schedules(session: Session, *, now: dt.datetime, tick: dt.timedelta | None = DEFAULT_TICK) -> int:
    """Make the pull and tick jobs match the sources and organisations in the store; not committed.

    A source with ``every:`` gets one pull job; a changed ``every`` takes effect at once (the
    next run comes no later than ``now + every``); a source archived or no longer scheduled has
    its job finished. Return the number of jobs added, changed or finished.
    """
    sources = session.execute(
        select(SourceRow.org_id, SourceRow.id, SourceRow.every_seconds).where(
            SourceRow.archived_at.is_(None), SourceRow.every_seconds.is_not(None), SourceRow.every_seconds > 0
        )
    ).all()
    wanted = {pull_key(org, sid): (org, sid, float(every or 0)) for org, sid, every in sources}
    if tick is not None:
        for org_id in session.scalars(select(OrgRow.id)):
            wanted[f"{TICK}:{org_id}"] = (org_id, "", tick.total_seconds())
    existing = {
        row.dedupe_key: row
        for row in session.scalars(select(JobRow).where(JobRow.kind.in_((PULL, TICK))))
        if row.dedupe_key
    }
    changes = 0
    for key, (org_id, source_id, every) in wanted.items():
        row = existing.get(key)
        if row is None or row.done_at is not None:
            kind = TICK if key.startswith(TICK) else PULL
            payload: dict[str, Any] = {"every": every}
            if kind == PULL:
                payload["source"] = source_id
            first = now if kind == PULL else now + dt.timedelta(seconds=every)
            jobs.enqueue(session, kind, payload, now=now, org_id=org_id, run_after=first, dedupe_key=key)
            changes += 1
        elif float(row.payload.get("every") or 0) != every:
            soonest = now + dt.timedelta(seconds=every)
            session.execute(
                update(JobRow)
                .where(JobRow.id == row.id)
                .values(payload={**row.payload, "every": every}, run_after=min(row.run_after, soonest))
            )
            changes += 1
    for key, row in existing.items():
        # Only schedules are retired; a pull requested by hand (no ``every``) runs once anyway.
        if key not in wanted and row.done_at is None and row.payload.get("every"):
            session.execute(
                update(JobRow).where(JobRow.id == row.id).values(done_at=now, error="no longer scheduled")
            )
            changes += 1
    return changes


def request_pull(
    session: Session, org_id: int, source_id: str, *, now: dt.datetime, every: dt.timedelta | None = None
) -> None:
    """Ask for a pull of one source now (e.g. ``onpace ingest --source``); not committed.

    The source's schedule row runs now, keeping its memory; without one, a row is started
    with ``every`` (the source's schedule, or None for a pull that finishes after this run).
    """
    key = pull_key(org_id, source_id)
    # A finished row keeps the claim of the worker that ran it last; started again, it must be
    # claimable at once rather than one lease later.
    session.execute(
        update(JobRow)
        .where(JobRow.dedupe_key == key, JobRow.done_at.is_not(None))
        .values(claimed_by=None, claimed_at=None)
    )
    jobs.enqueue(
        session,
        PULL,
        {"source": source_id, "every": every.total_seconds() if every else None},
        now=now,
        org_id=org_id,
        run_after=now,
        dedupe_key=key,
    )


# ---------------------------------------------------------------------------------------------
# ingest what a connector returned


def ingest_fetched(
    session: Session,
    org_id: int,
    source_id: str,
    result: FetchResult,
    *,
    now: dt.datetime,
    known: Collection[str],
    run_by: str | None = None,
    manual: bool = False,
    approved: bool = True,
    origin: str | None = None,
) -> IngestReport:
    """Store a connector's result as one ingest run (for pulled and pushed data alike); not committed.

    Good records go through :func:`onpace.services.ingest.ingest_frame` (versions, lineage,
    retroactive flags, unknown metrics quarantined); the rows the connector refused are
    quarantined in the same run with their place (file and line, record index) and reason.
    """
    report = ingest_frame(
        session,
        org_id,
        result.records,
        source=source_id,
        run_by=run_by,
        manual=manual,
        now=now,
        known_metrics=known,
        approved=approved,
        origin=origin,
    )
    if not result.rejected:
        return report
    # The connector's own place (file and line, query row, record) leads the reason.
    reasons = [clip(f"{rej.locator}: {rej.reason}" if rej.locator else rej.reason) for rej in result.rejected]
    session.add_all(
        QuarantineRow(
            org_id=org_id,
            run_id=report.run_id,
            source=source_id,
            line=rej.line,
            raw=clip(rej.raw),
            reason=reason,
            created_at=now,
        )
        for rej, reason in zip(result.rejected, reasons, strict=True)
    )
    run = session.get(IngestRunRow, report.run_id)
    if run is not None:
        run.total += len(result.rejected)
        run.quarantined += len(result.rejected)
        run.status = "partial"
    session.flush()
    sample = report.sample + tuple(
        (rej.line, reason) for rej, reason in zip(result.rejected, reasons, strict=True)
    )
    return dataclasses.replace(
        report,
        total=report.total + len(result.rejected),
        quarantined=report.quarantined + len(result.rejected),
        sample=sample[:20],
    )


def _fetch(
    source: Source, since: dt.datetime | None, state: Mapping[str, str], env: Mapping[str, str]
) -> FetchResult:
    """Fetch through the registry; any failure comes back as a :class:`SourceError`."""
    try:
        return connector_for(source.kind)(source, since, env=env, state=state)
    except SourceError as err:
        raise SourceError(err.message, permanent=err.permanent, source=source.id) from None
    except Exception as err:  # a connector's bug is recorded on the run; it must not kill the worker
        raise SourceError(f"{type(err).__name__}: {err}", permanent=False, source=source.id) from None


@dataclasses.dataclass(frozen=True)
class PullOutcome:
    """What one pull did: the ingest run's counts, or the error that stopped the fetch."""

    source: str
    run_id: int
    report: IngestReport | None = None
    error: SourceError | None = None
    retry_at: dt.datetime | None = None


def run_pull_job(run: jobs.JobRun) -> None:
    """Pull one source (the job's ``source``), ingest the result and schedule the next pull."""
    pull_once(run)


def pull_once(run: jobs.JobRun) -> PullOutcome | None:
    """Do the work of a pull job (see :func:`run_pull_job`) and return what the pull did.

    Return None when the source is no longer in the model (the job is finished).
    """
    job = run.job
    org_id = job.org_id
    source_id = str(job.payload.get("source", ""))
    every_s = job.payload.get("every")
    every = dt.timedelta(seconds=float(every_s)) if every_s else None
    if org_id is None:
        raise ValueError(f"pull job {job.id} names no organisation")
    with run.transaction() as session:
        model = model_of(session, org_id)
    source = next((s for s in model.sources if s.id == source_id), None)
    if source is None:
        with run.transaction() as session:
            run.settle(session, error=f"source {source_id} is no longer in the model")
        return None
    since_text = job.payload.get("since")
    since = dt.datetime.fromisoformat(since_text) if isinstance(since_text, str) else None
    state = {str(k): str(v) for k, v in (job.payload.get("state") or {}).items()}
    started = run.now
    failure: SourceError | None = None
    try:
        result = _fetch(source, since, state, run.env)
    except SourceError as err:
        failure = err
    now = run.clock()
    with run.transaction() as session:
        if failure is not None:
            attempts = job.attempts + 1
            cap = every or RETRY_CAP
            wait = cap if failure.permanent else min(jobs.backoff(attempts), cap)
            run_id = record_failed_run(
                session, org_id, source=source_id, error=str(failure), started_at=started, now=now
            )
            run.settle(session, next_run=now + wait, attempts=attempts, error=str(failure))
            log.warning(
                "pull.failed",
                source=source_id,
                org=org_id,
                run=run_id,
                permanent=failure.permanent,
                attempts=attempts,
                retry_at=(now + wait).isoformat(),
                error=str(failure),
            )
            return PullOutcome(source_id, run_id, error=failure, retry_at=now + wait)
        report = ingest_fetched(
            session, org_id, source_id, result, now=now, known=known_metrics(model), origin=source.kind
        )
        if report.accepted:
            request_evaluation(session, org_id, now=now)
        payload = {**job.payload, "since": started.isoformat(), "state": dict(result.state)}
        run.settle(session, next_run=now + every if every else None, payload=payload, attempts=0)
    log.info("pull.done", source=source_id, org=org_id, run=report.run_id, summary=report.summary())
    return PullOutcome(source_id, report.run_id, report=report)


class UnknownSourceError(UserError, LookupError):
    """The model has no source with the id asked for."""


class SourceBusyError(UserError, RuntimeError):
    """A worker holds the source's pull right now."""


def pull_now(
    engine: Engine,
    org_id: int,
    source_id: str,
    *,
    clock: Callable[[], dt.datetime],
    env: Mapping[str, str],
    worker_id: str,
    lease: dt.timedelta = jobs.DEFAULT_LEASE,
) -> PullOutcome:
    """Pull one source at once, exactly as a worker would, and return what the pull did.

    The source's pull job (its schedule, or a one-off request for a source without ``every:``)
    is made due, claimed by ``worker_id`` and run as a worker runs it (:func:`pull_once`): the connector's
    memory (``since``, ``state``) is used and kept, a failure is recorded as a failed run with
    the same backoff, and the schedule goes on from now. Raise :class:`UnknownSourceError` for a
    source the model does not define and :class:`SourceBusyError` when a worker is pulling it.
    """
    with Session(engine, expire_on_commit=False) as session, session.begin():
        model = model_of(session, org_id)
        source = next((s for s in model.sources if s.id == source_id), None)
        if source is None:
            defined = ", ".join(sorted(s.id for s in model.sources)) or "none"
            raise UnknownSourceError(f"the model has no source {source_id!r} (sources: {defined})")
        request_pull(session, org_id, source_id, now=clock(), every=source.every)
    key = pull_key(org_id, source_id)
    with engine.begin() as connection:
        claimed = jobs.claim(
            connection,
            jobs.JOBS,
            worker_id=worker_id,
            now=clock(),
            lease=lease,
            columns=("id", "org_id", "kind", "payload", "attempts", "dedupe_key"),
            where=(jobs.JOBS.c.dedupe_key == key,),
        )
    if not claimed:
        raise SourceBusyError(f"a worker is pulling source {source_id!r} right now; try again shortly")
    row = claimed[0]
    job = jobs.Job(
        id=row["id"],
        org_id=row["org_id"],
        kind=row["kind"],
        payload=dict(row["payload"] or {}),
        attempts=row["attempts"],
        dedupe_key=row["dedupe_key"],
    )
    run = jobs.JobRun(engine, job, worker_id=worker_id, now=clock(), clock=clock, env=env)
    try:
        with jobs.keep_claimed(engine, jobs.JOBS, [job.id], worker_id=worker_id, clock=clock, lease=lease):
            outcome = pull_once(run)
    except Exception as err:
        # As the worker does: count the try and release the job to retry after the backoff.
        with contextlib.suppress(jobs.ClaimLost), Session(engine) as session, session.begin():
            jobs.fail_job(
                session, job, worker_id=worker_id, now=clock(), error=f"{type(err).__name__}: {err}"
            )
        raise
    if outcome is None:  # pragma: no cover - the source was checked above, in the same model
        raise UnknownSourceError(f"the model has no source {source_id!r}")
    return outcome


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
