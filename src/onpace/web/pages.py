"""Server-rendered pages (Jinja2 + htmx + ECharts): thin doors onto the services, like the API.

Pages use the same principal, permission rules and services as ``/api/v1``. Forms post with
the session's CSRF token; a successful post redirects (303) back to the page it changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from sqlalchemy.orm import Session

from onpace.api.deps import (
    Context,
    app_state,
    browser_session,
    check_csrf,
    db,
    now,
    optional_principal,
    signer,
)
from onpace.api.errors import unauthenticated
from onpace.api.schemas import MAX_ROW_ID
from onpace.api.security import BrowserSession, new_session
from onpace.services.auth import (
    Principal,
)
from onpace.web import format as fmt
from onpace.web.sparkline import sparkline_svg

WEB = Path(__file__).resolve().parent
AREAS = ("overview", "scorecard", "subjects", "cases", "review", "admin")
# Each area keeps its templates beside its routes; the shared frame (base, macros) lives in templates/.
TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader([WEB / "templates", *(WEB / area / "templates" for area in AREAS)]),
        autoescape=True,
    )
)
# Templates ship with the package and never change under a running app: do not stat them per render.
TEMPLATES.env.auto_reload = False
# Escape every value in every template, whatever its file name (select_autoescape skips some).
TEMPLATES.env.autoescape = True
TEMPLATES.env.filters["sparkline"] = sparkline_svg
TEMPLATES.env.filters.update(
    human_time=fmt.human_time,
    human_date=fmt.human_date,
    figure=fmt.figure,
    share=fmt.share,
    lateness=fmt.lateness,
)
TEMPLATES.env.filters["tojson_attr"] = lambda value: json.dumps(value, default=str)

RowIdPath = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]

router = APIRouter(include_in_schema=False)

STATUS_LABELS = {
    "green": "on track",
    "amber": "amber",
    "red": "red",
    "at_risk": "at risk",
    "no_data": "no data",
    "unplanned": "unplanned",
}
TEMPLATES.env.globals["STATUS_LABELS"] = STATUS_LABELS


def _ensure_session(request: Request) -> tuple[BrowserSession, bool]:
    found = browser_session(request)
    if found is not None:
        return found, False
    return new_session(), True


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a page with the CSRF token and the signed-in user; set a session cookie if missing."""
    session, fresh = _ensure_session(request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"csrf": session.csrf, "who": getattr(request.state, "who", None), **context},
        status_code=status,
    )
    if fresh:
        signer(request).write(response, session)
    return response


_SLOT = "<!--onpace:main-->"


def render_around(request: Request, template: str, main: bytes, status: int = 200) -> HTMLResponse:
    """Render a page frame around content already rendered and encoded (a view shared by readers).

    Only the frame (the reader's name, the CSRF token) is rendered per request; the shared part,
    often most of the page, is spliced in as bytes rather than rendered and encoded again.
    """
    response = render(request, template, {"main": Markup(_SLOT)}, status)
    head, slot, tail = bytes(response.body).partition(_SLOT.encode())
    if not slot:
        raise RuntimeError(f"{template} does not show {{{{ main }}}}")
    response.body = head + main + tail
    response.headers["content-length"] = str(len(response.body))
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """Return an HTML error page with a message a person understands."""
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def to_login(request: Request) -> RedirectResponse:
    """Return a redirect to the sign-in page that comes back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


async def page_context(
    request: Request,
    session: Annotated[Session, Depends(db)],
    who: Annotated[Principal | None, Depends(optional_principal)],
) -> Context:
    """Return the context of a page request; anonymous visitors are sent to sign in.

    Pages take signed-in sessions only: a bearer token on any page is refused (403) by
    :func:`~onpace.api.deps.optional_principal` before this runs.
    """
    if who is None:
        raise unauthenticated()
    await check_csrf(request, who)
    request.state.who = who
    return Context(session, who, app_state(request), now())


Page = Annotated[Context, Depends(page_context)]


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def actor(context: Context) -> str:
    """Return who acts in the record: the signed-in person, or the user's email."""
    return context.who.person_id or context.who.email
