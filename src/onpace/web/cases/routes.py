"""The cases inbox and the case page with its forms: thin doors onto the services."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from onpace.api.deps import Context
from onpace.api.errors import forbidden, not_found
from onpace.domain.accountability import SubjectIndex
from onpace.domain.cases import CAUSE_CATEGORIES, Case
from onpace.errors import UserError
from onpace.services import cases as case_service
from onpace.services.auth import may_work_case
from onpace.services.case_evidence import case_evidence, words
from onpace.services.checkins import checkins_as_of
from onpace.web import format as fmt
from onpace.web.charts import chart_markers
from onpace.web.pages import (
    Page,
    RowIdPath,
    actor,
    render,
    see_other,
)

router = APIRouter(include_in_schema=False)


def _load_case(context: Context, case_id: int) -> Case:
    try:
        return case_service.load_case(context.session, context.org_id, case_id)
    except UserError:
        raise not_found(f"there is no case {case_id}") from None


def _workable(context: Context, case_id: int) -> Case:
    case = _load_case(context, case_id)
    if not may_work_case(context.who, case):
        raise forbidden(
            f"case {case_id} is not yours: only its owner, holder, participants or an admin may work it"
        )
    return case


INBOX_SORTS = {
    "": "most escalated first",
    "due": "earliest deadline first",
    "opened": "newest first",
    "subject": "by subject",
}


def _overdue(case: Case, now: dt.datetime) -> bool:
    return case.is_open and (
        (case.explained_at is None and case.explain_due < now)
        or (case.acted_at is None and case.act_due < now)
    )


@router.get("/cases")
def cases_inbox(
    request: Request,
    context: Page,
    *,
    mine: Annotated[str, Query(max_length=10)] = "",
    state: Annotated[str, Query(max_length=10)] = "open",
    kind: Annotated[str, Query(max_length=40)] = "",
    unit: Annotated[str, Query(max_length=200)] = "",
    holder: Annotated[str, Query(max_length=200)] = "",
    overdue: Annotated[str, Query(max_length=10)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """Show the cases inbox, filtered (kind, unit, holder, overdue, search) and sorted; the filters stay in the URL.

    ``mine`` is ``owned`` (cases I own or hold) or ``joined`` (cases I take part in without owning).
    """
    model = context.model
    me = context.who.person_id or ""
    found = case_service.list_cases(context.session, context.org_id, open_only=state != "all")
    titles = model.titles
    index = SubjectIndex(model, context.now.date())
    if mine in ("owned", "true"):
        found = [c for c in found if me in (c.owner, c.holder)]
    elif mine == "joined":
        found = [c for c in found if me in c.participants and me not in (c.owner, c.holder)]
    if kind:
        found = [c for c in found if c.kind == kind]
    if unit:
        found = [c for c in found if index.info(c.subject, c.subject_level).unit == unit]
    if holder:
        found = [c for c in found if c.holder == holder]
    if overdue:
        found = [c for c in found if _overdue(c, context.now)]
    needle = q.strip().lower()
    if needle:
        found = [
            c for c in found if needle in titles.get(c.subject, c.subject).lower() or needle in c.subject
        ]
    orders = {
        "due": lambda c: (not c.is_open, min(c.explain_due, c.act_due), c.id or 0),
        "opened": lambda c: (not c.is_open, -c.opened_at.timestamp(), c.id or 0),
        "subject": lambda c: (titles.get(c.subject, c.subject).lower(), c.id or 0),
    }
    found.sort(key=orders.get(sort, lambda c: (not c.is_open, -c.rung, c.explain_due, c.id or 0)))
    chosen = {
        "mine": mine,
        "state": state,
        "kind": kind,
        "unit": unit,
        "holder": holder,
        "overdue": overdue,
        "q": q.strip(),
        "sort": sort,
    }
    return render(
        request,
        "cases.html",
        {
            "cases": found,
            "f": chosen,
            "now": context.now,
            "titles": titles,
            "names": {p.id: p.name for p in model.people},
            "units": [(u.id, u.name) for u in model.units],
            "kinds": sorted({c.kind for c in case_service.list_cases(context.session, context.org_id)}),
            "sorts": INBOX_SORTS,
            "overdue": _overdue,
        },
    )


#: What a successful form says on the page it returns to.
DONE = {
    "explained": "Explanation recorded.",
    "acted": "Corrective action committed.",
    "commented": "Comment added.",
    "closed": "Case closed.",
}


def _case_view(
    request: Request,
    context: Context,
    case_id: int,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """Render the case page; a refused form comes back with its message and what was typed."""
    case = _load_case(context, case_id)
    events = case_service.case_history(context.session, context.org_id, case_id)
    model = context.model
    evidence = case_evidence(context.session, context.org_id, model, case, events, now=context.now)
    chart = None
    if evidence.detail is not None:
        chart = chart_markers(
            evidence.detail.chart,
            versions=evidence.detail.versions,
            cases=[case],
            checkins=[
                c
                for c in checkins_as_of(context.session, context.org_id, context.now.date())
                if c.subject == case.subject
            ],
            names=evidence.names,
        )
    done = request.query_params.get("done", "")
    return render(
        request,
        "case.html",
        {
            "case": case,
            "ev": evidence,
            "chart": chart,
            "names": evidence.names,
            "may_work": may_work_case(context.who, case) and case.is_open,
            "categories": CAUSE_CATEGORIES,
            "people": model.people,
            "now": context.now,
            "subject_href": subject_href(case.subject_level, case.subject),
            "unit": fmt.subject_unit(model, evidence.detail.id if evidence.detail else case.subject),
            "done": DONE.get(done, ""),
            "errors": errors or {},
            "typed": typed or {},
            "words": words,
        },
        status=status,
    )


@router.get("/cases/{case_id}")
def case_page(case_id: RowIdPath, request: Request, context: Page) -> HTMLResponse:
    """Show a case: the evidence first, then who holds it, the forms the viewer may use, and its story."""
    return _case_view(request, context, case_id)


def _refused(
    request: Request, context: Context, case_id: int, *, form: str, error: UserError, typed: dict[str, str]
) -> HTMLResponse:
    context.session.rollback()
    return _case_view(request, context, case_id, errors={form: str(error)}, typed=typed, status=400)


def _done(case_id: int, what: str) -> Response:
    return see_other(f"/cases/{case_id}?done={what}#timeline")


def subject_href(level: str, subject: str) -> str | None:
    """Return the page that shows a case's subject, or None for subjects without one (sources, channels)."""
    pages = {
        "kpi": f"/kpis/{subject}",
        "kr": f"/krs/{subject}",
        "dependency": "/dependencies",
        "objective": f"/objectives/{subject}",
    }
    return pages.get(level)


@router.post("/cases/{case_id}/explain")
def case_explain(
    case_id: RowIdPath,
    request: Request,
    context: Page,
    category: Annotated[str, Form(max_length=100)],
    text: Annotated[str, Form(max_length=5000)],
) -> Response:
    """Record the root cause of a case."""
    _workable(context, case_id)
    try:
        case_service.explain_case(
            context.session,
            context.org_id,
            case_id,
            category=category,
            text=text,
            by=actor(context),
            now=context.now,
        )
    except UserError as exc:
        return _refused(
            request, context, case_id, form="explain", error=exc, typed={"category": category, "text": text}
        )
    context.commit()
    return _done(case_id, "explained")


@router.post("/cases/{case_id}/act")
def case_act(
    *,
    case_id: RowIdPath,
    request: Request,
    context: Page,
    title: Annotated[str, Form(max_length=500)],
    owner: Annotated[str, Form(max_length=200)],
    due: Annotated[str, Form(max_length=40)],
) -> Response:
    """Commit a corrective action on a case."""
    _workable(context, case_id)
    typed = {"title": title, "owner": owner, "due": due}
    try:
        if context.model.person(owner) is None:
            raise UserError("pick the person who owns the action")
        try:
            day = dt.date.fromisoformat(due.strip())
        except ValueError:
            raise UserError("give the action a due date (day, month and year)") from None
        case_service.act_on_case(
            context.session,
            context.org_id,
            case_id,
            title=title,
            owner=owner,
            due=day,
            by=actor(context),
            now=context.now,
        )
    except UserError as exc:
        return _refused(request, context, case_id, form="act", error=exc, typed=typed)
    context.commit()
    return _done(case_id, "acted")


@router.post("/cases/{case_id}/comment")
def case_comment(
    case_id: RowIdPath, request: Request, context: Page, text: Annotated[str, Form(max_length=5000)]
) -> Response:
    """Add a comment to a case."""
    _workable(context, case_id)
    try:
        case_service.comment_on_case(
            context.session, context.org_id, case_id, text=text, by=actor(context), now=context.now
        )
    except UserError as exc:
        return _refused(request, context, case_id, form="comment", error=exc, typed={"comment": text})
    context.commit()
    return _done(case_id, "commented")


@router.post("/cases/{case_id}/close")
def case_close(
    case_id: RowIdPath, request: Request, context: Page, note: Annotated[str, Form(max_length=5000)] = ""
) -> Response:
    """Resolve a case by hand, saying why (a relapse at the next evaluation reopens it)."""
    _workable(context, case_id)
    try:
        if not note.strip():
            raise UserError("say why the case can be closed: the reason stays in its timeline")
        case_service.close_case(
            context.session, context.org_id, case_id, by=actor(context), now=context.now, note=note.strip()
        )
    except UserError as exc:
        return _refused(request, context, case_id, form="close", error=exc, typed={"note": note})
    context.commit()
    return _done(case_id, "closed")
