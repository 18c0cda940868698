"""Keep an organisation's evaluation inputs between evaluations: read again only what changed.

A worker evaluates an organisation after every write of actuals. Reading the model, its plan
versions and the points of the cycles in force from the store was most of an evaluation's
cost, and between two evaluations a push changes a few points of a few metrics. So a worker
keeps, per organisation, a :class:`Snapshot`: those inputs, as of one date, at one *store
version* (the organisation's audit sequence, see :func:`onpace.services.pull.store_version`).

The audit log says what changed since: every ingest run (push, CLI, pull, drop folder, manual
entry, correction) appends ``actuals.ingested`` naming its run, and every change to the model,
its plans or its cycles appends a row of its own. On the next evaluation:

- same version and date: the snapshot, and the evaluation made from it, are used as they are;
- only ingest runs (and rows that cannot change an evaluation: cases, check-ins, channels,
  accounts) since: the metrics those runs wrote are found through their run ids, and only those
  metrics' points in force are read again and put in place of the kept ones;
- anything else (model, plan, cycle changes, another date, an audit row not understood):
  everything is read again.

A process that keeps no snapshot yet reads the points from the store's cache of the window
(:mod:`onpace.services.points_cache`), brought up to date the same way; evaluations that store
their verdicts write that cache again when it lags.

The engine then runs on the snapshot exactly as on a fresh read, so the evaluation is the one a
full read gives (``tests/services/test_evaluation_snapshot.py`` checks it on random changes).
A snapshot lives in one process; it is never trusted without checking the store's version, so
any number of workers may keep one each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import cached_property

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.domain.components import components, evaluate_changed
from onpace.domain.engine import Evaluation, evaluate_model
from onpace.domain.model import Model, PlanVersion
from onpace.domain.read_window import evaluation_metrics, evaluation_window
from onpace.services.cycle_state import closed_cycles
from onpace.services.model_store import load_model, plan_versions
from onpace.services.points_cache import (
    NO_CACHE,
    WindowPoints,
    changed_runs,
    keep_window_points,
    metrics_of_runs,
    read_window_points,
    replace_metrics,
    same_store,
    store_head,
)
from onpace.storage.tables import OrgRow


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What an evaluation of one organisation as of one date reads, at one store version."""

    org_id: int
    as_of: dt.date
    version: int
    head: str  # the hash of the audit row at ``version``: tells this store from any other
    model: Model
    versions: Mapping[str, Sequence[PlanVersion]]
    closed: frozenset[str]
    since: dt.date
    metrics: frozenset[str] | None
    window: WindowPoints  # the points, and the store's cache of them
    refreshed: str  # how it was last brought up to date: "full" or "runs"
    parts: dict[str, str]  # the model's components (``domain.components``)
    base: Evaluation | None = None  # an earlier evaluation, before the points of ``changed`` changed
    changed: frozenset[str] = frozenset()

    @property
    def points(self) -> pl.DataFrame:
        """Return the points in force the evaluation reads (dated up to ``as_of``)."""
        return self.window.points

    @cached_property
    def evaluation(self) -> Evaluation:
        """Return the engine's evaluation of the snapshot (made on first use, then kept).

        From an earlier evaluation, only the components that read the changed metrics are
        evaluated again (``domain.components``); the result is the same.
        """
        if self.base is None:
            return evaluate_model(self.model, self.points, self.as_of, self.versions, self.closed)
        return evaluate_changed(
            self.model,
            self.parts,
            self.base,
            self.changed,
            points=self.points,
            plan_versions=self.versions,
            closed=self.closed,
        )


def read_snapshot(session: Session, org_id: int, as_of: dt.date, head: tuple[int, str]) -> Snapshot:
    """Read everything an evaluation of the organisation as of ``as_of`` needs from the store.

    The points come from the store's cache of the window when it can be brought up to date
    (:mod:`onpace.services.points_cache`).
    """
    org = session.get(OrgRow, org_id)
    if org is None:
        raise LookupError(f"there is no organisation {org_id}")
    model = load_model(session, org.name)
    since = evaluation_window(model, as_of)
    metrics = evaluation_metrics(model)
    window = read_window_points(session, org_id, as_of=as_of, since=since, metrics=metrics, head=head)
    return Snapshot(
        org_id=org_id,
        as_of=as_of,
        version=head[0],
        head=head[1],
        model=model,
        versions=plan_versions(session, org_id),
        closed=closed_cycles(session, org_id),
        since=since,
        metrics=metrics,
        window=window,
        refreshed="full",
        parts=components(model),
    )


def _same_store(session: Session, kept: Snapshot) -> bool:
    """Say whether the store still holds the audit row the snapshot was read at (same store, same past)."""
    return same_store(session, kept.org_id, kept.version, kept.head)


def refresh(session: Session, kept: Snapshot | None, org_id: int, as_of: dt.date) -> Snapshot:
    """Return the snapshot of the store as it is, from ``kept`` when it can be brought up to date."""
    head = store_head(session, org_id)
    version = head[0]
    if (
        kept is None
        or kept.org_id != org_id
        or kept.as_of != as_of
        or kept.version == 0
        or kept.version > version
        or not _same_store(session, kept)
    ):
        return read_snapshot(session, org_id, as_of, head)
    if kept.version == version:
        return kept  # its evaluation, once made, is kept with it
    runs = changed_runs(session, org_id, kept.version, version)
    if runs is None:
        return read_snapshot(session, org_id, as_of, head)
    changed = metrics_of_runs(session, runs)
    if kept.metrics is not None:
        changed &= kept.metrics
    dated = replace_metrics(session, org_id, kept.window.dated, changed, since=kept.since)
    behind = min(NO_CACHE, kept.window.behind + len(runs))
    window = WindowPoints(dated, as_of, kept.window.key, version, head[1], behind)
    made = kept.__dict__.get("evaluation")  # the kept evaluation, if it was made
    base, before = (made, frozenset()) if made is not None else (kept.base, kept.changed)
    return dataclasses.replace(
        kept,
        version=version,
        head=head[1],
        window=window,
        refreshed="runs",
        base=base,
        changed=before | changed,
    )


class SnapshotCache:
    """The snapshots one process keeps, one per organisation (the least recently used go first)."""

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._items: OrderedDict[int, Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, org_id: object) -> bool:
        """Say whether the cache keeps a snapshot of the organisation."""
        with self._lock:
            return org_id in self._items

    @property
    def size(self) -> int:
        """Return how many organisations the cache keeps."""
        return self._size

    def snapshot(self, session: Session, org_id: int, as_of: dt.date) -> Snapshot:
        """Return the organisation's snapshot of the store as ``session`` sees it, and keep it."""
        with self._lock:
            kept = self._items.pop(org_id, None)
        current = refresh(session, kept, org_id, as_of)
        with self._lock:
            self._items[org_id] = current
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return current

    def keep_points(self, session: Session, org_id: int, *, now: dt.datetime) -> bool:
        """Write the kept snapshot's points to the store's cache when it lags; say whether it wrote.

        So a process that has read nothing yet starts from them (:mod:`onpace.services.points_cache`).
        Not committed: the caller's transaction writes them with its verdicts.
        """
        with self._lock:
            kept = self._items.get(org_id)
        if kept is None:
            return False
        if not keep_window_points(session, org_id, kept.window, now=now):
            return False
        with self._lock:
            if self._items.get(org_id) is kept:
                kept_window = dataclasses.replace(kept.window, behind=0)
                self._items[org_id] = dataclasses.replace(kept, window=kept_window)
        return True

    def current_model(self, session: Session, org_id: int) -> Model:
        """Return the organisation's model: the kept one while only ingest runs and cases changed since.

        The outbox dispatcher needs the model (routes, people, units) for every batch it
        delivers; reading a model of thousands of KPIs again each time took seconds.
        """
        with self._lock:
            kept = self._items.get(org_id)
        if kept is not None and _same_store(session, kept):
            head = store_head(session, org_id)
            if head[0] == kept.version or changed_runs(session, org_id, kept.version, head[0]) is not None:
                return kept.model
        org = session.get(OrgRow, org_id)
        if org is None:
            raise LookupError(f"there is no organisation {org_id}")
        return load_model(session, org.name)

    def clear(self) -> None:
        """Forget every snapshot."""
        with self._lock:
            self._items.clear()


#: The snapshots of this process's worker loop.
WORKER_SNAPSHOTS = SnapshotCache()


def organisations_to_keep(session: Session, cache: SnapshotCache = WORKER_SNAPSHOTS) -> list[int]:
    """Return the organisations a starting worker reads ahead: the first ones, as many as it keeps."""
    return list(session.scalars(select(OrgRow.id).order_by(OrgRow.id).limit(cache.size)))
