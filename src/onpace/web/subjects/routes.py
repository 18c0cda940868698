"""Pages of one KPI or key result, check-ins and re-baselines: thin doors onto the services."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from onpace.api.errors import forbidden, not_found
from onpace.domain.hygiene import formula_inputs
from onpace.domain.model import Plan
from onpace.services import rebaseline as rebaseline_service
from onpace.services import subject_view
from onpace.services.auth import (
    may_check_in,
    may_request_rebaseline,
    owned_subjects,
)
from onpace.services.checkins import checkins_as_of, new_checkin, record_checkins
from onpace.services.cycle_view import cycle_trend
from onpace.storage.repositories import cases_repo
from onpace.web.charts import chart_markers
from onpace.web.format import subject_unit
from onpace.web.names import source_names
from onpace.web.pages import (
    Page,
    RowIdPath,
    actor,
    render,
    see_other,
)
from onpace.web.subjects.approvals import approval_context

router = APIRouter(include_in_schema=False)


LINEAGE_PER_PAGE = 25


@router.get("/kpis/{subject}")
@router.get("/krs/{subject}")
def subject_page(
    subject: str, request: Request, context: Page, page: Annotated[int, Query(ge=0, le=100_000)] = 0
) -> HTMLResponse:
    """Show a KPI or KR: plan vs actual with forecast and tolerance bands, its links, cases, check-ins, lineage."""
    detail = subject_view.subject_detail(
        context.session, context.org_id, context.model, subject, now=context.now
    )
    if detail is None:
        raise not_found(f"there is no KPI or key result {subject!r}")
    model = context.model
    kpi = next((k for k in model.kpis if k.id == subject), None)
    names = {p.id: p.name for p in model.people}
    checkins = sorted(
        (
            c
            for c in checkins_as_of(context.session, context.org_id, context.now.date())
            if c.subject == subject
        ),
        key=lambda c: c.date,
        reverse=True,
    )
    lineage = sorted(detail.lineage, key=lambda p: (p.date, p.version), reverse=True)
    measured_by = next((kr.kpi for kr in model.key_results if kr.id == subject and kr.kpi), None)
    waiting = approval_context(context, only={subject, measured_by or subject})
    pages = max(1, -(-len(lineage) // LINEAGE_PER_PAGE))
    shown = min(page, pages - 1)
    return render(
        request,
        "subject.html",
        {
            "d": detail,
            "chart": chart_markers(
                detail.chart, versions=detail.versions, cases=detail.cases, checkins=checkins, names=names
            ),
            "kpi": kpi,
            "formula_inputs": formula_inputs(kpi.formula, {k.id for k in model.kpis})
            if kpi and kpi.formula
            else [],
            "kr": next((k for k in model.key_results if k.id == subject), None),
            "names": names,
            "units": {u.id: u.name for u in model.units},
            "unit": subject_unit(model, subject),
            "titles": model.titles,
            "measures": [kr for kr in model.key_results if kr.kpi == subject],
            "initiatives": [
                i for i in model.initiatives if subject in (i.cost, i.capacity) or subject in i.supports
            ],
            "checkins": checkins,
            "lineage": lineage[shown * LINEAGE_PER_PAGE : (shown + 1) * LINEAGE_PER_PAGE],
            "lineage_page": shown,
            "lineage_pages": pages,
            "lineage_total": len(lineage),
            "sources": source_names(model),
            "may_request": may_request_rebaseline(context.who, model, subject),
            "may_checkin": detail.level == "kr" and may_check_in(context.who, model, subject),
            "today": context.now.date(),
            "by_cycle": cycle_trend(context.session, context.org_id, model, subject, context.now.date()),
            "approvals": waiting,
            "back": request.url.path,
        },
    )


@router.get("/checkin")
def checkin_form(request: Request, context: Page) -> HTMLResponse:
    """Show the check-in form for what I own."""
    model = context.model
    mine = owned_subjects(model, context.who.person_id)
    subjects = [(o.id, o.title) for o in model.objectives if context.who.admin or o.id in mine]
    subjects += [(kr.id, kr.title) for kr in model.key_results if context.who.admin or kr.id in mine]
    return render(request, "checkin.html", {"subjects": subjects, "today": context.now.date(), "done": None})


@router.post("/checkin")
def checkin_post(
    *,
    request: Request,
    context: Page,
    subject: Annotated[str, Form(max_length=200)],
    status: Annotated[str, Form(max_length=10)],
    confidence: Annotated[int, Form(ge=0, le=10)],
    day: Annotated[dt.date, Form()],
    comment: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Record a check-in on a KR or objective I own."""
    model = context.model
    if not may_check_in(context.who, model, subject):
        raise forbidden(f"you may check in only on what you own; {subject!r} is not yours")
    checkin = new_checkin(
        model,
        subject=subject,
        day=day,
        status=status,
        confidence=confidence,
        by=actor(context),
        comment=comment,
    )
    record_checkins(context.session, context.org_id, [checkin], now=context.now)
    context.commit()
    return see_other("/checkin?saved=" + quote(subject))


@router.get("/rebaselines")
def rebaselines_page(request: Request, context: Page) -> HTMLResponse:
    """Show re-baseline requests and the form to ask for one."""
    rows = cases_repo.rebaselines(context.session, context.org_id)
    model = context.model
    me, today = actor(context), context.now.date()
    everything = [(k.id, k.title) for k in model.kpis] + [(kr.id, kr.title) for kr in model.key_results]
    # Offer only what the reader may do: their own subjects, and the decisions that are theirs.
    subjects = [(s, title) for s, title in everything if may_request_rebaseline(context.who, model, s)]
    deciders = {r.id: rebaseline_service.approver(model, r.subject, r.requested_by, today) for r in rows}
    may_decide = {
        r.id: context.who.writes and (context.who.admin or (me != r.requested_by and me == deciders[r.id]))
        for r in rows
    }
    return render(
        request,
        "rebaselines.html",
        {
            "rows": rows,
            "subjects": subjects,
            "picked": request.query_params.get("subject", ""),
            "today": today,
            "may_decide": may_decide,
            "deciders": deciders,
            "names": {p.id: p.name for p in model.people},
            "titles": model.titles,
        },
    )


@router.post("/rebaselines")
def rebaseline_request(
    *,
    context: Page,
    subject: Annotated[str, Form(max_length=200)],
    target: Annotated[float, Form(allow_inf_nan=False)],
    reason: Annotated[str, Form(max_length=5000)],
    effective: Annotated[dt.date, Form()],
    baseline: Annotated[float | None, Form(allow_inf_nan=False)] = None,
) -> Response:
    """Ask to re-baseline a KPI or KR to a new baseline/target."""
    model = context.model
    if not may_request_rebaseline(context.who, model, subject):
        raise forbidden(f"only the owner of {subject!r}, an editor or an admin may ask to re-baseline it")
    rebaseline_service.request_rebaseline(
        context.session,
        context.org_id,
        model,
        subject=subject,
        plan=Plan(baseline=baseline, target=target),
        reason=reason,
        effective=effective,
        by=actor(context),
        now=context.now,
    )
    context.commit()
    return see_other("/rebaselines")


@router.post("/rebaselines/{request_id}/{decision}")
def rebaseline_decide(
    request_id: RowIdPath, decision: str, context: Page, note: Annotated[str, Form(max_length=5000)] = ""
) -> Response:
    """Approve or reject a re-baseline request."""
    if not context.who.writes:
        raise forbidden("viewers cannot decide re-baselines")
    decide = {
        "approve": rebaseline_service.approve_rebaseline,
        "reject": rebaseline_service.reject_rebaseline,
    }
    if decision not in decide:
        raise not_found("a request is approved or rejected")
    decide[decision](
        context.session,
        context.org_id,
        context.model,
        request_id,
        by=actor(context),
        now=context.now,
        admin=context.who.admin,
        note=note,
    )
    context.commit()
    return see_other("/rebaselines")
