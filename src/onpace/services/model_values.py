"""Turn the model's items into the column values their rows store (one function per collection)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from onpace.domain.model import (
    Cycle,
    Dependency,
    Initiative,
    KeyResult,
    Kpi,
    NotifyRoute,
    Objective,
    Person,
    Source,
    Unit,
)
from onpace.storage import codec

Values = dict[str, Any]


def unit_values(unit: Unit) -> Values:
    """Return the column values of a unit."""
    return {"name": unit.name, "parent": unit.parent, "head": unit.head}


def person_values(person: Person) -> Values:
    """Return the column values of a person."""
    return {"name": person.name, "email": person.email, "unit": person.unit}


def cycle_values(cycle: Cycle) -> Values:
    """Return the column values of a cycle."""
    return {"starts_on": cycle.start, "ends_on": cycle.end}


def objective_values(objective: Objective) -> Values:
    """Return the column values of an objective."""
    return {
        "title": objective.title,
        "cycle": objective.cycle,
        "unit": objective.unit,
        "owner": objective.owner,
        "perspective": objective.perspective,
    }


def kr_values(kr: KeyResult, objective_id: str) -> Values:
    """Return the column values of a key result (under its objective)."""
    return {
        "objective_id": objective_id,
        "title": kr.title,
        "owner": kr.owner,
        "weight": float(kr.weight),
        "kpi": kr.kpi,
        "measure": kr.measure,
        "direction": kr.direction,
        "grain": kr.grain,
        "aggregate": kr.aggregate,
        "tolerance": None if kr.tolerance is None else codec.encode_tolerance(kr.tolerance),
    }


def kpi_values(kpi: Kpi) -> Values:
    """Return the column values of a KPI (owners, feeds and plans are stored apart)."""
    return {
        "title": kpi.title,
        "unit": kpi.unit,
        "measure": kpi.measure,
        "direction": kpi.direction,
        "grain": kpi.grain,
        "aggregate": kpi.aggregate,
        "tolerance": None if kpi.tolerance is None else codec.encode_tolerance(kpi.tolerance),
        "source": kpi.source,
        "leading": kpi.leading,
        "formula": kpi.formula,
        "kind": kpi.kind,
        "is_constraint": kpi.constraint,
        "uom": kpi.uom,
        "cycle": kpi.cycle,
    }


def initiative_values(initiative: Initiative) -> Values:
    """Return the column values of an initiative."""
    return {
        "title": initiative.title,
        "owner": initiative.owner,
        "unit": initiative.unit,
        "supports": list(initiative.supports),
        "cost": initiative.cost,
        "capacity": initiative.capacity,
    }


def dependency_values(dependency: Dependency, recorded_delivery: dt.date | None) -> Values:
    """Return the column values of a dependency (keeping a delivery recorded in the app)."""
    return {
        "title": dependency.title,
        "provider_unit": dependency.provider.unit,
        "provider_owner": dependency.provider.owner,
        "consumer_unit": dependency.consumer.unit,
        "consumer_owner": dependency.consumer.owner,
        "due": dependency.due,
        "delivered": dependency.delivered or recorded_delivery,
        "kpi": dependency.kpi,
        "blocks": list(dependency.blocks),
    }


def source_values(source: Source) -> Values:
    """Return the column values of a source."""
    return {
        "kind": source.kind,
        "every_seconds": None if source.every is None else source.every.total_seconds(),
        "options": codec.encode_options(source.options, f"source {source.id!r}"),
    }


def route_values(route: NotifyRoute) -> Values:
    """Return the column values of a notification route."""
    return {
        "url": route.url,
        "units": list(route.units),
        "people": list(route.people),
        "events": list(route.events),
        "digest": route.digest,
        "secret": route.secret,
    }
