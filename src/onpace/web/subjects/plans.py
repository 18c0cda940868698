"""The objective and initiative pages: thin doors onto ``services.plan_pages``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onpace.api.errors import not_found
from onpace.services.plan_pages import initiative_page, objective_page
from onpace.web.format import subject_units
from onpace.web.pages import Page, render

router = APIRouter(include_in_schema=False)


@router.get("/objectives/{objective}")
def objective_view(objective: str, request: Request, context: Page) -> HTMLResponse:
    """Show an objective: its status and trend, its key results and their causes, cases and check-ins."""
    page = objective_page(context.session, context.org_id, context.model, objective)
    if page is None:
        raise not_found(f"there is no objective {objective!r}")
    return render(request, "objective.html", {"p": page})


@router.get("/initiatives/{initiative}")
def initiative_view(initiative: str, request: Request, context: Page) -> HTMLResponse:
    """Show an initiative: spend and capacity against plan, starved key results, the cost of progress."""
    page = initiative_page(context.session, context.org_id, context.model, initiative, now=context.now)
    if page is None:
        raise not_found(f"there is no initiative {initiative!r}")
    return render(request, "initiative.html", {"p": page, "uoms": subject_units(context.model)})
