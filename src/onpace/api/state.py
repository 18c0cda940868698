"""The app's shared state: settings, the store's engine and session factory, and the model cache.

Loading the model from the store is a dozen queries; the pages and API need it on nearly
every request, so it is cached per organisation under a fingerprint of the model tables
(latest ``updated_at`` of each, latest plan version id). Any writer — this app, another app
process, or ``onpace load`` — changes the fingerprint, so the cache is never stale.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from onpace.config import Settings
from onpace.domain.model import Model
from onpace.services.model_store import load_model
from onpace.storage import tables as t


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


@dataclass
class AppState:
    """What every request handler reaches through ``request.app.state.onpace``."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    _models: dict[int, tuple[tuple[Any, ...], Model]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def model(self, session: Session, org_id: int) -> Model:
        """Return the organisation's model, from the cache while the store has not changed."""
        fingerprint = model_fingerprint(session, org_id)
        with self._lock:
            cached = self._models.get(org_id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        org = session.get(t.OrgRow, org_id)
        model = load_model(session, org.name if org is not None else None)
        with self._lock:
            self._models[org_id] = (fingerprint, model)
        return model
