"""REST doors onto the data: actuals push, check-ins, evaluations, what-if, re-baselines, tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query

from onpace.api import model_bodies as mb
from onpace.api import schemas as s
from onpace.api.convert import checkin_out, evaluation_out, rebaseline_out
from onpace.api.deps import Context, ReadContext, WriteContext
from onpace.api.errors import ApiError, forbidden, not_found
from onpace.api.responses import DocumentedRoute
from onpace.connectors.push.records import push_sources, restrict_sources, undeclared_source, validate_pushed
from onpace.domain.read_window import evaluation_window
from onpace.domain.whatif import Shift, what_if
from onpace.errors import UserError
from onpace.services import account_changes
from onpace.services import rebaseline as rebaseline_service
from onpace.services import tokens as token_service
from onpace.services.auth import (
    may_check_in,
    may_push_actuals,
    may_request_rebaseline,
    may_revoke_tokens,
    token_refusal,
)
from onpace.services.checkins import new_checkin, record_checkins
from onpace.services.evaluation_requests import enqueue_evaluation
from onpace.services.ingest import ingest_frame
from onpace.services.model_store import plan_versions
from onpace.storage.repositories import cases_repo, checkins_repo, evaluations_repo, points_repo, runs_repo

RowIdPath = Annotated[int, Path(ge=1, le=s.MAX_ROW_ID)]

router = APIRouter(prefix="/api/v1", tags=["data"], route_class=DocumentedRoute)


def known_metrics(context: Context) -> set[str]:
    """Return the ids actuals may arrive for: every KPI, and KRs measured by their own series."""
    model = context.model
    return {k.id for k in model.kpis} | {kr.id for kr in model.key_results if kr.kpi is None}


@router.post("/actuals")
def push_actuals(body: s.ActualsBody, context: WriteContext) -> s.ActualsOut:
    """Receive a batch of actuals; keep the good records, report each bad one with its index.

    Idempotent: a record already stored with the same value is counted ``unchanged``; a new
    value for a stored (metric, date, source) is a correction (a new version, never an overwrite).
    """
    if not may_push_actuals(context.who):
        raise forbidden("only editors and admins push actuals")
    declared = push_sources(context.model.sources)
    source, refused = undeclared_source(body.source, declared)
    if source is None:
        raise ApiError(422, refused or "unknown push source", where="body.source")
    checked = restrict_sources(validate_pushed(body.records, source=source), declared)
    report = ingest_frame(
        context.session,
        context.org_id,
        checked.records,
        source=source,
        run_by=context.who.email,
        manual=False,
        now=context.now,
        known_metrics=known_metrics(context),
        origin="api",
    )
    quarantined = runs_repo.quarantined(context.session, report.run_id)
    if report.accepted:
        enqueue_evaluation(context.session, context.org_id, now=context.now)
    context.commit()
    rejected = [s.RejectedRecord(index=(r.line or 1) - 1, reason=r.reason) for r in checked.rejected]
    rejected += [s.RejectedRecord(index=(q.line or 1) - 1, reason=q.reason) for q in quarantined]
    return s.ActualsOut(
        run_id=report.run_id,
        received=len(body.records),
        added=report.added,
        corrected=report.corrected,
        unchanged=report.unchanged,
        rejected=sorted(rejected, key=lambda r: r.index),
    )


@router.get("/checkins")
def list_checkins(context: ReadContext, subject: str | None = None) -> list[s.CheckinOut]:
    """List check-ins, of one subject when given."""
    rows = checkins_repo.checkins(context.session, context.org_id, subject=subject)
    return [checkin_out(r) for r in rows]


@router.post("/checkins", status_code=201)
def post_checkin(body: s.CheckinBody, context: WriteContext) -> s.CheckinOut:
    """Check in on a key result or objective you own: status and confidence (0–10)."""
    model = context.model
    if not may_check_in(context.who, model, body.subject):
        raise forbidden(f"you may check in only on what you own; {body.subject!r} is not yours")
    checkin = new_checkin(
        model,
        subject=body.subject,
        day=body.date,
        status=body.status,
        confidence=body.confidence,
        by=context.who.person_id or context.who.email,
        comment=body.comment,
    )
    record_checkins(context.session, context.org_id, [checkin], now=context.now)
    context.commit()
    return s.CheckinOut(
        subject=checkin.subject,
        date=checkin.date,
        status=checkin.status,
        confidence=checkin.confidence,
        by=checkin.by,
        comment=checkin.comment,
    )


@router.get("/evaluations")
def list_evaluations(
    context: ReadContext,
    as_of: Annotated[dt.date | None, Query(description="latest verdicts on or before this date")] = None,
    level: Annotated[str | None, Query(pattern="^(kpi|kr|objective)$")] = None,
) -> list[s.EvaluationOut]:
    """Return each subject's latest stored verdict on or before ``as_of`` (default: the latest)."""
    rows = evaluations_repo.latest_evaluations(context.session, context.org_id, as_of)
    return [evaluation_out(r) for r in rows if level is None or r.level == level]


@router.post("/what-if")
def post_what_if(body: s.WhatIfBody, context: ReadContext) -> s.WhatIfOut:
    """Shift some KPIs' as-of actuals (by a percentage or to a value) and list what flips."""
    as_of = body.as_of or _latest_as_of(context)
    shifts: dict[str, Shift] = {}
    for index, shift in enumerate(body.shifts):
        if (shift.pct is None) == (shift.value is None):
            raise UserError(f"shifts[{index}]: give exactly one of pct or value")
        shifts[shift.subject] = Shift(pct=shift.pct, value=shift.value)
    since = evaluation_window(context.model, as_of)
    points = points_repo.points_frame(context.session, context.org_id, as_of, since=since)
    try:
        flips = what_if(context.model, points, as_of, shifts, plan_versions(context.session, context.org_id))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return s.WhatIfOut(
        as_of=as_of,
        flips=[s.FlipOut(subject=f.subject, level=f.level, before=f.before, after=f.after) for f in flips],
    )


def _latest_as_of(context: Context) -> dt.date:
    dates = evaluations_repo.last_evaluated_on(context.session, context.org_id)
    return max(dates.values()) if dates else context.now.date()


@router.get("/rebaselines")
def list_rebaselines(context: ReadContext, status: str | None = None) -> list[s.RebaselineOut]:
    """List re-baseline requests (``status``: requested, approved, rejected)."""
    return [rebaseline_out(r) for r in cases_repo.rebaselines(context.session, context.org_id, status=status)]


@router.post("/rebaselines", status_code=201)
def request_rebaseline(body: s.RebaselineBody, context: WriteContext) -> s.RebaselineOut:
    """Ask to change a subject's plan from ``effective`` on; an approver must agree."""
    model = context.model
    if not may_request_rebaseline(context.who, model, body.subject):
        raise forbidden(
            f"only the owner of {body.subject!r}, an editor or an admin may ask to re-baseline it"
        )
    plan = mb.plan_value(body.plan)
    assert plan is not None
    row = rebaseline_service.request_rebaseline(
        context.session,
        context.org_id,
        model,
        subject=body.subject,
        plan=plan,
        reason=body.reason,
        effective=body.effective,
        by=context.who.person_id or context.who.email,
        now=context.now,
    )
    context.commit()
    return rebaseline_out(row)


@router.post("/rebaselines/{request_id}/approve")
def approve_rebaseline(request_id: RowIdPath, body: s.DecisionBody, context: WriteContext) -> s.RebaselineOut:
    """Approve a re-baseline request (the subject owner's unit head, or an admin)."""
    rebaseline_service.approve_rebaseline(
        context.session,
        context.org_id,
        context.model,
        request_id,
        by=context.who.person_id or context.who.email,
        now=context.now,
        admin=context.who.admin,
        note=body.note,
    )
    context.commit()
    return _rebaseline(context, request_id)


@router.post("/rebaselines/{request_id}/reject")
def reject_rebaseline(request_id: RowIdPath, body: s.DecisionBody, context: WriteContext) -> s.RebaselineOut:
    """Reject a re-baseline request (the subject owner's unit head, or an admin)."""
    rebaseline_service.reject_rebaseline(
        context.session,
        context.org_id,
        context.model,
        request_id,
        by=context.who.person_id or context.who.email,
        now=context.now,
        admin=context.who.admin,
        note=body.note,
    )
    context.commit()
    return _rebaseline(context, request_id)


def _rebaseline(context: Context, request_id: int) -> s.RebaselineOut:
    found = next(
        (r for r in cases_repo.rebaselines(context.session, context.org_id) if r.id == request_id), None
    )
    if found is None:
        raise not_found(f"there is no re-baseline request {request_id}")
    return rebaseline_out(found)


@router.get("/me", tags=["account"])
def me(context: ReadContext) -> s.MeOut:
    """Return who the request is made as."""
    who = context.who
    return s.MeOut(
        email=who.email, name=who.name, role=who.role, person=who.person_id, via=who.via, scope=who.scope
    )


@router.get("/tokens", tags=["account"])
def list_tokens(context: ReadContext) -> list[s.TokenOut]:
    """List your API tokens (never their secrets)."""
    rows = token_service.list_tokens(context.session, context.who.user_id)
    return [
        s.TokenOut(
            id=r.id,
            name=r.name,
            scope=r.scope,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            revoked_at=r.revoked_at,
        )
        for r in rows
    ]


@router.post("/tokens", status_code=201, tags=["account"])
def create_token(body: s.TokenBody, context: ReadContext) -> s.NewTokenOut:
    """Create an API token for yourself (viewers: read-only ones); the secret is in this response only."""
    refusal = token_refusal(context.who, body.scope)
    if refusal is not None:
        raise forbidden(refusal)
    new = account_changes.create_token(
        context.session,
        by=context.who.email,
        now=context.now,
        email=context.who.email,
        name=body.name,
        scope=body.scope,
        org_id=context.org_id,
    )
    context.commit()
    return s.NewTokenOut(id=new.id, name=new.name, scope=new.scope, token=new.token)


@router.delete("/tokens/{token_id}", tags=["account"])
def revoke_token(token_id: RowIdPath, context: ReadContext) -> s.TokenOut:
    """Revoke one of your tokens (admins: anyone's); a read-only token cannot revoke."""
    if not may_revoke_tokens(context.who):
        raise forbidden("this API token is read-only")
    owner = None if context.who.admin else context.who.user_id
    try:
        # An admin may revoke anyone's token, within the organisation they work in.
        row = account_changes.revoke_token(
            context.session,
            token_id,
            by=context.who.email,
            now=context.now,
            user_id=owner,
            org_id=context.org_id,
        )
    except UserError:
        raise not_found(f"there is no token {token_id}") from None
    context.commit()
    return s.TokenOut(
        id=row.id,
        name=row.name,
        scope=row.scope,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
