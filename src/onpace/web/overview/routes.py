"""The first pages: an owner's desk, and the leaders' overview (the desk of anyone who owns nothing)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onpace.api.deps import Context
from onpace.domain.model import Model
from onpace.services import read_models
from onpace.services.overview import STATUS_ORDER, overview
from onpace.web.pages import Page, render

router = APIRouter(include_in_schema=False)


def subject_titles(model: Model) -> dict[str, str]:
    """Return the title of every objective, key result, KPI, dependency and initiative by id."""
    titles = {o.id: o.title for o in model.objectives} | {kr.id: kr.title for kr in model.key_results}
    titles |= {k.id: k.title for k in model.kpis} | {d.id: d.title for d in model.dependencies}
    return titles | {i.id: i.title for i in model.initiatives}


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
            "titles": subject_titles(context.model),
        },
    )


@router.get("/overview")
def overview_page(request: Request, context: Page) -> HTMLResponse:
    """Show the organisation at a glance: counts, heat map, objectives, top risks, what changed."""
    return _overview_page(request, context)
