"""Read the points of an evaluation window from the store's cache, and keep that cache current.

An evaluation reads the points in force of the cycles it judges. Read row by row, they were the
largest cost of a process that had read nothing yet: 630,000 points took over a second at
10,000 KPIs. So the store keeps, per organisation, the points of one window as compressed Arrow
columns at one *store version* (the organisation's audit sequence and that row's hash,
:func:`store_head`); see :class:`~onpace.storage.tables.PointsCacheRow`. A window starts where
the cycles in force need their points from (:func:`onpace.domain.read_window.evaluation_window`)
and holds later dates too, so one cache serves every day of those cycles.

The audit log says what changed since: every ingest run (push, CLI, pull, drop folder, manual
entry, correction) appends ``actuals.ingested`` naming its run, and every approval or rejection
of manual points appends ``actuals.approved`` or ``actuals.rejected`` naming theirs; other
changes that cannot alter an evaluation's points (cases, check-ins, channels, accounts) are
skipped; anything else (the model, plans, cycles) or an audit row not understood makes the cache
unusable. A usable cache is
brought up to date by reading again only the points of the metrics the runs since wrote, so the
points returned are always the ones a full read gives (``tests/services/test_evaluation_snapshot.py``).

The cache is rewritten by evaluations that store their verdicts, when it is missing, holds
another window, or lags by more than :data:`KEEP_AFTER_RUNS` ingest runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Collection, Sequence
from functools import cached_property

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.storage.repositories import points_cache_repo, points_repo
from onpace.storage.tables import AuditRow, PointRow

INGESTED = "actuals.ingested"

#: Decisions on manual entries (:mod:`onpace.services.manual_approval`): they change the points
#: in force of the runs they name (``runs``), as an ingest run changes its own.
DECIDED = ("actuals.approved", "actuals.rejected")

#: Audit actions that cannot change an evaluation (prefixes): cases and their events, check-ins
#: (governance reads them itself), delivery channels, accounts and sign-ins.
UNRELATED = ("case.", "checkin.", "channel.", "token_", "user_", "login_")

#: Runs named in one query (SQLite binds at most 32,766 values in a statement).
RUN_CHUNK = 10_000

#: Ingest runs a cache may lag before an evaluation that stores its verdicts writes it again:
#: applying them costs a cold reader one audit query and a read of the metrics they wrote.
KEEP_AFTER_RUNS = 200

#: ``behind`` of points read without a usable cache: always written again.
NO_CACHE = 1 << 62


@dataclasses.dataclass(frozen=True)
class WindowPoints:
    """The points in force of one evaluation window, at one store version.

    ``dated`` holds every point dated on or after the window's start, later than ``as_of`` too,
    so the cache of a window serves every date of it; ``points`` are those dated up to ``as_of``.
    """

    dated: pl.DataFrame
    as_of: dt.date
    key: str
    version: int
    head: str
    behind: int  # ingest runs since the stored cache (NO_CACHE when it was not usable)

    @cached_property
    def points(self) -> pl.DataFrame:
        """Return the points dated up to the as-of date (sorted by metric, date, source)."""
        return self.dated.filter(pl.col("date") <= self.as_of)


def store_head(session: Session, org_id: int) -> tuple[int, str]:
    """Return the organisation's store version (its latest audit sequence) and that row's hash."""
    row = session.execute(
        select(AuditRow.seq, AuditRow.hash)
        .where(AuditRow.org_id == org_id)
        .order_by(AuditRow.seq.desc())
        .limit(1)
    ).first()
    return (0, "") if row is None else (int(row[0]), str(row[1]))


def same_store(session: Session, org_id: int, version: int, head: str) -> bool:
    """Say whether the store still holds the audit row ``version`` with hash ``head`` (same past)."""
    found = session.scalar(select(AuditRow.hash).where(AuditRow.seq == version, AuditRow.org_id == org_id))
    return found is not None and found == head


def changed_runs(session: Session, org_id: int, after: int, upto: int) -> list[int] | None:
    """Return the ingest runs audited between two store versions, or None if anything else changed.

    None means the model, its plans or cycles may have changed (or an audit row this module does
    not know): the caller reads everything again.
    """
    rows = session.execute(
        select(AuditRow.action, AuditRow.payload).where(
            AuditRow.org_id == org_id, AuditRow.seq > after, AuditRow.seq <= upto
        )
    ).all()
    runs: list[int] = []
    for action, payload in rows:
        if action == INGESTED and isinstance(payload, dict) and isinstance(payload.get("run_id"), int):
            runs.append(payload["run_id"])
        elif action in DECIDED and isinstance(payload, dict) and _run_list(payload.get("runs")):
            runs.extend(payload["runs"])
        elif not action.startswith(UNRELATED):
            return None
    return runs


def _run_list(value: object) -> bool:
    """Say whether an audit payload's ``runs`` is a list of run ids."""
    return isinstance(value, list) and all(isinstance(run, int) for run in value)


def metrics_of_runs(session: Session, runs: Sequence[int]) -> set[str]:
    """Return the metrics the given ingest runs wrote points for (by the points' run index).

    Run ids are unique across organisations, so the runs alone name the points: a condition on
    the organisation would let the store walk the organisation's points instead of the index.
    """
    found: set[str] = set()
    ordered = sorted(set(runs))
    for start in range(0, len(ordered), RUN_CHUNK):
        chunk = ordered[start : start + RUN_CHUNK]
        found |= set(session.scalars(select(PointRow.metric).where(PointRow.run_id.in_(chunk)).distinct()))
    return found


def replace_metrics(
    session: Session, org_id: int, dated: pl.DataFrame, changed: Collection[str], *, since: dt.date
) -> pl.DataFrame:
    """Return ``dated`` (a window's points, see :class:`WindowPoints`) with the ``changed`` metrics read again."""
    if not changed:
        return dated
    fresh = points_repo.points_frame(session, org_id, since=since, metrics=changed)
    # Both frames are sorted by metric, date, source and share no metric: merging them by
    # metric keeps that order without sorting every kept point again.
    others = dated.filter(~pl.col("metric").is_in(sorted(changed)))
    return others.merge_sorted(fresh.select(others.columns), key="metric")


def window_key(since: dt.date, metrics: Collection[str] | None) -> str:
    """Name a window: its first date and the metrics it reads (every metric when None)."""
    named = "*" if metrics is None else "\n".join(sorted(metrics))
    return hashlib.sha256(f"{since}|{named}".encode()).hexdigest()


def read_window_points(
    session: Session,
    org_id: int,
    *,
    as_of: dt.date,
    since: dt.date,
    metrics: Collection[str] | None,
    head: tuple[int, str] | None = None,
) -> WindowPoints:
    """Return the points in force of the window as of the store's ``head``, from the cache when it can."""
    version, head_hash = head if head is not None else store_head(session, org_id)
    key = window_key(since, metrics)
    found = points_cache_repo.mark(session, org_id)
    if (
        found is not None
        and found.key == key
        and 0 < found.version <= version
        and same_store(session, org_id, found.version, found.head)
    ):
        runs = changed_runs(session, org_id, found.version, version)
        cached = (
            points_cache_repo.points(session, org_id, points_repo.POINTS_SCHEMA) if runs is not None else None
        )
        if runs is not None and cached is not None:
            changed = metrics_of_runs(session, runs)
            if metrics is not None:
                changed &= set(metrics)
            dated = replace_metrics(session, org_id, cached, changed, since=since)
            return WindowPoints(dated, as_of, key, version, head_hash, behind=len(runs))
    dated = points_repo.points_frame(session, org_id, since=since, metrics=metrics)
    return WindowPoints(dated, as_of, key, version, head_hash, behind=NO_CACHE)


def keep_window_points(session: Session, org_id: int, window: WindowPoints, *, now: dt.datetime) -> bool:
    """Write the window's points to the store's cache when it lags too far; say whether it wrote.

    Not committed: the caller's transaction writes it with the verdicts.
    """
    if window.behind <= KEEP_AFTER_RUNS or window.version == 0:
        return False
    points_cache_repo.write(
        session,
        org_id,
        key=window.key,
        version=window.version,
        head=window.head,
        frame=window.dated,
        now=now,
    )
    return True
