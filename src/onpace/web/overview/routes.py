"""The first pages: an owner's desk, and the leaders' overview (the desk of anyone who owns nothing)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onpace.api.deps import Context
from onpace.services import read_models
from onpace.services.overview import STATUS_ORDER, overview
from onpace.web.pages import Page, render

router = APIRouter(include_in_schema=False)


LEVEL_TITLES = {"objective": "Objectives", "kr": "Key results", "kpi": "KPIs"}


def _overview_page(request: Request, context: Context) -> HTMLResponse:
    found = overview(context.session, context.org_id, context.model, now=context.now)
    return render(
        request,
        "overview.html",
        {"o": found, "order": STATUS_ORDER, "levels": LEVEL_TITLES, "now": context.now},
    )


@router.get("/")
def desk(request: Request, context: Page) -> HTMLResponse:
    """Show my desk (my open cases and what I own); someone who owns nothing gets the overview."""
    found = read_models.my_desk(context.session, context.org_id, context.model, context.who.person_id)
    if not found.cases and not found.owned:
        return _overview_page(request, context)
    return render(
        request,
        "desk.html",
        {
            "desk": found,
            "now": context.now,
            "names": {p.id: p.name for p in context.model.people},
            "titles": context.model.titles,
        },
    )


@router.get("/overview")
def overview_page(request: Request, context: Page) -> HTMLResponse:
    """Show the organisation at a glance: counts, heat map, objectives, top risks, what changed."""
    return _overview_page(request, context)
