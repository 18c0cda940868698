"""Read the dependency map: units as nodes, hand-offs between them as edges coloured by status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from onpace.domain.model import Dependency, Model
from onpace.services.read_models import Verdict, evaluated_as_of, latest_verdicts


@dataclass(frozen=True)
class HandOff:
    """A dependency drawn as an edge: provider unit → consumer unit, with its status."""

    dependency: Dependency
    status: str  # delivered | late | at_risk (health KPI not green) | on_track


def hand_off_status(dependency: Dependency, as_of: dt.date, verdicts: Mapping[str, Verdict]) -> str:
    """Return a hand-off's status as of a date: delivered, late, at_risk or on_track."""
    if dependency.delivered is not None and dependency.delivered <= as_of:
        health = verdicts.get(dependency.kpi) if dependency.kpi else None
        return "at_risk" if health and health.effective_status in ("red", "at_risk") else "delivered"
    if as_of > dependency.due:
        return "late"
    health = verdicts.get(dependency.kpi) if dependency.kpi else None
    if health and health.effective_status in ("amber", "red", "at_risk"):
        return "at_risk"
    return "on_track"


def dependency_map(session: Session, org_id: int, model: Model, *, today: dt.date) -> dict[str, Any]:
    """Return the dependency graph for ECharts: units as nodes, hand-offs as coloured edges."""
    verdicts = latest_verdicts(session, org_id)
    as_of = evaluated_as_of(verdicts) or today
    edges = [HandOff(d, hand_off_status(d, as_of, verdicts)) for d in model.dependencies]
    involved = {e.dependency.provider.unit for e in edges} | {e.dependency.consumer.unit for e in edges}
    return {
        "as_of": as_of.isoformat(),
        "nodes": [{"id": u.id, "name": u.name, "involved": u.id in involved} for u in model.units],
        "edges": [
            {
                "id": e.dependency.id,
                "source": e.dependency.provider.unit,
                "target": e.dependency.consumer.unit,
                "title": e.dependency.title,
                "due": e.dependency.due.isoformat(),
                "delivered": e.dependency.delivered.isoformat() if e.dependency.delivered else None,
                "kpi": e.dependency.kpi,
                "status": e.status,
            }
            for e in edges
        ],
    }
