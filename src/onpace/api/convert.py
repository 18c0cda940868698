"""Turn service values and stored rows into response bodies."""

from __future__ import annotations

from onpace.api import schemas as s
from onpace.domain.cases import Case
from onpace.storage.tables import CaseEventRow, CheckinRow, EvaluationRow, RebaselineRow


def case_out(case: Case) -> s.CaseOut:
    """Return the response body of a case."""
    assert case.id is not None
    return s.CaseOut(
        id=case.id,
        subject=case.subject,
        subject_level=case.subject_level,
        family=case.family,
        kind=case.kind,
        state=case.state,
        owner=case.owner,
        holder=case.holder,
        level=case.rung,
        participants=list(case.participants),
        joint_review=case.joint_review,
        opened_at=case.opened_at,
        explain_due=case.explain_due,
        act_due=case.act_due,
        explained_at=case.explained_at,
        acted_at=case.acted_at,
        resolved_at=case.resolved_at,
        severity=case.severity,
        actions=[
            s.ActionOut(id=a.id, title=a.title, owner=a.owner, due=a.due, done_at=a.done_at)
            for a in case.actions
        ],
    )


def event_out(row: CaseEventRow) -> s.CaseEventOut:
    """Return the response body of a case event."""
    return s.CaseEventOut(at=row.at, event=row.event, actor=row.actor, detail=dict(row.detail or {}))


def checkin_out(row: CheckinRow) -> s.CheckinOut:
    """Return the response body of a check-in."""
    return s.CheckinOut(
        subject=row.subject,
        date=row.date,
        status=row.status,
        confidence=row.confidence,
        by=row.reported_by,
        comment=row.comment,
    )


def evaluation_out(row: EvaluationRow) -> s.EvaluationOut:
    """Return the response body of a stored evaluation."""
    effective = "at_risk" if row.at_risk and row.status in ("green", "amber") else row.status
    return s.EvaluationOut(
        subject=row.subject,
        level=row.level,
        as_of=row.as_of,
        status=row.status,
        effective_status=effective,
        at_risk=row.at_risk,
        stale=row.stale,
        threatened_by=[str(x) for x in row.threatened_by or []],
        plan_to_date=row.plan_to_date,
        actual_to_date=row.actual_to_date,
        variance_abs=row.variance_abs,
        variance_pct=row.variance_pct,
        forecast_end=row.forecast_end,
        forecast_low=row.forecast_low,
        forecast_high=row.forecast_high,
        plan_end=row.plan_end,
        p_target=row.p_target,
        weeks_to_red=row.weeks_to_red,
        attainment=row.attainment,
        last_point=row.last_point,
    )


def rebaseline_out(row: RebaselineRow) -> s.RebaselineOut:
    """Return the response body of a re-baseline request."""
    return s.RebaselineOut(
        id=row.id,
        subject=row.subject,
        subject_level=row.subject_level,
        reason=row.reason,
        effective=row.effective,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        status=row.status,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
    )
