"""Re-baselines: a plan changed mid-cycle, on request, with a reason and someone else's approval.

A request names the subject (a KPI or KR), the new plan, the reason and the date from which it
applies (never in the past: a re-baseline changes the plan from then on). The owner's unit head
approves or rejects it — the next head up when the unit head is the one asking — or an admin
does. Approval adds a plan version (the old versions stay) and resolves the subject's open
variance case. :func:`rebaseline_stats` counts the goalpost shifts per cycle and unit, with
their size: the relative change of the end-of-cycle planned value. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onpace.domain import case_workflow
from onpace.domain.accountability import SubjectIndex
from onpace.domain.cycles import version_cycle
from onpace.domain.model import PHASINGS, Model, Plan
from onpace.errors import UserError
from onpace.services.audit import append_audit
from onpace.services.cases import governed_cases, record_events, save_case
from onpace.storage import codec
from onpace.storage.repositories import cases_repo
from onpace.storage.tables import PlanVersionRow, RebaselineRow


@dataclass(frozen=True)
class RebaselineStat:
    """Goalpost shifts of one cycle and unit: how many were approved and how big they were."""

    cycle: str | None
    unit: str | None
    count: int
    total_size: float
    largest_size: float


def plan_end_value(plan: Plan | None) -> float | None:
    """Return the value a plan aims at by the end of its cycle (target, per-bucket or last point)."""
    if plan is None:
        return None
    if plan.target is not None:
        return plan.target
    if plan.per_bucket is not None:
        return plan.per_bucket
    if plan.points:
        return max(plan.points)[1]
    return None


def shift_size(old: Plan | None, new: Plan | None) -> float | None:
    """Return the relative change of the end value from ``old`` to ``new`` (0.1 = 10 %), or None."""
    before, after = plan_end_value(old), plan_end_value(new)
    if before is None or after is None or before == 0:
        return None
    return (after - before) / abs(before)


PLAN_KEYS = ("baseline", "target", "phasing", "per_bucket")


def plan_from_text(text: str) -> Plan:
    """Return the plan written as ``key=value`` pairs, e.g. ``target=8000`` or ``per_bucket=85``.

    Keys: baseline, target, phasing (linear, front, back, step), per_bucket. Raise
    :class:`UserError` with the offending part for anything else.
    """
    values: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in PLAN_KEYS or not value.strip():
            raise UserError(
                f"cannot read {part!r} in the plan; write key=value with keys {', '.join(PLAN_KEYS)}"
            )
        values[key] = value.strip()
    numbers: dict[str, float] = {}
    for key in ("baseline", "target", "per_bucket"):
        if key in values:
            try:
                numbers[key] = float(values[key])
            except ValueError:
                raise UserError(f"plan {key} {values[key]!r} is not a number") from None
            if not math.isfinite(numbers[key]):
                raise UserError(f"plan {key} must be a finite number")
    phasing = values.get("phasing", "linear")
    if phasing not in PHASINGS:
        raise UserError(f"plan phasing {phasing!r} is not one of {', '.join(PHASINGS)}")
    if "per_bucket" in numbers:
        if "target" in numbers or "baseline" in numbers:
            raise UserError("a plan is either per_bucket or baseline/target, not both")
        return Plan(per_bucket=numbers["per_bucket"])
    if "target" not in numbers:
        raise UserError(
            "the plan needs a target (with an optional baseline and phasing) or a per_bucket value"
        )
    return Plan(baseline=numbers.get("baseline"), target=numbers["target"], phasing=phasing)


def _subject_plan(model: Model, subject: str) -> tuple[str, Plan | None]:
    """Return the level ('kpi' or 'kr') of a subject and its plan in the model."""
    kpi = next((k for k in model.kpis if k.id == subject), None)
    if kpi is not None:
        return "kpi", kpi.plan
    kr = next((k for k in model.key_results if k.id == subject), None)
    if kr is not None:
        return "kr", kr.plan
    raise UserError(f"{subject!r} is not a KPI or key result of the model")


def approver(model: Model, subject: str, requested_by: str, as_of: dt.date) -> str | None:
    """Return who approves a re-baseline of ``subject``: the owner's unit head, else the next head up.

    The requester never approves their own request: when they head the unit, the head of the
    parent unit approves, and so on up. None when no one is left (only an admin can decide).
    """
    info = SubjectIndex(model, as_of).get(subject)
    unit = model.unit(info.unit) if info else None
    seen: set[str] = set()
    while unit is not None and unit.id not in seen:
        seen.add(unit.id)
        if unit.head and unit.head != requested_by:
            return unit.head
        unit = model.unit(unit.parent)
    return None


def request_rebaseline(
    session: Session,
    org_id: int,
    model: Model,
    *,
    subject: str,
    plan: Plan,
    reason: str,
    effective: dt.date,
    by: str,
    now: dt.datetime,
) -> RebaselineRow:
    """Record a request to re-baseline ``subject``; refuse one without a reason or in the past."""
    level, _ = _subject_plan(model, subject)
    if not reason.strip():
        raise UserError("a re-baseline needs a reason")
    if effective < now.date():
        raise UserError(
            f"the effective date {effective} is in the past; a re-baseline changes the plan from today on"
        )
    open_variance = [
        c for c in cases_repo.open_cases(session, org_id) if c.subject == subject and c.family == "variance"
    ]
    row = RebaselineRow(
        org_id=org_id,
        subject=subject,
        subject_level=level,
        plan=codec.encode_plan(plan),
        reason=reason.strip(),
        effective=effective,
        requested_by=by,
        requested_at=now,
        status="requested",
        case_id=open_variance[0].id if open_variance else None,
    )
    session.add(row)
    session.flush()
    append_audit(
        session,
        org_id=org_id,
        at=now,
        actor=by,
        action="rebaseline.request",
        subject=subject,
        payload={"request": row.id, "plan": row.plan, "reason": row.reason, "effective": effective},
    )
    return row


def _pending(session: Session, org_id: int, request_id: int) -> RebaselineRow:
    row = session.get(RebaselineRow, request_id)
    if row is None or row.org_id != org_id:
        raise UserError(f"there is no re-baseline request {request_id}")
    if row.status != "requested":
        raise UserError(f"re-baseline request {request_id} was already {row.status}")
    return row


def _check_decider(model: Model, row: RebaselineRow, by: str, admin: bool, now: dt.datetime) -> None:
    if admin:
        return
    if by == row.requested_by:
        raise UserError("a re-baseline cannot be decided by the person who asked for it")
    expected = approver(model, row.subject, row.requested_by, now.date())
    if by != expected:
        who = expected or "an admin"
        raise UserError(
            f"{by} cannot decide this re-baseline; it is for {who} (the owner's unit head) or an admin"
        )


def approve_rebaseline(
    session: Session,
    org_id: int,
    model: Model,
    request_id: int,
    *,
    by: str,
    now: dt.datetime,
    admin: bool = False,
    note: str = "",
) -> PlanVersionRow:
    """Approve a request: add the plan version and resolve the subject's open variance case."""
    row = _pending(session, org_id, request_id)
    _check_decider(model, row, by, admin, now)
    latest = session.scalar(
        select(func.max(PlanVersionRow.version)).where(
            PlanVersionRow.org_id == org_id,
            PlanVersionRow.subject == row.subject,
            PlanVersionRow.subject_level == row.subject_level,
        )
    )
    version = PlanVersionRow(
        org_id=org_id,
        subject=row.subject,
        subject_level=row.subject_level,
        version=(latest or 0) + 1,
        effective=row.effective,
        plan=row.plan,
        reason=row.reason,
        requested_by=row.requested_by,
        approved_by=by,
        created_at=now,
        cycle=version_cycle(model, row.subject, row.subject_level, row.effective),
    )
    session.add(version)
    session.flush()
    row.status, row.decided_by, row.decided_at = "approved", by, now
    row.decision_note = note.strip() or None
    row.plan_version_id = version.id
    append_audit(
        session,
        org_id=org_id,
        at=now,
        actor=by,
        action="rebaseline.approve",
        subject=row.subject,
        payload={"request": row.id, "plan_version": version.version, "effective": row.effective},
    )
    for case in governed_cases(session, org_id):
        if case.is_open and case.family == "variance" and case.subject == row.subject:
            resolved, event = case_workflow.resolve_by_rebaseline(
                case, rebaseline=str(row.id), by=by, now=now
            )
            save_case(session, org_id, resolved, now=now, by=by)
            record_events(session, org_id, [event])
    return version


def reject_rebaseline(
    session: Session,
    org_id: int,
    model: Model,
    request_id: int,
    *,
    by: str,
    now: dt.datetime,
    admin: bool = False,
    note: str = "",
) -> RebaselineRow:
    """Reject a request; the plan stays as it is."""
    row = _pending(session, org_id, request_id)
    _check_decider(model, row, by, admin, now)
    row.status, row.decided_by, row.decided_at = "rejected", by, now
    row.decision_note = note.strip() or None
    append_audit(
        session,
        org_id=org_id,
        at=now,
        actor=by,
        action="rebaseline.reject",
        subject=row.subject,
        payload={"request": row.id, "note": row.decision_note},
    )
    session.flush()
    return row


def rebaseline_stats(session: Session, org_id: int, model: Model, as_of: dt.date) -> list[RebaselineStat]:
    """Return the approved re-baselines per cycle and unit: count, total and largest size.

    Size is the absolute relative change of the end-of-cycle planned value against the version
    it replaced; a shift whose size cannot be measured (no previous plan, a zero plan) counts
    with size 0.
    """
    rows = list(
        session.scalars(
            select(PlanVersionRow)
            .where(PlanVersionRow.org_id == org_id)
            .order_by(PlanVersionRow.subject_level, PlanVersionRow.subject, PlanVersionRow.version)
        )
    )
    approved = set(
        session.scalars(
            select(RebaselineRow.plan_version_id).where(
                RebaselineRow.org_id == org_id, RebaselineRow.status == "approved"
            )
        )
    )
    index = SubjectIndex(model, as_of)
    previous: dict[tuple[str, str], Plan | None] = {}
    sizes: dict[tuple[str | None, str | None], list[float]] = defaultdict(list)
    for row in rows:
        key = (row.subject_level, row.subject)
        plan = codec.decode_plan(row.plan) if row.plan is not None else None
        if row.id in approved:
            info = index.get(row.subject)
            size = shift_size(previous.get(key), plan)
            sizes[(info.cycle if info else None, info.unit if info else None)].append(abs(size or 0.0))
        previous[key] = plan
    return [
        RebaselineStat(cycle, unit, len(found), sum(found), max(found))
        for (cycle, unit), found in sorted(sizes.items(), key=lambda item: (str(item[0][0]), str(item[0][1])))
    ]
