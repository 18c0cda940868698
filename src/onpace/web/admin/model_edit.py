"""The model editor (editors and admins): objectives, KRs, KPIs, links and dependencies."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from onpace.api.deps import Context
from onpace.api.errors import forbidden
from onpace.domain.model import (
    PERSPECTIVES,
    Aggregate,
    Dependency,
    Direction,
    Grain,
    KeyResult,
    Kpi,
    Measure,
    Objective,
    Perspective,
    Plan,
    Side,
)
from onpace.errors import UserError
from onpace.services import model_edit
from onpace.services.auth import may_edit_model
from onpace.web.pages import (
    Page,
    render,
    see_other,
)

router = APIRouter(include_in_schema=False)


def _editor(context: Context) -> None:
    if not may_edit_model(context.who):
        raise forbidden("only editors and admins change the model")


def _save(context: Context, edited: Any) -> None:
    model_edit.save_edit(context.session, context.org_id, edited, by=context.who.email, now=context.now)
    context.commit()


@router.get("/edit")
def edit_page(request: Request, context: Page) -> HTMLResponse:
    """Show the model editor: objectives, KRs, KPIs, links and dependencies with their forms."""
    _editor(context)
    return render(request, "edit.html", {"model": context.model, "perspectives": PERSPECTIVES})


def _blank(value: str) -> str | None:
    return value.strip() or None


@router.post("/edit/objectives")
def edit_objective(
    *,
    context: Page,
    id: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=500)],
    cycle: Annotated[str, Form(max_length=200)],
    unit: Annotated[str, Form(max_length=200)] = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    perspective: Annotated[Perspective | Literal[""], Form()] = "",
) -> Response:
    """Add or change an objective."""
    _editor(context)
    objective = Objective(
        id=id.strip(),
        title=title.strip(),
        cycle=cycle.strip(),
        unit=_blank(unit),
        owner=_blank(owner),
        perspective=perspective or None,
    )
    _save(context, model_edit.with_objective(context.model, objective))
    return see_other("/edit#objectives")


@router.post("/edit/krs")
def edit_kr(
    *,
    context: Page,
    id: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=500)],
    objective: Annotated[str, Form(max_length=200)],
    owner: Annotated[str, Form(max_length=200)] = "",
    kpi: Annotated[str, Form(max_length=200)] = "",
    weight: Annotated[float, Form(ge=0, le=1000, allow_inf_nan=False)] = 1.0,
) -> Response:
    """Add or change a key result (measured by a KPI, or by its feeds)."""
    _editor(context)
    model = context.model
    existing = next((k for k in model.key_results if k.id == id.strip()), None)
    base = existing or KeyResult(id=id.strip(), title="", objective=objective.strip(), owner=None)
    kr = dataclasses.replace(
        base,
        title=title.strip(),
        objective=objective.strip(),
        owner=_blank(owner),
        kpi=_blank(kpi),
        weight=weight,
    )
    _save(context, model_edit.with_key_result(model, kr))
    return see_other("/edit#krs")


@router.post("/edit/kpis")
def edit_kpi(
    *,
    context: Page,
    id: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=500)],
    unit: Annotated[str, Form(max_length=200)] = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    measure: Annotated[Measure, Form()] = "level",
    direction: Annotated[Direction, Form()] = "up",
    grain: Annotated[Grain, Form()] = "week",
    aggregate: Annotated[Aggregate, Form()] = "mean",
    target: Annotated[float | None, Form(allow_inf_nan=False)] = None,
    baseline: Annotated[float | None, Form(allow_inf_nan=False)] = None,
    leading: Annotated[bool, Form()] = False,
) -> Response:
    """Add or change a KPI (its feeds are kept; edit links separately)."""
    _editor(context)
    model = context.model
    existing = next((k for k in model.kpis if k.id == id.strip()), None)
    base = existing or Kpi(id=id.strip(), title="", unit=None, owners=())
    plan = Plan(baseline=baseline, target=target) if target is not None else base.plan
    kpi = dataclasses.replace(
        base,
        title=title.strip(),
        unit=_blank(unit),
        owners=(owner.strip(),) if owner.strip() else (),
        measure=measure,
        direction=direction,
        grain=grain,
        aggregate=aggregate,
        plan=plan,
        leading=leading,
    )
    _save(context, model_edit.with_kpi(model, kpi))
    return see_other("/edit#kpis")


@router.post("/edit/links")
def edit_link(
    context: Page,
    kpi: Annotated[str, Form(max_length=200)],
    kr: Annotated[str, Form(max_length=200)],
    weight: Annotated[float, Form(ge=0, le=1, allow_inf_nan=False)],
    lag_days: Annotated[int, Form(ge=0, le=3660)] = 0,
) -> Response:
    """Set the weight of a KPI → KR link (0 removes it)."""
    _editor(context)
    edited = model_edit.with_feed_weight(context.model, kpi.strip(), kr.strip(), weight or None, lag_days)
    _save(context, edited)
    return see_other("/edit#links")


@router.post("/edit/dependencies")
def edit_dependency(
    *,
    context: Page,
    id: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=500)],
    provider_unit: Annotated[str, Form(max_length=200)],
    provider_owner: Annotated[str, Form(max_length=200)],
    consumer_unit: Annotated[str, Form(max_length=200)],
    consumer_owner: Annotated[str, Form(max_length=200)],
    due: Annotated[dt.date, Form()],
    delivered: Annotated[str, Form(max_length=10)] = "",
    kpi: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add or change a dependency (record its delivery date here)."""
    _editor(context)
    try:
        delivered_on = dt.date.fromisoformat(delivered) if delivered.strip() else None
    except ValueError:
        raise UserError(f"delivered {delivered!r} is not a date (YYYY-MM-DD)") from None
    model = context.model
    existing = next((d for d in model.dependencies if d.id == id.strip()), None)
    dependency = Dependency(
        id=id.strip(),
        title=title.strip(),
        provider=Side(provider_unit.strip(), provider_owner.strip()),
        consumer=Side(consumer_unit.strip(), consumer_owner.strip()),
        due=due,
        delivered=delivered_on,
        kpi=_blank(kpi),
        blocks=existing.blocks if existing else (),
    )
    _save(context, model_edit.with_dependency(model, dependency))
    return see_other("/edit#dependencies")
