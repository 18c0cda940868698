"""Look at one cycle: its frozen grades once closed, else its KRs and objectives as of a date.

This serves ``onpace cycle show`` and the scorecard's ``?cycle=``: a past cycle is seen as it
was graded, a running one as of the day, an ended one not yet closed as of its last day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from onpace.domain.engine import evaluate_model
from onpace.domain.model import Cycle, Model
from onpace.domain.results import SubjectResult
from onpace.errors import UserError
from onpace.services.cycle_state import closed_cycles
from onpace.services.model_store import plan_versions
from onpace.storage.repositories import cycles_repo, evaluations_repo, points_repo


@dataclass(frozen=True)
class ViewRow:
    """One KR or objective of the cycle as shown."""

    subject: str
    level: str
    status: str
    attainment: float | None
    plan_to_date: float | None
    actual_to_date: float | None
    note: str | None = None
    carried_to: str | None = None


@dataclass(frozen=True)
class CycleView:
    """A cycle's KRs and objectives: ``state`` closed (grades) or running/ended/upcoming (verdicts)."""

    cycle: str
    state: str
    as_of: dt.date
    rows: tuple[ViewRow, ...]
    results: dict[str, SubjectResult]


def find_cycle(model: Model, cycle_id: str) -> Cycle:
    """Return the cycle with this id, or raise UserError naming the known ones."""
    found = model.cycle_of(cycle_id)
    if found is None:
        known = ", ".join(c.id for c in model.cycles) or "none"
        raise UserError(f"there is no cycle {cycle_id!r} (cycles: {known})")
    return found


def cycle_end(model: Model, cycle_id: str | None) -> dt.date | None:
    """Return the last day of a cycle (a past cycle is shown as it stood then), None for no cycle."""
    found = model.cycle_of(cycle_id) if cycle_id else None
    return found.end if found is not None else None


def cycle_view(session: Session, org_id: int, model: Model, cycle_id: str, today: dt.date) -> CycleView:
    """Return the view of ``cycle_id`` as of ``today`` (clipped to the cycle)."""
    cycle = find_cycle(model, cycle_id)
    closed = closed_cycles(session, org_id)
    notes = {n.subject: n.text for n in cycles_repo.note_rows(session, org_id, cycle.id)}
    if cycle.id in closed:
        rows = tuple(
            ViewRow(
                g.subject,
                g.subject_level,
                g.status,
                g.attainment,
                g.plan_to_date,
                g.actual_to_date,
                g.note,
                g.carried_to,
            )
            for g in cycles_repo.grade_rows(session, org_id, cycle.id)
        )
        return CycleView(cycle.id, "closed", cycle.end, rows, {})
    as_of = min(max(today, cycle.start), cycle.end)
    state = "upcoming" if today < cycle.start else "running" if today <= cycle.end else "ended"
    points = points_repo.points_frame(session, org_id, as_of)
    evaluation = evaluate_model(model, points, as_of, plan_versions(session, org_id), closed)
    results = evaluation.results
    rows_list: list[ViewRow] = []
    for objective in model.objectives:
        if objective.cycle != cycle.id:
            continue
        for subject, level in [(objective.id, "objective"), *((kr.id, "kr") for kr in objective.key_results)]:
            found = results.get(subject)
            if found is None:
                continue
            rows_list.append(
                ViewRow(
                    subject,
                    level,
                    found.effective_status,
                    found.attainment,
                    found.plan_to_date,
                    found.actual_to_date,
                    notes.get(subject),
                )
            )
    return CycleView(cycle.id, state, as_of, tuple(rows_list), results)


@dataclass(frozen=True)
class CyclePoint:
    """A subject's standing at the end of one cycle (or as of today in the running one)."""

    cycle: str
    status: str
    attainment: float | None
    graded: bool


def cycle_trend(
    session: Session, org_id: int, model: Model, subject: str, today: dt.date
) -> list[CyclePoint]:
    """Return a KPI's or KR's attainment cycle after cycle: its grade, else its last verdict in the cycle.

    One read per cycle started so far (a handful a year); cycles without a verdict are left out.
    """
    graded = {g.cycle: g for g in cycles_repo.grade_rows(session, org_id) if g.subject == subject}
    found: list[CyclePoint] = []
    for cycle in sorted(model.cycles, key=lambda c: (c.start, c.id)):
        if cycle.start > today:
            continue
        grade = graded.get(cycle.id)
        if grade is not None:
            found.append(CyclePoint(cycle.id, grade.status, grade.attainment, True))
            continue
        rows = evaluations_repo.latest_evaluations(session, org_id, min(cycle.end, today), subjects=[subject])
        row = next((r for r in rows if r.as_of >= cycle.start), None)
        if row is not None:
            status = "at_risk" if row.at_risk and row.status in ("green", "amber") else row.status
            found.append(CyclePoint(cycle.id, status, row.attainment, False))
    return found
