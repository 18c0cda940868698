"""The "Waiting for approval" page: manual entries to approve or reject, by the people who may.

Pending points are grouped by entry (the ingest run that stored them). Every reader sees the
list; the buttons are offered to those the four-eyes rule lets decide
(:func:`onpace.services.manual_approval.refusal`). A decision posts with the CSRF token and
redirects (303) back to the page it came from: this page or the KPI's own.
"""

from __future__ import annotations

from collections.abc import Collection
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from onpace.api.errors import ApiError, forbidden, not_found
from onpace.domain.accountability import SubjectIndex
from onpace.services import manual_approval as approval
from onpace.web.format import subject_units
from onpace.web.names import source_names
from onpace.web.pages import Page, RowIdPath, render, see_other

router = APIRouter(include_in_schema=False)

PAGE = "/approvals"


def pending_groups(context: Page, only: Collection[str] | None = None) -> list[dict[str, object]]:
    """Return the pending entries (those with points of ``only``'s metrics when given), each with
    its points and whether the reader may decide it."""
    model = context.model
    points = approval.pending_entries(context.session, context.org_id, model)
    if only is not None:
        entries = {p.run_id for p in points if p.metric in only}
        points = [p for p in points if p.run_id in entries]
    who = approval.decider_of(context.who)
    today = context.now.date()
    index = SubjectIndex(model, today)
    groups: list[dict[str, object]] = []
    for entry, grouped in groupby(points, key=lambda p: p.run_id):
        listed = list(grouped)
        groups.append(
            {
                "entry": entry,
                "points": listed,
                "entered_by": listed[0].entered_by,
                "entered_at": listed[0].entered_at,
                "refusal": approval.refusal(model, who, listed, today, index)
                if context.who.writes
                else "you only read",
            }
        )
    return groups


def approval_context(context: Page, only: Collection[str] | None = None) -> dict[str, object]:
    """Return what the "Waiting for approval" list needs to render (see ``_approvals.html``)."""
    model = context.model
    return {
        "pending": pending_groups(context, only),
        "names": {p.id: p.name for p in model.people} | {p.email: p.name for p in model.people if p.email},
        "uoms": subject_units(model),
        "sources": source_names(model),
        "krs": {kr.id for kr in model.key_results},
    }


@router.get(PAGE)
def approvals_page(request: Request, context: Page) -> HTMLResponse:
    """Show every manual entry waiting for approval, with Approve and Reject for those who may."""
    return render(request, "approvals.html", {**approval_context(context), "back": PAGE})


def _back(target: str) -> str:
    # Only this page or a KPI's or KR's own: a form must not send people elsewhere.
    if target.startswith(("/kpis/", "/krs/")) and "//" not in target and "\\" not in target:
        return target
    return PAGE


@router.post(PAGE + "/{entry}/{decision}")
def approvals_decide(
    entry: RowIdPath, decision: str, context: Page, back: Annotated[str, Form(max_length=300)] = PAGE
) -> Response:
    """Approve or reject a manual entry, then go back to the page the form was on."""
    if decision not in ("approve", "reject"):
        raise not_found("an entry is approved or rejected")
    if not context.who.writes:
        raise forbidden("viewers cannot approve or reject entries")
    try:
        approval.decide(
            context.session,
            context.org_id,
            context.model,
            approve=decision == "approve",
            who=approval.decider_of(context.who),
            now=context.now,
            run=entry,
        )
    except approval.UnknownEntryError as exc:
        raise not_found(str(exc)) from None
    except approval.AlreadyDecidedError as exc:
        raise ApiError(409, str(exc)) from None
    except approval.RefusedError as exc:
        raise forbidden(str(exc)) from None
    context.commit()
    return see_other(_back(back))
