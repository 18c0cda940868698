"""REST doors onto manual entries awaiting approval: list them, approve them, reject them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import Field

from onpace.api.deps import ReadContext, WriteContext
from onpace.api.errors import ApiError, forbidden, not_found
from onpace.api.responses import DocumentedRoute
from onpace.api.schemas import Out, Strict
from onpace.services import manual_approval as approval

#: Points and runs are numbered by 64-bit keys.
MAX_BIG_ID = 2**63 - 1
EntryPath = Annotated[int, Path(ge=1, le=MAX_BIG_ID, description="the entry's number (its ingest run)")]

router = APIRouter(prefix="/api/v1", tags=["data"], route_class=DocumentedRoute)

DECISION_ERRORS: dict[int | str, dict[str, object]] = {
    403: {
        "description": "Not allowed: a viewer or read token, not an approver of these points, or "
        "the person who entered them (four eyes)."
    },
    404: {"description": "No manual entry or point has that number."},
    409: {
        "description": "The points were already approved, rejected or replaced (or the store holds no model yet)."
    },
}


class PendingOut(Out):
    """A manual point awaiting approval: what it would change, who entered it and when."""

    point: int
    entry: int | None
    metric: str
    title: str
    date: dt.date
    source: str
    version: int
    in_force: float | None
    proposed: float
    entered_by: str | None
    entered_at: dt.datetime


class PointsBody(Strict):
    """Which points of the entry to decide: all of them when ``points`` is empty."""

    points: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_BIG_ID)]], Field(default_factory=list, max_length=10_000)
    ]


class DecisionOut(Out):
    """What a decision did."""

    decision: str
    entries: list[int]
    points: list[PendingOut]
    by: str
    at: dt.datetime


def _out(point: approval.PendingPoint) -> PendingOut:
    return PendingOut(
        point=point.id,
        entry=point.run_id,
        metric=point.metric,
        title=point.title,
        date=point.date,
        source=point.source,
        version=point.version,
        in_force=point.in_force,
        proposed=point.proposed,
        entered_by=point.entered_by,
        entered_at=point.entered_at,
    )


@router.get("/actuals/pending")
def list_pending(context: ReadContext) -> list[PendingOut]:
    """List manual points awaiting approval (policy ``approve_manual``), oldest first.

    Each names its entry (the ingest run that stored it), the value in force now and the one
    proposed; they count only once approved.
    """
    return [_out(p) for p in approval.pending_entries(context.session, context.org_id, context.model)]


def _decide(context: WriteContext, entry: int, body: PointsBody | None, *, approve: bool) -> DecisionOut:
    try:
        decision = approval.decide(
            context.session,
            context.org_id,
            context.model,
            approve=approve,
            who=approval.decider_of(context.who),
            now=context.now,
            run=entry,
            points=body.points if body is not None else (),
        )
    except approval.UnknownEntryError as exc:
        raise not_found(str(exc)) from None
    except approval.AlreadyDecidedError as exc:
        raise ApiError(409, str(exc)) from None
    except approval.RefusedError as exc:
        raise forbidden(str(exc)) from None
    context.commit()
    return DecisionOut(
        decision="approved" if decision.approved else "rejected",
        entries=list(decision.runs),
        points=[_out(p) for p in decision.points],
        by=decision.by,
        at=decision.at,
    )


@router.post("/actuals/pending/{entry}/approve", responses=DECISION_ERRORS)
def approve_pending(entry: EntryPath, context: WriteContext, body: PointsBody | None = None) -> DecisionOut:
    """Approve a manual entry, or the points of it named: their values come into force.

    The older versions are superseded and an evaluation of the organisation is queued. An
    editor, an admin or the head of the KPI's unit decides, never the person who entered the
    points (403); 404 for an unknown entry or point, 409 when they were already decided.
    """
    return _decide(context, entry, body, approve=True)


@router.post("/actuals/pending/{entry}/reject", responses=DECISION_ERRORS)
def reject_pending(entry: EntryPath, context: WriteContext, body: PointsBody | None = None) -> DecisionOut:
    """Reject a manual entry, or the points of it named: the values in force stay.

    Same rules and statuses as approving.
    """
    return _decide(context, entry, body, approve=False)
