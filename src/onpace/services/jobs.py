"""The database is the queue: enqueue jobs, claim due rows by compare-and-set, settle them.

Both queues (``jobs`` and ``outbox``) are claimed the same way, on SQLite and PostgreSQL alike,
in one statement::

    WITH candidates AS (SELECT id FROM t WHERE <due> AND <claimable> ORDER BY id LIMIT n
                        FOR UPDATE SKIP LOCKED)   -- the lock clause on PostgreSQL only
    UPDATE t SET claimed_by = :me, claimed_at = :now
    WHERE id IN (SELECT id FROM candidates)
      AND <due> AND (claimed_at IS NULL OR claimed_at < :now - :lease)
    RETURNING …

A row is claimable when nobody holds it or its claim is older than the lease: a worker that
dies mid-job simply stops renewing its claim (:func:`renew_claims`), the claim expires and
another worker takes the row. Settling a row is conditional on still holding it
(``WHERE claimed_by = :me``), in the same transaction as the job's own writes, so work done by a
worker that lost its claim is rolled back rather than done twice.

Jobs of :data:`SCHEDULED_KINDS` are schedules: one row per thing scheduled (a source's pulls),
rescheduled in place and keeping its ``dedupe_key``. Other jobs are requests: their
``dedupe_key`` coalesces requests while one is pending and is released when a worker claims it,
so a request made while the job runs queues one more run.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import structlog
from sqlalchemy import Engine, Table, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Result
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from onpace.storage.tables import JobRow, OutboxRow

log = structlog.get_logger("onpace.jobs")

#: Job kinds that are schedules (rescheduled in place) rather than one-off requests.
SCHEDULED_KINDS = frozenset({"pull", "tick", "review"})
DEFAULT_LEASE = dt.timedelta(minutes=5)
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=1)

JOBS = cast(Table, JobRow.__table__)
OUTBOX = cast(Table, OutboxRow.__table__)


class ClaimLost(Exception):  # noqa: N818 - a state, not a failure of the caller
    """Raise when a worker settles a row it no longer holds (its claim expired and was taken)."""


@dataclass(frozen=True)
class Job:
    """A claimed job: what to do (``kind``, ``payload``) and how often it was tried before."""

    id: int
    org_id: int | None
    kind: str
    payload: Mapping[str, Any]
    attempts: int
    dedupe_key: str | None


def backoff(
    attempts: int, *, base: dt.timedelta = BACKOFF_BASE, cap: dt.timedelta = BACKOFF_CAP
) -> dt.timedelta:
    """Return the wait before the next try after ``attempts`` failed ones: base·2^(n−1), capped."""
    if attempts <= 0:
        return dt.timedelta(0)
    # Past 2^20 the cap has long won; stop before the multiplication overflows.
    wait: dt.timedelta = base * 2 ** min(attempts - 1, 20)
    return min(wait, cap)


def _finished_column(table: Table) -> str:
    return "delivered_at" if table.name == OUTBOX.name else "done_at"


def claimable(table: Table, *, now: dt.datetime, lease: dt.timedelta) -> ColumnElement[bool]:
    """Return the condition of a row nobody holds, or whose holder's claim has expired."""
    return or_(table.c.claimed_at.is_(None), table.c.claimed_at < now - lease)


def claim(
    connection: Connection,
    table: Table,
    *,
    worker_id: str,
    now: dt.datetime,
    lease: dt.timedelta = DEFAULT_LEASE,
    limit: int = 1,
    columns: tuple[str, ...] = ("id",),
    where: tuple[ColumnElement[bool], ...] = (),
) -> list[dict[str, Any]]:
    """Claim up to ``limit`` due rows of ``table`` (``jobs`` or ``outbox``); return their ``columns``.

    Due means not finished, ``run_after`` null or past, and ``where`` true; oldest first. The
    caller's transaction must commit for the claim to count. Claimed request jobs give up their
    ``dedupe_key`` (see the module docstring), so ``dedupe_key`` comes back null for them.
    """
    due = (
        table.c[_finished_column(table)].is_(None),
        or_(table.c.run_after.is_(None), table.c.run_after <= now),
        claimable(table, now=now, lease=lease),
        *where,
    )
    # A CTE, not ``IN (subquery)``: PostgreSQL may run an IN subquery more than once, and with
    # SKIP LOCKED a second run finds other rows, so more than ``limit`` would be claimed. A CTE
    # that locks rows is computed once.
    candidates = (
        select(table.c.id)
        .where(*due)
        .order_by(table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte(f"{table.name}_candidates")
    )
    values: dict[str, Any] = {"claimed_by": worker_id, "claimed_at": now}
    if table.name == JOBS.name:
        scheduled = table.c.kind.in_(sorted(SCHEDULED_KINDS))
        values["dedupe_key"] = case((scheduled, table.c.dedupe_key), else_=None)
    stmt = (
        update(table)
        .where(table.c.id.in_(select(candidates.c.id)), *due)
        .values(values)
        .returning(*[table.c[name] for name in columns])
    )
    rows = [dict(row._mapping) for row in connection.execute(stmt)]
    return sorted(rows, key=lambda row: int(row["id"]))


def claim_jobs(
    connection: Connection,
    *,
    worker_id: str,
    now: dt.datetime,
    lease: dt.timedelta = DEFAULT_LEASE,
    limit: int = 1,
    kinds: tuple[str, ...] | None = None,
) -> list[Job]:
    """Claim up to ``limit`` due jobs (of ``kinds`` when given) for ``worker_id``."""
    where = () if kinds is None else (JOBS.c.kind.in_(kinds),)
    rows = claim(
        connection,
        JOBS,
        worker_id=worker_id,
        now=now,
        lease=lease,
        limit=limit,
        columns=JOB_COLUMNS,
        where=where,
    )
    return [_job(row) for row in rows]


def claim_one(
    engine: Engine,
    *,
    worker_id: str,
    now: dt.datetime,
    where: tuple[ColumnElement[bool], ...],
    lease: dt.timedelta = DEFAULT_LEASE,
) -> Job | None:
    """Claim the oldest due job matching ``where`` in a transaction of its own; None when none is free."""
    with engine.begin() as connection:
        rows = claim(
            connection, JOBS, worker_id=worker_id, now=now, lease=lease, columns=JOB_COLUMNS, where=where
        )
    return _job(rows[0]) if rows else None


JOB_COLUMNS = ("id", "org_id", "kind", "payload", "attempts", "dedupe_key")


def _job(row: dict[str, Any]) -> Job:
    return Job(
        id=row["id"],
        org_id=row["org_id"],
        kind=row["kind"],
        payload=dict(row["payload"] or {}),
        attempts=row["attempts"],
        dedupe_key=row["dedupe_key"],
    )


def rowcount(result: Result[Any]) -> int:
    """Return the number of rows an UPDATE matched (``CursorResult.rowcount``)."""
    return cast(CursorResult[Any], result).rowcount


def renew_claims(
    connection: Connection, table: Table, ids: list[int], *, worker_id: str, now: dt.datetime
) -> int:
    """Move the claim time of rows still held by ``worker_id`` to ``now``; return how many."""
    if not ids:
        return 0
    stmt = update(table).where(table.c.id.in_(ids), table.c.claimed_by == worker_id).values(claimed_at=now)
    return rowcount(connection.execute(stmt))


def _insert_for(session: Session) -> Any:
    """Return the dialect's INSERT construct, which knows ON CONFLICT on both stores."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def enqueue(
    session: Session,
    kind: str,
    payload: Mapping[str, Any] | None = None,
    *,
    now: dt.datetime,
    org_id: int | None = None,
    run_after: dt.datetime | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Add a job to run at ``run_after`` (default: now); not committed.

    With ``dedupe_key``, a job already pending under that key is not duplicated: it keeps its
    payload and runs at the earlier of the two times. A finished schedule row with that key is
    started again with the new payload.
    """
    when = run_after or now
    values = {
        "org_id": org_id,
        "kind": kind,
        "payload": dict(payload or {}),
        "dedupe_key": dedupe_key,
        "created_at": now,
        "run_after": when,
        "attempts": 0,
    }
    if dedupe_key is None:
        session.execute(JOBS.insert().values(values))
        return
    insert = _insert_for(session)(JOBS).values(values)
    excluded = insert.excluded
    finished = JOBS.c.done_at.is_not(None)
    stmt = insert.on_conflict_do_update(
        index_elements=[JOBS.c.dedupe_key],
        set_={
            "run_after": case(
                (finished, excluded.run_after),
                (excluded.run_after < JOBS.c.run_after, excluded.run_after),
                else_=JOBS.c.run_after,
            ),
            "payload": case((finished, excluded.payload), else_=JOBS.c.payload),
            "attempts": case((finished, 0), else_=JOBS.c.attempts),
            "error": case((finished, None), else_=JOBS.c.error),
            "done_at": None,
        },
    )
    session.execute(stmt)


def settle_job(
    session: Session,
    job: Job,
    *,
    worker_id: str,
    now: dt.datetime,
    next_run: dt.datetime | None = None,
    payload: Mapping[str, Any] | None = None,
    attempts: int | None = None,
    error: str | None = None,
) -> None:
    """Finish ``job`` (``next_run`` None) or release it to run again at ``next_run``; not committed.

    ``payload`` replaces the job's payload, ``attempts`` its count of failed tries (default:
    unchanged), ``error`` the last error. Raise :class:`ClaimLost` when the worker no longer
    holds the job; the caller then rolls its transaction back.
    """
    values: dict[str, Any] = {"claimed_by": None, "claimed_at": None, "error": error}
    if next_run is None:
        # The claim is kept on a finished job: it tells who did it and when it started.
        values = {"done_at": now, "error": error}
    else:
        values["run_after"] = next_run
    if payload is not None:
        values["payload"] = dict(payload)
    if attempts is not None:
        values["attempts"] = attempts
    stmt = update(JOBS).where(JOBS.c.id == job.id, JOBS.c.claimed_by == worker_id).values(values)
    if rowcount(session.execute(stmt)) != 1:
        raise ClaimLost(f"job {job.id} is no longer held by {worker_id}")


def fail_job(
    session: Session,
    job: Job,
    *,
    worker_id: str,
    now: dt.datetime,
    error: str,
    base: dt.timedelta = BACKOFF_BASE,
    cap: dt.timedelta = BACKOFF_CAP,
) -> dt.datetime:
    """Record a failed try of ``job`` and release it to retry after the backoff; return when."""
    attempts = job.attempts + 1
    when = now + backoff(attempts, base=base, cap=cap)
    settle_job(
        session, job, worker_id=worker_id, now=now, next_run=when, attempts=attempts, error=error[:2000]
    )
    return when


def pending_jobs(session: Session, *, kind: str | None = None) -> list[JobRow]:
    """Return the jobs not yet done (of ``kind`` when given), by id."""
    stmt = select(JobRow).where(JobRow.done_at.is_(None))
    if kind is not None:
        stmt = stmt.where(JobRow.kind == kind)
    return list(session.scalars(stmt.order_by(JobRow.id)))


class JobRun:
    """What a job handler gets: the claimed job, the store, the clock and the environment.

    A handler does its slow work (network) first, then its writes inside :meth:`transaction`,
    calling :meth:`settle` there so its writes and the job's new state commit together. A
    handler that returns without settling has its job marked done; one that raises has the try
    counted and the job retried after the backoff.
    """

    def __init__(
        self,
        engine: Engine,
        job: Job,
        *,
        worker_id: str,
        now: dt.datetime,
        clock: Callable[[], dt.datetime],
        env: Mapping[str, str],
    ) -> None:
        self.engine = engine
        self.job = job
        self.worker_id = worker_id
        self.now = now
        self.clock = clock
        self.env = env
        self.settled = False

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session in a transaction, committed on success and rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def settle(
        self,
        session: Session,
        *,
        next_run: dt.datetime | None = None,
        payload: Mapping[str, Any] | None = None,
        attempts: int | None = None,
        error: str | None = None,
    ) -> None:
        """Finish the job or set its next run, in ``session``'s transaction (see :func:`settle_job`)."""
        settle_job(
            session,
            self.job,
            worker_id=self.worker_id,
            now=self.clock(),
            next_run=next_run,
            payload=payload,
            attempts=attempts,
            error=error,
        )
        self.settled = True


Handler = Callable[[JobRun], None]
"""A job kind's code; see :class:`JobRun`."""


@contextmanager
def keep_claimed(
    engine: Engine,
    table: Table,
    ids: list[int],
    *,
    worker_id: str,
    clock: Callable[[], dt.datetime],
    lease: dt.timedelta,
) -> Iterator[None]:
    """Renew the claims on ``ids`` every third of the lease while the block runs.

    A live worker keeps its rows however long the work takes; a dead one stops renewing, and
    its rows become claimable one lease after its last renewal.
    """
    if not ids:
        yield
        return
    stop = threading.Event()
    interval = max(lease.total_seconds() / 3, 0.05)

    def renew() -> None:
        while not stop.wait(interval):
            try:
                with engine.begin() as connection:
                    renew_claims(connection, table, ids, worker_id=worker_id, now=clock())
            except Exception as err:  # a missed renewal only shortens the lease; keep trying
                log.warning("claim.renew_failed", table=table.name, error=str(err))

    thread = threading.Thread(target=renew, name=f"renew-{table.name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
