"""Start the loop on every write of actuals: one coalesced evaluation request per organisation.

Every door that stores actuals — the push API, ``onpace ingest`` (files and manual entries),
a source's pull (a drop folder is one) and corrections through any of them — calls
:func:`enqueue_evaluation` in the transaction that stores the points. The request is a row in
``jobs`` (the database is the queue), so any worker on any machine claims it and runs
:func:`onpace.services.pull.run_evaluate_job`.

Coalescing: requests made while one is pending are that one request (its ``dedupe_key`` is
taken), so a burst of writes before a worker picks the request up costs one evaluation. An idle
worker is woken by the request (:mod:`onpace.services.work_signal`) rather than at its next poll. A request made while an evaluation runs queues exactly
one more, so data that arrived mid-run is never left behind, and at most one evaluation of an
organisation waits behind the one running however many writes arrive. The request is due at
once: delaying it to gather more writes would only add to the time a breach takes to reach
its owner.

A process with no worker at hand (``onpace ingest``) may run the pending request itself with
:func:`evaluate_pending`, claiming it as a worker would, so it is never run twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from onpace.services import jobs
from onpace.services.work_signal import announce_work

EVALUATE = "evaluate"


def evaluation_key(org_id: int) -> str:
    """Return the dedupe key under which an organisation's pending evaluation request lives."""
    return f"{EVALUATE}:{org_id}"


def enqueue_evaluation(session: Session, org_id: int, *, now: dt.datetime) -> None:
    """Ask for an evaluation of the organisation, coalesced with any pending request; not committed."""
    jobs.enqueue(
        session,
        EVALUATE,
        {},
        now=now,
        org_id=org_id,
        dedupe_key=evaluation_key(org_id),
    )
    announce_work(session)


def evaluate_pending(
    engine: Engine,
    org_id: int,
    *,
    clock: Callable[[], dt.datetime],
    worker_id: str,
    env: Mapping[str, str] | None = None,
    lease: dt.timedelta = jobs.DEFAULT_LEASE,
) -> bool:
    """Claim the organisation's pending evaluation request now and run it; return whether it ran.

    The request is claimed by compare-and-set like any job, so a worker that took it first
    keeps it and this returns False. A failed run is released to the workers with the usual backoff and raised.
    """
    from onpace.services.pull import run_evaluate_job

    job = jobs.claim_one(
        engine,
        worker_id=worker_id,
        now=clock(),
        lease=lease,
        where=(jobs.JOBS.c.kind == EVALUATE, jobs.JOBS.c.org_id == org_id),
    )
    if job is None:
        return False
    run = jobs.JobRun(engine, job, worker_id=worker_id, now=clock(), clock=clock, env=dict(env or {}))
    try:
        with jobs.keep_claimed(engine, jobs.JOBS, [job.id], worker_id=worker_id, clock=clock, lease=lease):
            run_evaluate_job(run)
    except Exception as err:
        with Session(engine) as session, session.begin():
            jobs.fail_job(
                session, job, worker_id=worker_id, now=clock(), error=f"{type(err).__name__}: {err}"
            )
        raise
    return True
