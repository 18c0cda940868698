"""The objective and initiative pages: "are we going to make it, and why", from the stored verdicts.

An objective shows its key results (weight, status, attainment, chance of target, what
threatens them), the KPIs that feed them, the initiatives that support them, its open cases and
its check-ins. An initiative shows its spend and capacity against plan, and for each key result
it supports whether it is starved and what progress costs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from onpace.domain.cases import Case
from onpace.domain.checkins import CheckIn
from onpace.domain.model import Initiative, Model, Objective
from onpace.services.cases import list_cases
from onpace.services.checkins import checkins_as_of
from onpace.services.evaluate_service import evaluate_store
from onpace.services.read_models import Verdict, evaluated_as_of, latest_verdicts, trends
from onpace.storage.repositories import evaluations_repo


@dataclass(frozen=True)
class KrLine:
    """A key result of an objective with its figures and the KPIs feeding it (title, weight, status)."""

    id: str
    title: str
    owner: str | None
    weight: float
    verdict: Verdict | None
    feeds: tuple[tuple[str, str, float, str | None], ...]  # (kpi id, title, weight, status)
    threatened_by: tuple[str, ...]  # KPI titles


@dataclass(frozen=True)
class ObjectivePage:
    """Everything the objective page shows."""

    objective: Objective
    owner: str | None
    unit: str | None
    as_of: dt.date | None
    verdict: Verdict | None
    trend: tuple[float, ...]
    key_results: tuple[KrLine, ...]
    initiatives: tuple[Initiative, ...]
    cases: tuple[Case, ...]
    checkins: tuple[CheckIn, ...]
    names: dict[str, str]


def objective_page(session: Session, org_id: int, model: Model, objective_id: str) -> ObjectivePage | None:
    """Return the page of ``objective_id``, or None when the model has no such objective."""
    objective = next((o for o in model.objectives if o.id == objective_id), None)
    if objective is None:
        return None
    names = {p.id: p.name for p in model.people}
    titles = {k.id: k.title for k in model.kpis}
    krs = [kr.id for kr in objective.key_results]
    feeds = {kr: [(k.id, f.weight) for k in model.kpis for f in k.feeds if f.kr == kr] for kr in krs}
    wanted = [objective.id, *krs, *(k for pairs in feeds.values() for k, _ in pairs)]
    verdicts = latest_verdicts(session, org_id, subjects=wanted)
    as_of = evaluated_as_of(verdicts)
    history = trends(session, org_id, as_of) if as_of is not None else {}
    total = sum(kr.weight for kr in objective.key_results) or 1.0

    def status(subject: str) -> str | None:
        found = verdicts.get(subject)
        return found.effective_status if found is not None else None

    lines = tuple(
        KrLine(
            id=kr.id,
            title=kr.title,
            owner=names.get(kr.owner or "", kr.owner),
            weight=kr.weight / total,
            verdict=verdicts.get(kr.id),
            feeds=tuple(
                (k, titles.get(k, k), float(w), status(k))
                for k, w in sorted(feeds[kr.id], key=lambda p: -float(p[1]))
            ),
            threatened_by=tuple(
                titles.get(k, k) for k in (verdicts[kr.id].threatened_by if kr.id in verdicts else ())
            ),
        )
        for kr in objective.key_results
    )
    subjects = {objective.id, *krs}
    cases = tuple(c for c in list_cases(session, org_id, open_only=True) if c.subject in subjects)
    day = as_of or dt.date.max
    checkins = tuple(
        sorted(
            (c for c in checkins_as_of(session, org_id, day) if c.subject in subjects),
            key=lambda c: c.date,
            reverse=True,
        )
    )
    return ObjectivePage(
        objective=objective,
        owner=names.get(objective.owner or "", objective.owner),
        unit=next((u.name for u in model.units if u.id == objective.unit), objective.unit),
        as_of=as_of,
        verdict=verdicts.get(objective.id),
        trend=tuple(history.get(objective.id, ())),
        key_results=lines,
        initiatives=tuple(i for i in model.initiatives if set(i.supports) & set(krs)),
        cases=cases,
        checkins=checkins,
        names=names,
    )


@dataclass(frozen=True)
class InitiativePage:
    """Everything the initiative page shows: its resources against plan, per supported key result."""

    initiative: Initiative
    owner: str | None
    unit: str | None
    as_of: dt.date | None
    titles: dict[str, str]
    rows: list[dict[str, Any]]


def initiative_page(
    session: Session, org_id: int, model: Model, initiative_id: str, *, now: dt.datetime
) -> InitiativePage | None:
    """Return the page of ``initiative_id`` (evaluated as of the latest run), or None when unknown."""
    initiative = next((i for i in model.initiatives if i.id == initiative_id), None)
    if initiative is None:
        return None
    as_of = evaluations_repo.latest_as_of(session, org_id)
    rows: list[dict[str, Any]] = []
    if as_of is not None:
        evaluation = evaluate_store(session, org_id, model, as_of, now=now, store=False)
        rows = evaluation.resources.filter(evaluation.resources["initiative"] == initiative.id).to_dicts()
    titles = {k.id: k.title for k in model.kpis} | {kr.id: kr.title for kr in model.key_results}
    names = {p.id: p.name for p in model.people}
    return InitiativePage(
        initiative=initiative,
        owner=names.get(initiative.owner or "", initiative.owner),
        unit=next((u.name for u in model.units if u.id == initiative.unit), initiative.unit),
        as_of=as_of,
        titles=titles,
        rows=rows,
    )
