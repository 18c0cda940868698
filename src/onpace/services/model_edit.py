"""Edit the stored model one object at a time (the web forms and the REST API write through here).

An edit replaces or adds one unit, person, objective, key result, KPI or dependency in the
current model, checks the whole result with the model file's own validator (so the app
accepts exactly what ``onpace load`` accepts: known units, owners, cycles, no feed cycles …),
then stores it with :func:`onpace.services.model_store.save_model` — the same store, the same
plan versioning and audit as a load. Nothing here commits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy.orm import Session

from onpace.domain.model import Dependency, Feed, KeyResult, Kpi, Model, Objective, Person, Unit
from onpace.errors import UserError
from onpace.modelfile.errors import ModelFileError
from onpace.modelfile.export import dump_model
from onpace.modelfile.load import parse_model_text
from onpace.services.model_store import SaveReport, save_model


class ModelEditError(UserError, ValueError):
    """The edited model is not valid; the message lists every problem."""


_Item = TypeVar("_Item", Unit, Person, Kpi, Dependency)


def _replace(items: Sequence[_Item], item: _Item) -> tuple[_Item, ...]:
    """Return ``items`` with the one of the same id replaced by ``item`` (or ``item`` appended)."""
    replaced = [item if existing.id == item.id else existing for existing in items]
    if not any(existing.id == item.id for existing in items):
        replaced.append(item)
    return tuple(replaced)


def with_unit(model: Model, unit: Unit) -> Model:
    """Return the model with ``unit`` added or replaced."""
    return dataclasses.replace(model, units=_replace(model.units, unit))


def with_person(model: Model, person: Person) -> Model:
    """Return the model with ``person`` added or replaced."""
    return dataclasses.replace(model, people=_replace(model.people, person))


def with_kpi(model: Model, kpi: Kpi) -> Model:
    """Return the model with ``kpi`` (its feeds included) added or replaced."""
    return dataclasses.replace(model, kpis=_replace(model.kpis, kpi))


def with_dependency(model: Model, dependency: Dependency) -> Model:
    """Return the model with ``dependency`` added or replaced."""
    return dataclasses.replace(model, dependencies=_replace(model.dependencies, dependency))


def with_objective(model: Model, objective: Objective) -> Model:
    """Return the model with ``objective`` added or replaced; a replaced one keeps its key results."""
    found = next((o for o in model.objectives if o.id == objective.id), None)
    if found is None:
        return dataclasses.replace(model, objectives=(*model.objectives, objective))
    kept = dataclasses.replace(objective, key_results=found.key_results)
    objectives = tuple(kept if o.id == objective.id else o for o in model.objectives)
    return dataclasses.replace(model, objectives=objectives)


def with_key_result(model: Model, kr: KeyResult) -> Model:
    """Return the model with ``kr`` added to (or replaced in) its objective, moved if it changed objective."""
    if not any(o.id == kr.objective for o in model.objectives):
        raise ModelEditError(f"there is no objective {kr.objective!r} for key result {kr.id!r}")
    objectives = []
    for objective in model.objectives:
        krs = [k for k in objective.key_results if k.id != kr.id or objective.id == kr.objective]
        if objective.id == kr.objective:
            if any(k.id == kr.id for k in krs):
                krs = [kr if k.id == kr.id else k for k in krs]
            else:
                krs.append(kr)
        objectives.append(dataclasses.replace(objective, key_results=tuple(krs)))
    return dataclasses.replace(model, objectives=tuple(objectives))


def with_feed_weight(model: Model, kpi_id: str, kr_id: str, weight: float | None, lag_days: int = 0) -> Model:
    """Return the model with the link ``kpi_id`` → ``kr_id`` set to ``weight`` (None removes it)."""
    kpi = next((k for k in model.kpis if k.id == kpi_id), None)
    if kpi is None:
        raise ModelEditError(f"there is no KPI {kpi_id!r}")
    feeds = [f for f in kpi.feeds if f.kr != kr_id]
    if weight is not None:
        feeds.append(Feed(kr=kr_id, weight=weight, lag_days=lag_days))
    return with_kpi(model, dataclasses.replace(kpi, feeds=tuple(feeds)))


def check_model(model: Model) -> Model:
    """Return the model as the model file reads it back; raise ModelEditError listing its problems."""
    try:
        return parse_model_text(dump_model(model), "model")
    except ModelFileError as exc:
        # Line numbers of generated text mean nothing to the person editing: keep the sentences.
        messages = list(dict.fromkeys(p.message for p in exc.problems))
        raise ModelEditError("the change makes the model invalid: " + "; ".join(messages)) from None


def save_edit(session: Session, org_id: int, edited: Model, *, by: str, now: dt.datetime) -> SaveReport:
    """Check ``edited`` and store it as the organisation's model; return what changed."""
    return save_model(session, check_model(edited), by=by, now=now, org_id=org_id)
