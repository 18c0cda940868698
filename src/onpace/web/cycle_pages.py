"""The cycles page: every cycle's state and grades, and the admins' close form (a thin door onto
``services.cycle_close``). A close refused for a missing decision says which, as a 400 page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from onpace.api.errors import forbidden
from onpace.errors import UserError
from onpace.services.auth import may_manage_users
from onpace.services.cycle_close import CarryOver, close_cycle
from onpace.services.cycle_state import cycle_lines
from onpace.services.cycle_view import cycle_view
from onpace.web.pages import Page, render

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]


@router.get("/cycles")
def cycles_page(request: Request, context: Page, cycle: str | None = None) -> HTMLResponse:
    """List the cycles with their state; show one cycle's KRs and objectives (grades once closed)."""
    lines = cycle_lines(context.session, context.org_id, context.model, context.now.date())
    chosen = cycle or next((line.id for line in reversed(lines) if line.state in ("closed", "ended")), None)
    view = (
        cycle_view(context.session, context.org_id, context.model, chosen, context.now.date())
        if chosen
        else None
    )
    return render(
        request,
        "cycles.html",
        {"lines": lines, "view": view, "may_close": may_manage_users(context.who)},
    )


def _listed(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@router.post("/cycles/{cycle_id}/close")
def cycle_close(
    cycle_id: str,
    context: Page,
    *,
    carry_cases: Text = "",
    carry_krs: Text = "",
    drop_unfinished: Annotated[bool, Form()] = False,
    carry_plans: Text = "",
    next_cycle: Text = "",
) -> Response:
    """Close a cycle as an admin, with the carry-over decisions of the form."""
    if not may_manage_users(context.who):
        raise forbidden("only admins close a cycle")
    cases: str | list[int] | None = carry_cases.strip() or None
    if cases not in (None, "all", "none"):
        try:
            cases = [int(part) for part in _listed(str(cases))]
        except ValueError:
            raise UserError(
                f"carry cases takes all, none or case numbers like 3,7, not {carry_cases!r}"
            ) from None
    plans: str | list[str] | None = carry_plans.strip() or None
    if plans not in (None, "all", "none"):
        plans = _listed(str(plans))
    carry = CarryOver(
        cases=cases, krs=tuple(_listed(carry_krs)), drop_unfinished=drop_unfinished, plans=plans
    )
    close_cycle(
        context.session,
        context.org_id,
        context.model,
        cycle_id,
        carry=carry,
        by=context.who.person_id or context.who.name,
        now=context.now,
        next_id=next_cycle.strip() or None,
    )
    context.commit()
    return RedirectResponse(f"/cycles?cycle={cycle_id}", status_code=303)
