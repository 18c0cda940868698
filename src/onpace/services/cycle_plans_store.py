"""Keep a KPI's plans per cycle and its plan history in the store, and give them back for export.

``plans:`` items of the model file become plan versions tagged with their cycle (the first one
effective from the cycle's start); a dated item (``from:``) is a re-baseline carried in the file
and becomes a version effective that day. :func:`model_with_plan_history` turns the stored
versions back into ``plan:`` + ``plans:`` so that load → export → load into a fresh store keeps
every version with its effective date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

from sqlalchemy.orm import Session

from onpace.domain.calendar import kpi_cycles
from onpace.domain.model import Cycle, CyclePlan, Kpi, Model, Plan
from onpace.storage import codec
from onpace.storage.repositories import model_repo
from onpace.storage.repositories.model_repo import FILE_REBASELINE
from onpace.storage.tables import PlanVersionRow


def sync_cycle_plans(session: Session, org_id: int, model: Model, *, by: str, now: dt.datetime) -> int:
    """Add the plan versions the model's ``plans:`` items call for; return how many were added.

    An undated item plans its cycle: it is version 1 of that cycle from the cycle's start, and a
    later change of the item adds a version effective ``now`` (kept inside the cycle). A dated
    item is added once, effective its date; the home cycle's dated items are stored untagged,
    like the re-baselines of ``plan:``. Saving the same model twice adds nothing.
    """
    cycles = {c.id: c for c in model.cycles}
    homes = kpi_cycles(model)
    subjects = [("kpi", k.id, k.plans, homes.get(k.id)) for k in model.kpis if k.plans]
    subjects += [
        ("kr", kr.id, kr.plans, cycles.get(o.cycle))
        for o in model.objectives
        for kr in o.key_results
        if kr.plans
    ]
    if not subjects:
        return 0
    by_subject: dict[tuple[str, str], list[PlanVersionRow]] = defaultdict(list)
    for row in model_repo.plan_version_rows(session, org_id):
        by_subject[(row.subject_level, row.subject)].append(row)
    next_version = {key: max(r.version for r in found) + 1 for key, found in by_subject.items()}
    added = 0
    for level, subject, items, home in subjects:
        key = (level, subject)
        for entry in items:
            cycle = cycles.get(entry.cycle)
            if cycle is None:
                continue
            tag = None if home is not None and home.id == cycle.id and entry.effective else cycle.id
            fields = _wanted_row(by_subject[key], entry, cycle, tag, now)
            if fields is None:
                continue
            version = next_version.get(key, 1)
            next_version[key] = version + 1
            stored = PlanVersionRow(
                org_id=org_id,
                subject=subject,
                subject_level=level,
                version=version,
                requested_by=by,
                approved_by=by,
                created_at=now,
                cycle=tag,
                **fields,
            )
            session.add(stored)
            by_subject[key].append(stored)
            added += 1
    return added


def _wanted_row(
    held: list[PlanVersionRow], entry: CyclePlan, cycle: Cycle, tag: str | None, now: dt.datetime
) -> dict[str, object] | None:
    """Return the fields of the version an item needs, or None when the store already has it."""
    document = codec.encode_plan(entry.plan)
    same_cycle = [r for r in held if r.cycle == tag]
    if entry.effective is not None:
        if any(r.effective == entry.effective and r.plan == document for r in same_cycle):
            return None
        return {"effective": entry.effective, "plan": document, "reason": FILE_REBASELINE}
    from_file = [r for r in same_cycle if r.reason != FILE_REBASELINE]
    if not from_file:
        return {"effective": cycle.start, "plan": document, "reason": "initial plan"}
    latest = max(same_cycle, key=lambda r: r.version)
    last_loaded = max(from_file, key=lambda r: r.version)
    if document in (latest.plan, last_loaded.plan):
        return None
    effective = min(max(now.date(), cycle.start), cycle.end)
    return {"effective": effective, "plan": document, "reason": "plan changed in the model"}


def stored_cycle_plans(session: Session, org_id: int) -> dict[str, tuple[CyclePlan, ...]]:
    """Return each KPI's current plan per cycle other than its home (the latest tagged version)."""
    latest: dict[tuple[str, str], PlanVersionRow] = {}
    for row in model_repo.plan_version_rows(session, org_id):
        if row.subject_level != "kpi" or row.cycle is None:
            continue
        key = (row.subject, row.cycle)
        if key not in latest or row.version > latest[key].version:
            latest[key] = row
    found: dict[str, list[CyclePlan]] = defaultdict(list)
    for (subject, cycle), row in sorted(latest.items()):
        if row.plan is not None:
            found[subject].append(CyclePlan(cycle, codec.decode_plan(row.plan)))
    return {subject: tuple(plans) for subject, plans in found.items()}


def model_with_plan_history(session: Session, org_id: int, model: Model) -> Model:
    """Return ``model`` with each KPI's and KR's stored plan history as ``plan:`` and ``plans:``.

    Per cycle, the first version is the cycle's plan and every later one a dated item effective
    its day. A subject whose plan was once removed keeps the model's current plan as it is.
    """
    homes = kpi_cycles(model)
    history: dict[tuple[str, str], dict[str | None, list[PlanVersionRow]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in model_repo.plan_version_rows(session, org_id):
        history[(row.subject_level, row.subject)][row.cycle].append(row)
    kpis: list[Kpi] = []
    for kpi in model.kpis:
        home = homes.get(kpi.id)
        written = _written(history.get(("kpi", kpi.id)), kpi.plan, home.id if home else None)
        kpis.append(kpi if written is None else dataclasses.replace(kpi, plan=written[0], plans=written[1]))
    objectives = []
    for objective in model.objectives:
        krs = []
        for kr in objective.key_results:
            written = _written(history.get(("kr", kr.id)), kr.plan, objective.cycle)
            krs.append(kr if written is None else dataclasses.replace(kr, plan=written[0], plans=written[1]))
        objectives.append(dataclasses.replace(objective, key_results=tuple(krs)))
    return dataclasses.replace(model, kpis=tuple(kpis), objectives=tuple(objectives))


def _written(
    per_cycle: dict[str | None, list[PlanVersionRow]] | None, plan: Plan | None, home: str | None
) -> tuple[Plan | None, tuple[CyclePlan, ...]] | None:
    """Return a subject's ``plan`` and ``plans`` from its versions, or None to leave it as it is."""
    if not per_cycle or any(r.plan is None for found in per_cycle.values() for r in found):
        return None
    items: list[CyclePlan] = []
    for tag, found in sorted(per_cycle.items(), key=lambda item: item[0] or ""):
        # Of several versions effective the same day, the highest is the one in force.
        dated = {r.effective: r for r in sorted(found, key=lambda r: (r.effective, r.version))}
        ordered = [dated[day] for day in sorted(dated)]
        first = _plan_of(ordered[0])
        cycle = tag or home
        if tag is None:
            plan = first
        elif cycle is not None:
            items.append(CyclePlan(cycle, first))
        if cycle is None:
            continue
        items.extend(CyclePlan(cycle, _plan_of(r), r.effective) for r in ordered[1:])
    return plan, tuple(items)


def _plan_of(row: PlanVersionRow) -> Plan:
    if row.plan is None:  # the caller leaves out subjects whose plan was removed
        raise ValueError(f"plan version {row.version} of {row.subject} removed the plan")
    return codec.decode_plan(row.plan)
