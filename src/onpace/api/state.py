"""The app's shared state: settings, the store's engine and session factory, and the model cache.

Loading the model from the store is a dozen queries; the pages and API need it on nearly
every request, so it is cached per organisation under a fingerprint of the model tables
(latest ``updated_at`` of each, latest plan version id). Any writer — this app, another app
process, or ``onpace load`` — changes the fingerprint, so the cache is never stale.
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
from onpace.services.model_store import load_model
from onpace.storage import tables as t

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
FINGERPRINT_TTL = 1.0
"""Seconds a process trusts its last look at the store's fingerprints.

Within that second, a change made by another process (``onpace load``, a worker, another app
process) is not yet seen; a change made through this process is seen at once (its commit
forgets the fingerprints). It spares every request two queries over the model and evaluations.
"""


@dataclass
class AppState:
    """What every request handler reaches through ``request.app.state.onpace``."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    _models: dict[int, tuple[tuple[Any, ...], Model]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _views: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = field(default_factory=dict)
    _fingerprints: dict[int, tuple[float, tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=dict)

    def fingerprints(self, session: Session, org_id: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """Return the model and evaluations fingerprints, re-read at most once per ``FINGERPRINT_TTL``."""
        clock = time.monotonic()
        with self._lock:
            seen = self._fingerprints.get(org_id)
        if seen is not None and clock - seen[0] < FINGERPRINT_TTL:
            return seen[1], seen[2]
        found = (model_fingerprint(session, org_id), evaluations_fingerprint(session, org_id))
        with self._lock:
            self._fingerprints[org_id] = (clock, *found)
        return found

    def forget(self) -> None:
        """Drop the remembered fingerprints: this process just changed the store."""
        with self._lock:
            self._fingerprints.clear()

    def view(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...], build: Callable[[], _V]) -> _V:
        """Return the view cached under ``key`` while ``fingerprint`` holds, else build and keep it.

        Views are what every reader sees alike (a scorecard fragment, a serialised list); the
        fingerprint names the store state they were built from, so a write anywhere rebuilds them.
        """
        with self._lock:
            cached = self._views.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cast(_V, cached[1])
        value = build()
        with self._lock:
            if len(self._views) >= CACHE_ENTRIES:
                self._views.pop(next(iter(self._views)))
            self._views[key] = (fingerprint, value)
        return value

    def model(self, session: Session, org_id: int) -> Model:
        """Return the organisation's model, from the cache while the store has not changed."""
        fingerprint = self.fingerprints(session, org_id)[0]
        with self._lock:
            cached = self._models.get(org_id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        org = session.get(t.OrgRow, org_id)
        model = load_model(session, org.name if org is not None else None)
        with self._lock:
            self._models[org_id] = (fingerprint, model)
        return model
