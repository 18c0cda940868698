"""The worker loop: deliver the outbox, run due jobs, keep the schedules, sleep when idle.

Any number of workers, on any number of machines, share one store: every row they take is
claimed by compare-and-set (:mod:`onpace.services.jobs`), so nothing is done twice and a row
held by a worker that died is taken over once its claim expires. Each pass delivers the outbox
first (owners are waiting for it), then runs due jobs one at a time; when a pass finds nothing
to do the worker sleeps ``poll_interval`` (or until ``stop_event`` is set).

On SQLite give the worker an engine made with ``make_engine(url, sqlite_immediate=True)``:
its transactions read then write, and only an immediate transaction can do that under
contention without failing.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from onpace.services import jobs, pull
from onpace.services.dispatch import DIGEST, DispatchOptions, dispatch_due, run_digest_job
from onpace.services.evaluation_requests import EVALUATE
from onpace.services.evaluation_snapshot import organisations_to_keep
from onpace.services.review_mail import REVIEW, REVIEW_TIME, run_review_job, sync_review_schedules
from onpace.services.work_signal import WorkWaiter

log = structlog.get_logger("onpace.worker")

Clock = Callable[[], dt.datetime]
# After an error in a pass (store unreachable …), wait this long at most before the next one.
MAX_ERROR_WAIT = 30.0


def utc_now() -> dt.datetime:
    """Return the current time in UTC: the worker is where the clock is read."""
    return dt.datetime.now(dt.UTC)


def new_worker_id() -> str:
    """Return an id naming this process uniquely among all workers: host, pid and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class WorkerOptions:
    """What a worker does and how: delivery options, environment, leases and schedules.

    ``env`` resolves ``env:VAR`` in source options; ``tick`` is how often each organisation
    is evaluated without new data (None: only after new data); ``schedule_every`` how often the
    worker brings the pull schedules in line with the sources in the store; ``review_at`` the
    time of day (UTC) each organisation's weekly review goes out on its review day (None: never).
    """

    dispatch: DispatchOptions = field(default_factory=DispatchOptions)
    env: Mapping[str, str] = field(default_factory=dict)
    job_lease: dt.timedelta = jobs.DEFAULT_LEASE
    jobs_per_pass: int = 10
    schedule_every: dt.timedelta = dt.timedelta(minutes=1)
    tick: dt.timedelta | None = pull.DEFAULT_TICK
    backoff_base: dt.timedelta = jobs.BACKOFF_BASE
    backoff_cap: dt.timedelta = jobs.BACKOFF_CAP
    review_at: dt.time | None = REVIEW_TIME


@dataclass
class WorkerStats:
    """Counts of what a worker did since it started."""

    passes: int = 0
    jobs_done: int = 0
    jobs_failed: int = 0
    outbox_claimed: int = 0
    sent: int = 0
    send_failures: int = 0
    channels_disabled: int = 0
    errors: int = 0


def default_handlers(options: WorkerOptions) -> dict[str, jobs.Handler]:
    """Return the code of each job kind: pulls, evaluations (requested and periodic), digests, reviews."""
    return {
        pull.PULL: pull.run_pull_job,
        EVALUATE: pull.run_evaluate_job,
        pull.TICK: pull.run_evaluate_job,
        DIGEST: functools.partial(run_digest_job, options=options.dispatch),
        REVIEW: functools.partial(run_review_job, options=options.dispatch),
    }


def run_job(
    engine: Engine,
    job: jobs.Job,
    handler: jobs.Handler | None,
    *,
    worker_id: str,
    now_fn: Clock,
    options: WorkerOptions,
) -> bool:
    """Run one claimed job while keeping its claim alive; return whether it succeeded.

    A handler that raises has the try counted and the job retried after the backoff. A job
    whose claim was lost meanwhile (it ran longer than the lease without renewals reaching the
    store) is left to the worker that took it over: its writes were rolled back.
    """
    started = now_fn()
    run = jobs.JobRun(engine, job, worker_id=worker_id, now=started, clock=now_fn, env=options.env)
    bound = log.bind(job=job.id, kind=job.kind, org=job.org_id, attempt=job.attempts + 1)
    try:
        with jobs.keep_claimed(
            engine, jobs.JOBS, [job.id], worker_id=worker_id, clock=now_fn, lease=options.job_lease
        ):
            if handler is None:
                raise LookupError(f"this worker has no handler for jobs of kind {job.kind!r}")
            handler(run)
            if not run.settled:
                with run.transaction() as session:
                    run.settle(session)
    except jobs.ClaimLost:
        bound.warning("job.claim_lost")
        return False
    except Exception as err:
        bound.exception("job.failed", error=str(err))
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                retry_at = jobs.fail_job(
                    session,
                    job,
                    worker_id=worker_id,
                    now=now_fn(),
                    error=f"{type(err).__name__}: {err}",
                    base=options.backoff_base,
                    cap=options.backoff_cap,
                )
            bound.info("job.retry_scheduled", retry_at=retry_at.isoformat())
        except jobs.ClaimLost:
            bound.warning("job.claim_lost")
        return False
    elapsed = (now_fn() - started).total_seconds() * 1000
    bound.info("job.done", duration_ms=round(elapsed, 1))
    return True


def run_due_jobs(
    engine: Engine,
    *,
    worker_id: str,
    now_fn: Clock,
    options: WorkerOptions,
    handlers: Mapping[str, jobs.Handler],
    limit: int,
) -> tuple[int, int]:
    """Claim and run due jobs one at a time, at most ``limit``; return (succeeded, failed)."""
    done = failed = 0
    for _ in range(limit):
        with engine.begin() as connection:
            claimed = jobs.claim_jobs(connection, worker_id=worker_id, now=now_fn(), lease=options.job_lease)
        if not claimed:
            break
        job = claimed[0]
        ok = run_job(engine, job, handlers.get(job.kind), worker_id=worker_id, now_fn=now_fn, options=options)
        done, failed = (done + 1, failed) if ok else (done, failed + 1)
    return done, failed


def run_pass(
    engine: Engine,
    *,
    worker_id: str,
    now_fn: Clock,
    options: WorkerOptions,
    handlers: Mapping[str, jobs.Handler],
    stats: WorkerStats,
) -> int:
    """Deliver one batch of the outbox and run up to ``jobs_per_pass`` jobs; return the rows handled."""
    report = dispatch_due(engine, worker_id=worker_id, now=now_fn(), options=options.dispatch, clock=now_fn)
    stats.outbox_claimed += report.claimed
    stats.sent += report.sent
    stats.send_failures += report.failed
    stats.channels_disabled += len(report.disabled)
    done, failed = run_due_jobs(
        engine,
        worker_id=worker_id,
        now_fn=now_fn,
        options=options,
        handlers=handlers,
        limit=options.jobs_per_pass,
    )
    stats.jobs_done += done
    stats.jobs_failed += failed
    stats.passes += 1
    return report.claimed + done + failed


def sync(engine: Engine, *, now: dt.datetime, options: WorkerOptions) -> int:
    """Bring the pull, tick and review schedules in line with the store (one transaction)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        changed = pull.sync_schedules(session, now=now, tick=options.tick)
        if options.review_at is not None:
            changed += sync_review_schedules(session, now=now, at=options.review_at)
        return changed


def read_ahead(engine: Engine, *, now: dt.datetime) -> int:
    """Read and evaluate the organisations this worker will keep, before it takes any job; return how many.

    A worker's first evaluation of an organisation reads everything (seconds for thousands of
    KPIs); doing it before the worker joins the others keeps that wait off the first push it
    takes. A failure only means the first evaluation reads everything after all.
    """
    try:
        with Session(engine) as session:
            org_ids = organisations_to_keep(session)
    except Exception as err:  # a store not there yet: the loop waits for it
        log.warning("worker.read_ahead_failed", error=str(err))
        return 0
    done = 0
    for org_id in org_ids:
        try:
            pull.prepare_evaluation(engine, org_id, as_of=pull.org_today(engine, org_id, now), now=now)
            done += 1
        except Exception as err:
            log.warning("worker.read_ahead_failed", org=org_id, error=str(err))
    return done


def run_worker(
    engine: Engine,
    *,
    worker_id: str | None = None,
    once: bool = False,
    poll_interval: float = 0.25,
    stop_event: threading.Event | None = None,
    now_fn: Clock = utc_now,
    options: WorkerOptions | None = None,
    handlers: Mapping[str, jobs.Handler] | None = None,
) -> WorkerStats:
    """Work until ``stop_event`` is set (or, with ``once``, until nothing is due); return the counts.

    ``handlers`` adds to (or replaces) :func:`default_handlers` by job kind. With ``once`` an
    error is raised to the caller; otherwise it is logged and the loop carries on after a pause
    that grows while errors repeat, so a store that is down for a while is simply waited for.
    """
    options = options or WorkerOptions()
    worker_id = worker_id or new_worker_id()
    stop = stop_event or threading.Event()
    kinds = {**default_handlers(options), **(handlers or {})}
    stats = WorkerStats()
    bound = log.bind(worker=worker_id)
    bound.info("worker.started", once=once, poll_interval=poll_interval, kinds=sorted(kinds))
    waiter = WorkWaiter(engine) if not once else None
    try:
        _loop(engine, worker_id, once, poll_interval, stop, now_fn, options, kinds, stats, waiter)
    finally:
        if waiter is not None:
            waiter.close()
    bound.info("worker.stopped", **vars(stats))
    return stats


def _loop(  # noqa: PLR0917 - the body of run_worker
    engine: Engine,
    worker_id: str,
    once: bool,
    poll_interval: float,
    stop: threading.Event,
    now_fn: Clock,
    options: WorkerOptions,
    kinds: Mapping[str, jobs.Handler],
    stats: WorkerStats,
    waiter: WorkWaiter | None,
) -> None:
    bound = log.bind(worker=worker_id)
    next_sync: dt.datetime | None = None
    errors_in_row = 0
    while not stop.is_set():
        try:
            now = now_fn()
            if next_sync is None or now >= next_sync:
                changed = sync(engine, now=now, options=options)
                if changed:
                    bound.info("schedules.synced", changes=changed)
                next_sync = now + options.schedule_every
            handled = run_pass(
                engine, worker_id=worker_id, now_fn=now_fn, options=options, handlers=kinds, stats=stats
            )
            errors_in_row = 0
        except Exception as err:
            if once:
                raise
            stats.errors += 1
            errors_in_row += 1
            wait = min(poll_interval * 2**errors_in_row, MAX_ERROR_WAIT)
            bound.exception("worker.pass_failed", error=str(err), retry_in_s=wait)
            stop.wait(wait)
            continue
        if handled:
            continue
        if once or waiter is None:
            break
        # Idle: wait for the next look, or less when work is announced (services.work_signal).
        waiter.wait(poll_interval, stop)
