"""The cases inbox and the case page with its forms: thin doors onto the services."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from onpace.api.deps import Context
from onpace.api.errors import forbidden, not_found
from onpace.domain.cases import CAUSE_CATEGORIES, Case
from onpace.errors import UserError
from onpace.services import cases as case_service
from onpace.services.auth import may_work_case
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


@router.get("/cases")
def cases_inbox(request: Request, context: Page, mine: bool = False, state: str = "open") -> HTMLResponse:
    """Show the cases inbox (open ones by default; ``mine`` keeps mine)."""
    person = (context.who.person_id or "") if mine else None
    found = case_service.list_cases(context.session, context.org_id, mine=person, open_only=state == "open")
    found.sort(key=lambda c: (not c.is_open, -c.rung, c.explain_due))
    return render(request, "cases.html", {"cases": found, "mine": mine, "state": state, "now": context.now})


@router.get("/cases/{case_id}")
def case_page(case_id: RowIdPath, request: Request, context: Page) -> HTMLResponse:
    """Show a case: its subject, escalation level, participants, forms and timeline."""
    case = _load_case(context, case_id)
    events = case_service.case_history(context.session, context.org_id, case_id)
    model = context.model
    return render(
        request,
        "case.html",
        {
            "case": case,
            "events": events,
            "may_work": may_work_case(context.who, case),
            "categories": CAUSE_CATEGORIES,
            "people": model.people,
            "ladder": model.policy.escalation,
            "now": context.now,
            "subject_href": subject_href(case.subject_level, case.subject),
        },
    )


def subject_href(level: str, subject: str) -> str | None:
    """Return the page that shows a case's subject, or None for subjects without one (sources, channels)."""
    pages = {
        "kpi": f"/kpis/{subject}",
        "kr": f"/krs/{subject}",
        "dependency": "/dependencies",
        "objective": "/scorecard",
    }
    return pages.get(level)


@router.post("/cases/{case_id}/explain")
def case_explain(
    case_id: RowIdPath,
    context: Page,
    category: Annotated[str, Form(max_length=100)],
    text: Annotated[str, Form(max_length=5000)],
) -> Response:
    """Record the root cause of a case."""
    _workable(context, case_id)
    case_service.explain_case(
        context.session,
        context.org_id,
        case_id,
        category=category,
        text=text,
        by=actor(context),
        now=context.now,
    )
    context.commit()
    return see_other(f"/cases/{case_id}")


@router.post("/cases/{case_id}/act")
def case_act(
    case_id: RowIdPath,
    context: Page,
    title: Annotated[str, Form(max_length=500)],
    owner: Annotated[str, Form(max_length=200)],
    due: Annotated[dt.date, Form()],
) -> Response:
    """Commit a corrective action on a case."""
    _workable(context, case_id)
    if context.model.person(owner) is None:
        raise UserError(f"there is no person {owner!r} to own the action")
    case_service.act_on_case(
        context.session,
        context.org_id,
        case_id,
        title=title,
        owner=owner,
        due=due,
        by=actor(context),
        now=context.now,
    )
    context.commit()
    return see_other(f"/cases/{case_id}")


@router.post("/cases/{case_id}/comment")
def case_comment(case_id: RowIdPath, context: Page, text: Annotated[str, Form(max_length=5000)]) -> Response:
    """Add a comment to a case."""
    _workable(context, case_id)
    case_service.comment_on_case(
        context.session, context.org_id, case_id, text=text, by=actor(context), now=context.now
    )
    context.commit()
    return see_other(f"/cases/{case_id}")


@router.post("/cases/{case_id}/close")
def case_close(
    case_id: RowIdPath, context: Page, note: Annotated[str, Form(max_length=5000)] = ""
) -> Response:
    """Resolve a case by hand."""
    _workable(context, case_id)
    case_service.close_case(
        context.session, context.org_id, case_id, by=actor(context), now=context.now, note=note
    )
    context.commit()
    return see_other(f"/cases/{case_id}")
