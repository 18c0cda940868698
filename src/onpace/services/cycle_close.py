"""Close a cycle: grade its KRs and objectives, freeze them, carry forward what the org decides.

Closing cycle C (after its end) evaluates the store as of C's last day and writes one
``cycle_grades`` row per KR and objective of C (final status, attainment, figures and the owner's
latest retrospective note). From then on evaluations leave C's objectives out (their grades
stand) and no evaluation dated inside C alone is stored again. Open cases on C's KRs and
objectives are carried into the next cycle or resolved, and KPIs with no plan in the next cycle
take their plan of C or stay unplanned — each as the caller says: when something needs a decision
and none was given, the close is refused with the list, never decided silently.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.domain import case_workflow
from onpace.domain.calendar import kpi_cycles
from onpace.domain.cases import Case
from onpace.domain.cycles import kpi_cycles_in_force, plan_in_cycle
from onpace.domain.model import Cycle, Model
from onpace.errors import UserError
from onpace.services.audit import append_audit
from onpace.services.cases import governed_cases, record_events, save_case
from onpace.services.cycle_state import closed_cycles
from onpace.services.evaluate_service import evaluate_store
from onpace.storage import codec
from onpace.storage.repositories import cycles_repo, model_repo
from onpace.storage.tables import CycleCloseRow, CycleGradeRow, CycleRow, PlanVersionRow, RetroNoteRow


@dataclass(frozen=True)
class CarryOver:
    """What the organisation decided to carry into the next cycle.

    ``cases``: "all", "none", or the ids of the open cases to carry (the others are resolved);
    None when not decided. ``krs``: the unfinished KRs carried (to be planned in the next cycle);
    ``drop_unfinished`` says the others are let go. ``plans``: "all", "none" or the KPIs whose
    plan of the closed cycle carries into the next one where it has none; None when not decided.
    """

    cases: str | Sequence[int] | None = None
    krs: Sequence[str] = ()
    drop_unfinished: bool = False
    plans: str | Sequence[str] | None = None


@dataclass(frozen=True)
class CloseReport:
    """What a close did: the grades, the cases carried and resolved, the plans carried."""

    cycle: str
    next_cycle: str
    grades: tuple[CycleGradeRow, ...]
    carried_cases: tuple[int, ...]
    resolved_cases: tuple[int, ...]
    carried_krs: tuple[str, ...]
    carried_plans: tuple[str, ...]


def _cycle(model: Model, cycle_id: str) -> Cycle:
    found = model.cycle_of(cycle_id)
    if found is None:
        known = ", ".join(c.id for c in model.cycles) or "none"
        raise UserError(f"there is no cycle {cycle_id!r} (cycles: {known})")
    return found


def _next_cycle(  # noqa: PLR0917 - private helper
    session: Session, org_id: int, model: Model, cycle: Cycle, next_id: str | None, now: dt.datetime
) -> Cycle:
    """Return the cycle that follows: the one named, the first starting after, or a new one."""
    if next_id is not None and model.cycle_of(next_id) is not None:
        return _cycle(model, next_id)
    later = sorted((c for c in model.cycles if c.start > cycle.start), key=lambda c: (c.start, c.id))
    if next_id is None:
        if later:
            return later[0]
        raise UserError(
            f"no cycle follows {cycle.id}; name the one to open with --next (it starts on "
            f"{cycle.end + dt.timedelta(days=1)} and lasts as long as {cycle.id})"
        )
    start = cycle.end + dt.timedelta(days=1)
    opened = Cycle(next_id, start, start + (cycle.end - cycle.start))
    position = len(model.cycles)
    session.add(
        CycleRow(
            org_id=org_id,
            id=opened.id,
            position=position,
            starts_on=opened.start,
            ends_on=opened.end,
            created_at=now,
            updated_at=now,
        )
    )
    return opened


def _subjects(model: Model, cycle: Cycle) -> list[tuple[str, str, str | None]]:
    """Return (subject, level, owner) of every KR and objective of the cycle, objectives first."""
    found: list[tuple[str, str, str | None]] = []
    for obj in model.objectives:
        if obj.cycle == cycle.id:
            found.append((obj.id, "objective", obj.owner))
            found.extend((kr.id, "kr", kr.owner) for kr in obj.key_results)
    return found


def _latest_notes(session: Session, org_id: int, cycle: str) -> dict[str, RetroNoteRow]:
    return {row.subject: row for row in cycles_repo.note_rows(session, org_id, cycle)}


def _pick(decision: str | Sequence[int] | Sequence[str], candidates: Collection[object]) -> set[object]:
    if decision == "all":
        return set(candidates)
    if decision == "none":
        return set()
    return set(decision)


def close_cycle(
    session: Session,
    org_id: int,
    model: Model,
    cycle_id: str,
    *,
    carry: CarryOver,
    by: str,
    now: dt.datetime,
    next_id: str | None = None,
) -> CloseReport:
    """Close ``cycle_id``: grade, freeze, carry forward as decided, open the next cycle (not committed).

    Raise :class:`UserError` when the cycle is unknown, already closed or not over yet, or when a
    decision is needed (open cases, unfinished KRs, KPIs without a plan next cycle) and missing.
    """
    cycle = _cycle(model, cycle_id)
    if cycle.id in closed_cycles(session, org_id):
        raise UserError(f"cycle {cycle.id} is already closed")
    if now.date() <= cycle.end:
        raise UserError(f"cycle {cycle.id} runs until {cycle.end}; close it once it is over")
    following = _next_cycle(session, org_id, model, cycle, next_id, now)
    subjects = _subjects(model, cycle)
    ids = {s for s, _, _ in subjects}
    evaluation = evaluate_store(session, org_id, model, cycle.end, now=now, store=False)
    results = evaluation.results
    open_cases = [c for c in governed_cases(session, org_id) if c.is_open and c.subject in ids]
    unfinished = [s for s, level, _ in subjects if level == "kr" and _unfinished(results.get(s))]
    unknown_krs = sorted(set(carry.krs) - {s for s, level, _ in subjects if level == "kr"})
    if unknown_krs:
        raise UserError(f"{', '.join(unknown_krs)} is not a key result of cycle {cycle.id}")
    homes = kpi_cycles(model)
    in_next = kpi_cycles_in_force(model, following.start)
    plannable = [
        k.id
        for k in model.kpis
        if plan_in_cycle(k, following, homes.get(k.id)) is None
        and in_next.get(k.id) in (None, following)
        and plan_in_cycle(k, cycle, homes.get(k.id)) is not None
        and not _planned_in_store(session, org_id, k.id, following.id)
    ]
    if not isinstance(carry.cases, str | None):
        stray_cases = sorted({int(n) for n in carry.cases} - {c.id for c in open_cases if c.id is not None})
        if stray_cases:
            raise UserError(
                f"case {', '.join(f'#{n}' for n in stray_cases)} is not an open case on a KR or objective "
                f"of {cycle.id}"
            )
    if not isinstance(carry.plans, str | None):
        strays = sorted({str(k) for k in carry.plans} - set(plannable))
        if strays:
            raise UserError(
                f"{', '.join(map(str, strays))}: not a KPI planned in {cycle.id} without a plan in {following.id}"
            )
    missing: list[str] = []
    if open_cases and carry.cases is None:
        listed = ", ".join(f"#{c.id} {c.subject} {c.kind}" for c in open_cases)
        missing.append(f"open cases on its KRs and objectives ({listed}): --carry-cases all, none or ids")
    left = [kr for kr in unfinished if kr not in carry.krs]
    if left and not carry.drop_unfinished:
        missing.append(
            f"unfinished KRs ({', '.join(left)}): --carry-kr ID for each to carry, or --drop-unfinished"
        )
    if plannable and carry.plans is None:
        missing.append(
            f"KPIs with no plan in {following.id} ({', '.join(plannable)}): --carry-plans all, none or ids"
        )
    if missing:
        raise UserError(f"closing {cycle.id} needs a decision on " + "; and on ".join(missing))

    notes = _latest_notes(session, org_id, cycle.id)
    grades = []
    for subject, level, _owner in subjects:
        found = results.get(subject)
        note = notes.get(subject)
        row = CycleGradeRow(
            org_id=org_id,
            cycle=cycle.id,
            subject=subject,
            subject_level=level,
            status=found.effective_status if found else "no_data",
            attainment=found.attainment if found else None,
            plan_to_date=found.plan_to_date if found else None,
            actual_to_date=found.actual_to_date if found else None,
            note=note.text if note else None,
            note_by=note.written_by if note else None,
            carried_to=following.id if subject in carry.krs else None,
            graded_at=now,
        )
        session.add(row)
        grades.append(row)

    carried_cases = _pick(carry.cases or "none", [c.id for c in open_cases])
    kept, resolved = _settle_cases(session, org_id, open_cases, carried_cases, cycle, following, by, now)
    chosen = _pick(carry.plans or "none", plannable)
    carried_plans = [k for k in plannable if k in chosen]
    for kpi in model.kpis:
        if kpi.id in carried_plans:
            plan = plan_in_cycle(kpi, cycle, homes.get(kpi.id))
            assert plan is not None
            _carry_plan(
                session, org_id, kpi.id, plan_document=codec.encode_plan(plan), to=following, by=by, now=now
            )
    decided = {
        "cases": sorted(kept),
        "resolved_cases": sorted(resolved),
        "krs": list(carry.krs),
        "dropped_krs": [kr for kr in unfinished if kr not in carry.krs],
        "plans": carried_plans,
    }
    session.add(
        CycleCloseRow(
            org_id=org_id,
            cycle=cycle.id,
            next_cycle=following.id,
            as_of=cycle.end,
            carry=decided,
            closed_by=by,
            closed_at=now,
        )
    )
    append_audit(
        session,
        org_id=org_id,
        at=now,
        actor=by,
        action="cycle.closed",
        subject=cycle.id,
        payload={"next": following.id, **decided},
    )
    session.flush()
    return CloseReport(
        cycle.id,
        following.id,
        tuple(grades),
        tuple(sorted(kept)),
        tuple(sorted(resolved)),
        tuple(carry.krs),
        tuple(carried_plans),
    )


def _unfinished(result: object) -> bool:
    status = getattr(result, "effective_status", None)
    return status != "green"


def _planned_in_store(session: Session, org_id: int, kpi: str, cycle: str) -> bool:
    return (
        session.scalar(
            select(PlanVersionRow.id)
            .where(
                PlanVersionRow.org_id == org_id,
                PlanVersionRow.subject_level == "kpi",
                PlanVersionRow.subject == kpi,
                PlanVersionRow.cycle == cycle,
            )
            .limit(1)
        )
        is not None
    )


def _carry_plan(
    session: Session, org_id: int, kpi: str, *, plan_document: object, to: Cycle, by: str, now: dt.datetime
) -> None:
    rows = [
        r
        for r in model_repo.plan_version_rows(session, org_id)
        if r.subject_level == "kpi" and r.subject == kpi
    ]
    session.add(
        PlanVersionRow(
            org_id=org_id,
            subject=kpi,
            subject_level="kpi",
            version=max((r.version for r in rows), default=0) + 1,
            effective=to.start,
            plan=plan_document,
            reason="carried over at the close of the cycle before",
            requested_by=by,
            approved_by=by,
            created_at=now,
            cycle=to.id,
        )
    )


def _settle_cases(  # noqa: PLR0917 - private helper; the decision is passed explicitly
    session: Session,
    org_id: int,
    cases: Sequence[Case],
    carried: Collection[object],
    cycle: Cycle,
    following: Cycle,
    by: str,
    now: dt.datetime,
) -> tuple[list[int], list[int]]:
    """Carry the chosen open cases into the next cycle (with a comment) and resolve the others."""
    kept: list[int] = []
    resolved: list[int] = []
    for case in cases:
        assert case.id is not None
        if case.id in carried:
            moved = dataclasses.replace(case, cycle=following.id)
            step = case_workflow.comment(
                moved, text=f"carried into {following.id} at the close of {cycle.id}", by=by, now=now
            )
            kept.append(case.id)
        else:
            step = case_workflow.close(
                case, by=by, now=now, note=f"{cycle.id} closed; not carried forward", reason="cycle_closed"
            )
            resolved.append(case.id)
        updated, event = step
        saved = save_case(session, org_id, updated, now=now, by=by)
        record_events(session, org_id, [dataclasses.replace(event, case_id=saved.id)])
    return kept, resolved
