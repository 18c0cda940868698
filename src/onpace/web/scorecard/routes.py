"""The scorecard tree, the dependency map and what-if: thin doors onto the services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from onpace.domain.whatif import Shift, what_if
from onpace.errors import UserError
from onpace.services import dependency_view, read_models
from onpace.services.cycle_view import cycle_end
from onpace.services.model_store import plan_versions
from onpace.services.scorecard_rows import SORTS, Filters, row_scorecard
from onpace.storage.repositories import points_repo
from onpace.web.format import subject_units
from onpace.web.pages import (
    STATUS_LABELS,
    TEMPLATES,
    Page,
    render,
    render_around,
)

router = APIRouter(include_in_schema=False)


@router.get("/scorecard")
async def scorecard_page(
    request: Request,
    context: Page,
    *,
    unit: Annotated[str, Query(max_length=200)] = "",
    cycle: Annotated[str, Query(max_length=200)] = "",
    perspective: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    """Show the objective → KR → KPI tree filtered by row (unit, status, search), sorted, then the KPIs outside it."""
    chosen = Filters(
        unit.strip(),
        cycle.strip(),
        perspective.strip(),
        status.strip(),
        q.strip(),
        sort if sort in SORTS else "",
    )
    filters = tuple(chosen.query().items())
    names = {p.id: p.name for p in context.model.people}
    units = {u.id: u.name for u in context.model.units}

    def build() -> tuple[bytes, bytes]:
        found = row_scorecard(
            context.session,
            context.org_id,
            context.model,
            chosen,
            page=page,
            as_of=cycle_end(context.model, chosen.cycle or None),
        )
        rows = Markup(
            TEMPLATES.get_template("scorecard_rows.html").render(
                card=found.card, found=found, names=names, units=units, uoms=subject_units(context.model)
            )
        )
        main = TEMPLATES.get_template("scorecard_main.html").render(
            card=found.card, found=found, rows=rows, statuses=list(STATUS_LABELS), sorts=SORTS
        )
        return rows.encode(), main.encode()

    # Every reader sees the same tree until the model or the evaluations change: render it once,
    # leaving only the page's frame (the reader's name, the CSRF token) to render per request.
    rows, main = await context.view(("scorecard", *filters, page), build)
    if request.headers.get("hx-request"):
        return HTMLResponse(rows)
    return render_around(request, "scorecard.html", main)


@router.get("/dependencies")
def dependency_page(request: Request, context: Page) -> HTMLResponse:
    """Show the dependency map: units as nodes, hand-offs as edges coloured by status."""
    graph = dependency_view.dependency_map(
        context.session, context.org_id, context.model, today=context.now.date()
    )
    model = context.model
    return render(
        request,
        "dependencies.html",
        {"graph": graph, "units": {u.id: u.name for u in model.units}, "titles": model.titles},
    )


@router.get("/what-if")
def whatif_form(request: Request, context: Page) -> HTMLResponse:
    """Show the what-if form."""
    return render(
        request, "whatif.html", {"kpis": context.model.kpis, "flips": None, "picked": [], "pct": -5.0}
    )


@router.post("/what-if")
def whatif_run(
    request: Request,
    context: Page,
    kpis: Annotated[list[str], Form(max_length=100)],
    pct: Annotated[float, Form(ge=-1000, le=1000)],
) -> HTMLResponse:
    """Shift the picked KPIs by ``pct`` percent and show what flips."""
    verdicts = read_models.latest_verdicts(context.session, context.org_id)
    as_of = read_models.evaluated_as_of(verdicts) or context.now.date()
    points = points_repo.points_frame(context.session, context.org_id, as_of)
    try:
        flips = what_if(
            context.model,
            points,
            as_of,
            {k: Shift(pct=pct) for k in kpis},
            plan_versions(context.session, context.org_id),
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    template = "whatif_result.html" if request.headers.get("hx-request") else "whatif.html"
    return render(
        request,
        template,
        {
            "kpis": context.model.kpis,
            "flips": flips,
            "picked": kpis,
            "pct": pct,
            "as_of": as_of,
            "titles": context.model.titles,
        },
    )
