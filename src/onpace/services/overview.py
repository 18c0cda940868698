"""The leaders' overview: the organisation in thirty seconds, from the same services as every page.

Counts of objectives, key results and KPIs by status; a heat map of objectives by unit and
perspective (each cell the worst status in it); the objectives with their status and trend;
the top risks of this week's review pack ranked by impact, with their owners; and what changed
since the last stored pack.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy.orm import Session

from onpace.domain.model import PERSPECTIVES, Model
from onpace.domain.review import Change, ReviewItem, ReviewPack, rank_items
from onpace.domain.review_merge import Summary, is_decision, summarise
from onpace.errors import UserError
from onpace.services import review as review_service
from onpace.services.read_models import Verdict, evaluated_as_of, latest_verdicts, trends

#: Statuses in the order the counts show them, worst first.
STATUS_ORDER = ("red", "at_risk", "amber", "green", "no_data", "unplanned")
_WORSE = {status: rank for rank, status in enumerate(reversed(STATUS_ORDER))}
TOP_RISKS = 5


@dataclass(frozen=True)
class Cell:
    """One unit × perspective cell: its objectives and the worst status among them."""

    status: str | None
    objectives: tuple[tuple[str, str], ...]  # (id, title)


@dataclass(frozen=True)
class ObjectiveLine:
    """An objective with its owner, status, attainment and recent trend."""

    id: str
    title: str
    owner: str | None
    unit: str | None
    status: str
    attainment: float | None
    trend: tuple[float, ...]
    direction: str  # "up", "down" or "flat" over the trend


@dataclass(frozen=True)
class Overview:
    """What a leader sees first."""

    as_of: dt.date | None
    counts: dict[str, dict[str, int]]  # level → status → count
    units: tuple[tuple[str, str], ...]
    perspectives: tuple[str, ...]
    heat: dict[tuple[str, str], Cell]
    objectives: tuple[ObjectiveLine, ...]
    risks: tuple[ReviewItem, ...]
    changes: tuple[Change, ...]
    previous_as_of: dt.date | None
    summary: Summary | None


def _status(verdict: Verdict | None) -> str:
    return verdict.effective_status if verdict is not None else "no_data"


def _worst(statuses: list[str]) -> str | None:
    return max(statuses, key=lambda s: _WORSE.get(s, 0)) if statuses else None


def _direction(values: list[float]) -> str:
    if len(values) < 2 or abs(values[-1] - values[-2]) < 1e-9:
        return "flat"
    return "up" if values[-1] > values[-2] else "down"


def overview(session: Session, org_id: int, model: Model, *, now: dt.datetime) -> Overview:
    """Return the overview of the organisation as of its latest evaluation."""
    verdicts = latest_verdicts(session, org_id)
    as_of = evaluated_as_of(verdicts)
    names = {p.id: p.name for p in model.people}
    levels = {
        "objective": [o.id for o in model.objectives],
        "kr": [kr.id for kr in model.key_results],
        "kpi": [k.id for k in model.kpis],
    }
    counts = {
        level: dict(Counter(_status(verdicts.get(s)) for s in subjects)) for level, subjects in levels.items()
    }
    used = [p for p in PERSPECTIVES if any(o.perspective == p for o in model.objectives)]
    perspectives = (*used, "none") if any(o.perspective is None for o in model.objectives) else tuple(used)
    units = tuple((u.id, u.name) for u in model.units if any(o.unit == u.id for o in model.objectives))
    heat: dict[tuple[str, str], Cell] = {}
    for unit, _ in units:
        for perspective in perspectives:
            inside = [
                o for o in model.objectives if o.unit == unit and (o.perspective or "none") == perspective
            ]
            heat[(unit, perspective)] = Cell(
                _worst([_status(verdicts.get(o.id)) for o in inside]), tuple((o.id, o.title) for o in inside)
            )
    history = trends(session, org_id, as_of) if as_of is not None else {}
    objectives = tuple(
        ObjectiveLine(
            id=o.id,
            title=o.title,
            owner=names.get(o.owner or "", o.owner),
            unit=next((u.name for u in model.units if u.id == o.unit), o.unit),
            status=_status(verdicts.get(o.id)),
            attainment=verdicts[o.id].attainment if o.id in verdicts else None,
            trend=tuple(history.get(o.id, ())),
            direction=_direction(history.get(o.id, [])),
        )
        for o in sorted(model.objectives, key=lambda o: -_WORSE.get(_status(verdicts.get(o.id)), 0))
    )
    pack: ReviewPack | None
    try:
        pack = review_service.build_pack(session, org_id, now=now)
    except UserError:  # nothing evaluated yet
        pack = None
    risks: tuple[ReviewItem, ...] = ()
    if pack is not None:
        ranked = rank_items(i for i in pack.items if is_decision(i) and i.section != "rebaselines")
        # One line per subject: a second case on it (a mirage beside a breach) adds no new risk.
        first = {i.subject: i for i in reversed(ranked)}
        risks = tuple(i for i in ranked if first[i.subject] is i)[:TOP_RISKS]
    return Overview(
        as_of=as_of,
        counts=counts,
        units=units,
        perspectives=perspectives,
        heat=heat,
        objectives=objectives,
        risks=risks,
        changes=pack.changes if pack is not None else (),
        previous_as_of=pack.previous_as_of if pack is not None else None,
        summary=summarise(pack) if pack is not None else None,
    )
