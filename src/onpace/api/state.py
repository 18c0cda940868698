"""The app's shared state: settings, the store's engine and session factory, and its caches.

Loading the model from the store is a dozen queries; the pages and API need it on nearly
every request, so it is cached per organisation under a fingerprint of the model tables
(latest ``updated_at`` of each, latest plan version id). Any writer — this app, another app
process, or ``onpace load`` — changes the fingerprint, so the cache is never stale.

Views that every reader sees alike (the scorecard's rows, the KPI list's JSON) are cached under
both fingerprints, and who a session or token belongs to is remembered briefly. While the
fingerprints are fresh (``FINGERPRINT_TTL``), a request for a cached view needs neither a query
nor a worker thread: it is answered on the event loop from memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from onpace.config import Settings
from onpace.domain.model import Model
from onpace.services.auth import Principal
from onpace.services.model_store import load_model
from onpace.storage import tables as t
from onpace.storage.db import writing

_V = TypeVar("_V")


def model_fingerprint(session: Session, org_id: int) -> tuple[Any, ...]:
    """Return values that change whenever the organisation's model or plans change (one query)."""
    parts = [
        select(func.max(table.updated_at)).where(table.org_id == org_id).scalar_subquery()
        for table in (
            t.UnitRow,
            t.PersonRow,
            t.CycleRow,
            t.ObjectiveRow,
            t.KeyResultRow,
            t.KpiRow,
            t.DependencyRow,
            t.InitiativeRow,
            t.PolicyRow,
            t.FeedRow,
        )
    ]
    # Owner rows carry no timestamp: their count and extreme ids catch additions and swaps.
    owners = t.KpiOwnerRow
    counts = [
        select(aggregate).where(owners.org_id == org_id).scalar_subquery()
        for aggregate in (func.count(), func.min(owners.person_id), func.max(owners.person_id))
    ]
    plans = select(func.max(t.PlanVersionRow.id)).where(t.PlanVersionRow.org_id == org_id).scalar_subquery()
    org = select(t.OrgRow.updated_at).where(t.OrgRow.id == org_id).scalar_subquery()
    row = session.execute(select(*parts, *counts, plans, org)).one()
    return tuple(row)


def evaluations_fingerprint(session: Session, org_id: int) -> tuple[Any, ...]:
    """Return values that change whenever the organisation's stored evaluations change (one query)."""
    table = t.EvaluationRow
    row = session.execute(select(func.max(table.id), func.count()).where(table.org_id == org_id)).one()
    return tuple(row)


CACHE_ENTRIES = 256
PRINCIPAL_ENTRIES = 4096
FINGERPRINT_TTL = 1.0
"""Seconds a process trusts its last look at the store's fingerprints and at who a visitor is.

Within that second, a change made by another process (``onpace load``, a worker, another app
process, ``onpace user …``) is not yet seen; a change made through this process is seen at once
(its commit forgets what was remembered). It spares every request the queries that would check.
"""

Fingerprints = tuple[tuple[Any, ...], tuple[Any, ...]]
"""The model fingerprint and the evaluations fingerprint of one organisation."""


@dataclass(frozen=True)
class _Seen:
    read_at: float
    fingerprints: Fingerprints


@dataclass
class AppState:
    """What every request handler reaches through ``request.app.state.onpace``.

    Everything remembered here is per process and guarded by one lock: request handlers run on
    the event loop and on worker threads at once.
    """

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    _models: dict[int, tuple[tuple[Any, ...], Model]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _views: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = field(default_factory=dict)
    _fingerprints: dict[int, _Seen] = field(default_factory=dict)
    _refreshing: set[int] = field(default_factory=set)
    _principals: dict[str, tuple[float, Principal]] = field(default_factory=dict)
    _builders: dict[tuple[Any, ...], threading.Lock] = field(default_factory=dict)
    _generation: int = 0

    def fingerprints(self, session: Session, org_id: int) -> Fingerprints:
        """Return the model and evaluations fingerprints, re-read at most once per ``FINGERPRINT_TTL``."""
        clock = time.monotonic()
        with self._lock:
            seen = self._fingerprints.get(org_id)
            generation = self._generation
        if seen is not None and clock - seen.read_at < FINGERPRINT_TTL:
            return seen.fingerprints
        try:
            found = (model_fingerprint(session, org_id), evaluations_fingerprint(session, org_id))
        finally:
            with self._lock:
                self._refreshing.discard(org_id)
        with self._lock:
            # A commit in this process while we read means what we read may predate it: do not
            # let it pass for fresh.
            if generation == self._generation:
                self._fingerprints[org_id] = _Seen(clock, found)
        return found

    def remembered_fingerprints(self, org_id: int) -> Fingerprints | None:
        """Return the fingerprints while they may be trusted without a query, else None.

        They are trusted for ``FINGERPRINT_TTL`` seconds after they were read, and up to twice
        that while another request is already re-reading them, so that a crowd of requests
        arriving as they expire sends one query rather than one each. The caller that gets None
        must re-read them through :meth:`fingerprints`.
        """
        clock = time.monotonic()
        with self._lock:
            seen = self._fingerprints.get(org_id)
            if seen is None:
                return None
            age = clock - seen.read_at
            if age < FINGERPRINT_TTL or (age < 2 * FINGERPRINT_TTL and org_id in self._refreshing):
                return seen.fingerprints
            self._refreshing.add(org_id)
            return None

    def writing_session(self) -> Session:
        """Return a store session for work that reads then writes outside a request's context.

        On SQLite its transaction takes the write lock at ``BEGIN``, so it queues behind a busy
        worker (up to the busy timeout) instead of failing when it comes to write.
        """
        return self.sessions(bind=writing(self.engine))

    def forget(self) -> None:
        """Drop the remembered fingerprints and visitors: this process just changed the store."""
        with self._lock:
            self._fingerprints.clear()
            self._refreshing.clear()
            self._principals.clear()
            self._generation += 1

    def generation(self) -> int:
        """Return a number that changes each time this process forgets what it remembered."""
        with self._lock:
            return self._generation

    def principal(self, key: str) -> Principal | None:
        """Return who ``key`` (a session's user id or a token's digest) was found to be, if still trusted.

        None when this process has not looked within ``FINGERPRINT_TTL`` seconds.
        """
        with self._lock:
            seen = self._principals.get(key)
        if seen is None or time.monotonic() - seen[0] >= FINGERPRINT_TTL:
            return None
        return seen[1]

    def remember_principal(self, key: str, principal: Principal, *, since: int, read_at: float) -> None:
        """Remember who ``key`` is, as read at ``read_at`` (monotonic) in generation ``since``."""
        with self._lock:
            if since != self._generation:
                return
            if len(self._principals) >= PRINCIPAL_ENTRIES:
                self._principals.clear()
            self._principals[key] = (read_at, principal)

    def cached_view(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...]) -> Any | None:
        """Return the view kept under ``key`` if it was built from ``fingerprint``, else None."""
        with self._lock:
            cached = self._views.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        return None

    def view(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...], build: Callable[[], _V]) -> _V:
        """Return the view cached under ``key`` while ``fingerprint`` holds, else build and keep it.

        Views are what every reader sees alike (a scorecard fragment, a serialised list); the
        fingerprint names the store state they were built from, so a write anywhere rebuilds them.
        """
        found = self.cached_view(key, fingerprint)
        if found is not None:
            return cast(_V, found)
        # One thread builds; the others that asked at the same time wait and take its result
        # rather than each building the same view at once.
        with self._builder(("view", *key)):
            found = self.cached_view(key, fingerprint)
            if found is not None:
                return cast(_V, found)
            value = build()
            with self._lock:
                if key not in self._views and len(self._views) >= CACHE_ENTRIES:
                    evicted = next(iter(self._views))
                    self._views.pop(evicted)
                    self._builders.pop(("view", *evicted), None)
                self._views[key] = (fingerprint, value)
        return value

    def model(self, session: Session, org_id: int) -> Model:
        """Return the organisation's model, from the cache while the store has not changed."""
        fingerprint = self.fingerprints(session, org_id)[0]
        with self._lock:
            cached = self._models.get(org_id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        with self._builder(("model", org_id)):
            with self._lock:
                cached = self._models.get(org_id)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
            org = session.get(t.OrgRow, org_id)
            model = load_model(session, org.name if org is not None else None)
            with self._lock:
                self._models[org_id] = (fingerprint, model)
        return model

    def _builder(self, key: tuple[Any, ...]) -> threading.Lock:
        """Return the lock held while the value under ``key`` is being built."""
        with self._lock:
            return self._builders.setdefault(key, threading.Lock())
