"""Leaders' and owners' first pages: the desk: thin doors onto the services."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onpace.services import read_models
from onpace.web.pages import (
    Page,
    render,
)

router = APIRouter(include_in_schema=False)


@router.get("/")
def desk(request: Request, context: Page) -> HTMLResponse:
    """Show my desk: my open cases with deadlines and what I own with its status."""
    found = read_models.my_desk(context.session, context.org_id, context.model, context.who.person_id)
    return render(request, "desk.html", {"desk": found, "now": context.now})
