"""The job queue in the store: claims by compare-and-set, leases, dedupe keys, retries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from worker_support import NOW, Clock, options

from onpace.services import jobs
from onpace.services.worker import run_due_jobs, run_job, utc_now
from onpace.storage.tables import JobRow

LEASE = dt.timedelta(seconds=10)


def add(engine: Engine, count: int = 1, kind: str = "probe", **kwargs: object) -> None:
    with Session(engine) as session, session.begin():
        for _ in range(count):
            jobs.enqueue(session, kind, {"n": 1}, now=NOW, **kwargs)  # type: ignore[arg-type]


def claim(engine: Engine, who: str, now: dt.datetime = NOW, limit: int = 1) -> list[jobs.Job]:
    with engine.begin() as connection:
        return jobs.claim_jobs(connection, worker_id=who, now=now, lease=LEASE, limit=limit)


def row(engine: Engine, job_id: int) -> JobRow:
    with Session(engine) as session:
        found = session.get(JobRow, job_id)
        assert found is not None
        return found


def test_backoff_doubles_from_the_base_and_stops_at_the_cap() -> None:
    waits = [jobs.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits[:4] == [30, 60, 120, 240]
    assert waits[-1] == 3600
    assert jobs.backoff(10_000) == jobs.BACKOFF_CAP


def test_two_workers_never_claim_the_same_job(store: Engine) -> None:
    add(store, 3)
    first = claim(store, "a", limit=2)
    second = claim(store, "b", limit=2)
    assert [j.id for j in first] == [1, 2]
    assert [j.id for j in second] == [3]
    assert claim(store, "c") == []


def test_a_job_is_not_claimed_before_its_time(store: Engine) -> None:
    add(store, run_after=NOW + dt.timedelta(minutes=5))
    assert claim(store, "a") == []
    assert [j.id for j in claim(store, "a", NOW + dt.timedelta(minutes=5))] == [1]


def test_an_expired_claim_is_taken_over_and_the_old_holder_can_no_longer_settle(store: Engine) -> None:
    add(store)
    [held] = claim(store, "slow")
    assert claim(store, "other", NOW + LEASE) == []  # a claim exactly as old as the lease still holds
    [taken] = claim(store, "other", NOW + LEASE + dt.timedelta(seconds=1))
    assert taken.id == held.id
    with Session(store) as session, session.begin(), pytest.raises(jobs.ClaimLost):
        jobs.settle_job(session, held, worker_id="slow", now=NOW)
    with Session(store) as session, session.begin():
        jobs.settle_job(session, taken, worker_id="other", now=NOW)
    assert row(store, held.id).done_at is not None
    assert row(store, held.id).claimed_by == "other"


def test_renewing_a_claim_keeps_the_job_from_being_taken(store: Engine) -> None:
    add(store)
    [held] = claim(store, "a")
    later = NOW + LEASE
    with store.begin() as connection:
        assert jobs.renew_claims(connection, jobs.JOBS, [held.id], worker_id="a", now=later) == 1
        assert jobs.renew_claims(connection, jobs.JOBS, [held.id], worker_id="b", now=later) == 0
    assert claim(store, "b", later + dt.timedelta(seconds=5)) == []


def test_requests_with_one_dedupe_key_coalesce_and_run_at_the_earlier_time(store: Engine) -> None:
    add(store, kind="evaluate", dedupe_key="evaluate:1", run_after=NOW + dt.timedelta(minutes=10))
    add(store, kind="evaluate", dedupe_key="evaluate:1", run_after=NOW + dt.timedelta(minutes=1))
    add(store, kind="evaluate", dedupe_key="evaluate:1", run_after=NOW + dt.timedelta(minutes=30))
    with Session(store) as session:
        [pending] = jobs.pending_jobs(session)
    assert pending.run_after == NOW + dt.timedelta(minutes=1)


def test_a_request_made_while_its_job_runs_queues_one_more_run(store: Engine) -> None:
    add(store, kind="evaluate", dedupe_key="evaluate:1")
    [running] = claim(store, "a")
    assert running.dedupe_key is None  # released at the claim
    add(store, kind="evaluate", dedupe_key="evaluate:1")
    with Session(store) as session:
        assert [j.id for j in jobs.pending_jobs(session)] == [running.id, running.id + 1]


def test_a_schedule_keeps_its_key_while_it_runs(store: Engine) -> None:
    add(store, kind="pull", dedupe_key="pull:1:wms")
    [running] = claim(store, "a")
    assert running.dedupe_key == "pull:1:wms"
    add(store, kind="pull", dedupe_key="pull:1:wms")
    with Session(store) as session:
        assert len(jobs.pending_jobs(session)) == 1


def test_a_failing_job_is_retried_with_backoff_and_then_succeeds(store: Engine) -> None:
    add(store, kind="flaky")
    clock = Clock()
    calls: list[int] = []

    def flaky(run: jobs.JobRun) -> None:
        calls.append(run.job.attempts)
        if len(calls) < 3:
            raise ConnectionError("receiver down")

    handlers = {"flaky": flaky}
    opts = options()
    assert run_due_jobs(store, worker_id="w", now_fn=clock, options=opts, handlers=handlers, limit=5) == (
        0,
        1,
    )
    failed = row(store, 1)
    assert (failed.attempts, failed.run_after, failed.claimed_by) == (1, NOW + dt.timedelta(seconds=30), None)
    assert failed.error == "ConnectionError: receiver down"
    clock.advance(dt.timedelta(seconds=30))
    assert run_due_jobs(store, worker_id="w", now_fn=clock, options=opts, handlers=handlers, limit=5) == (
        0,
        1,
    )
    assert row(store, 1).run_after == clock() + dt.timedelta(seconds=60)
    clock.advance(dt.timedelta(seconds=60))
    assert run_due_jobs(store, worker_id="w", now_fn=clock, options=opts, handlers=handlers, limit=5) == (
        1,
        0,
    )
    assert calls == [0, 1, 2]
    assert row(store, 1).done_at == clock()


def test_a_job_of_a_kind_nobody_handles_is_kept_for_a_worker_that_does(store: Engine) -> None:
    add(store, kind="from_the_future")
    clock = Clock()
    with store.begin() as connection:
        [job] = jobs.claim_jobs(connection, worker_id="w", now=clock())
    assert not run_job(store, job, None, worker_id="w", now_fn=clock, options=options())
    kept = row(store, job.id)
    assert kept.done_at is None
    assert "no handler for jobs of kind 'from_the_future'" in (kept.error or "")


def test_a_handlers_writes_and_the_jobs_completion_commit_together(store: Engine) -> None:
    add(store, kind="write_then_lose")
    clock = Clock()
    with store.begin() as connection:
        [job] = jobs.claim_jobs(connection, worker_id="w", now=clock())

    def write_then_lose(run: jobs.JobRun) -> None:
        # Another worker takes the job over between the handler's start and its commit.
        with store.begin() as connection:
            connection.execute(jobs.JOBS.update().values(claimed_by="thief"))
        with run.transaction() as session:
            jobs.enqueue(session, "side_effect", {}, now=run.now)
            run.settle(session)

    assert not run_job(store, job, write_then_lose, worker_id="w", now_fn=clock, options=options())
    with Session(store) as session:
        kinds = session.scalars(select(JobRow.kind)).all()
    assert kinds == ["write_then_lose"]


def test_a_live_worker_keeps_its_job_however_long_it_runs(store: Engine) -> None:
    add(store, kind="long")
    lease = dt.timedelta(seconds=0.3)
    opts = dataclasses.replace(options(), job_lease=lease)
    started, release = threading.Event(), threading.Event()

    def long(run: jobs.JobRun) -> None:
        started.set()
        release.wait(10)

    with store.begin() as connection:
        [job] = jobs.claim_jobs(connection, worker_id="busy", now=utc_now(), lease=lease)
    thread = threading.Thread(
        target=run_job,
        args=(store, job, long),
        kwargs={"worker_id": "busy", "now_fn": utc_now, "options": opts},
    )
    thread.start()
    try:
        assert started.wait(10)
        time.sleep(4 * lease.total_seconds())  # several leases: only renewals keep the claim
        with store.begin() as connection:
            assert jobs.claim_jobs(connection, worker_id="other", now=utc_now(), lease=lease) == []
    finally:
        release.set()
        thread.join(10)
    assert row(store, job.id).done_at is not None
