"""The organisations page: see the organisations I belong to, with my role in each, and switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from onpace.api.errors import not_found
from onpace.api.org_choice import choose_org
from onpace.services.memberships import seats
from onpace.services.users import get_user
from onpace.web.pages import Page, render

router = APIRouter(include_in_schema=False)


@router.get("/orgs")
def orgs_page(request: Request, context: Page) -> HTMLResponse:
    """List my organisations with my role in each; the one I work in is marked."""
    user = get_user(context.session, context.who.user_id)
    mine = seats(context.session, user) if user is not None else []
    current = next((s.org for s in mine if s.org_id == context.org_id), "")
    return render(request, "orgs.html", {"seats": mine, "current": current, "current_id": context.org_id})


@router.post("/orgs/switch")
def switch_org(request: Request, context: Page, org_id: Annotated[int, Form(ge=1, le=2**31 - 1)]) -> Response:
    """Work in another of my organisations from now on (in this browser)."""
    user = get_user(context.session, context.who.user_id)
    if user is None or all(s.org_id != org_id for s in seats(context.session, user)):
        raise not_found("you do not belong to that organisation")
    response = RedirectResponse("/", status_code=303)
    choose_org(request, response, org_id)
    return response
