"""REST doors onto cases: list, read with the timeline, and the people's transitions.

Everyone signed in reads cases. Explaining, committing an action, completing one, commenting
and closing are for the people the case belongs to (owner, holder, participants) and admins.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from onpace.api import schemas as s
from onpace.api.convert import case_out, event_out
from onpace.api.deps import Context, ReadContext, WriteContext
from onpace.api.errors import forbidden, not_found
from onpace.api.responses import DocumentedRoute
from onpace.domain.cases import Case
from onpace.errors import UserError
from onpace.services import cases as case_service
from onpace.services.auth import may_work_case

RowIdPath = Annotated[int, Path(ge=1, le=s.MAX_ROW_ID)]

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], route_class=DocumentedRoute)


def _load(context: Context, case_id: int) -> Case:
    try:
        return case_service.load_case(context.session, context.org_id, case_id)
    except UserError:
        raise not_found(f"there is no case {case_id}") from None


def _workable(context: Context, case_id: int) -> Case:
    case = _load(context, case_id)
    if not may_work_case(context.who, case):
        raise forbidden(
            f"case {case_id} is not yours: only its owner, holder, participants or an admin may work it"
        )
    return case


def actor(context: Context) -> str:
    """Return how the principal is named in case timelines: their person id, else their email."""
    return context.who.person_id or context.who.email


def _detail(context: Context, case_id: int) -> s.CaseDetailOut:
    case = _load(context, case_id)
    events = case_service.case_history(context.session, context.org_id, case_id)
    return s.CaseDetailOut(case=case_out(case), events=[event_out(e) for e in events])


@router.get("")
def list_cases(
    context: ReadContext,
    open_only: Annotated[bool, Query(alias="open")] = True,
    mine: bool = False,
) -> list[s.CaseOut]:
    """List cases (open ones by default); ``mine=true`` keeps those the signed-in person is party to."""
    person = (context.who.person_id or "") if mine else None
    found = case_service.list_cases(context.session, context.org_id, mine=person, open_only=open_only)
    return [case_out(c) for c in found]


@router.get("/{case_id}")
def get_case(case_id: RowIdPath, context: ReadContext) -> s.CaseDetailOut:
    """Return a case with its events timeline."""
    return _detail(context, case_id)


@router.post("/{case_id}/explain")
def explain(case_id: RowIdPath, body: s.ExplainBody, context: WriteContext) -> s.CaseDetailOut:
    """Record the root cause (category and text)."""
    _workable(context, case_id)
    case_service.explain_case(
        context.session,
        context.org_id,
        case_id,
        category=body.category,
        text=body.text,
        by=actor(context),
        now=context.now,
    )
    context.commit()
    return _detail(context, case_id)


@router.post("/{case_id}/act")
def act(case_id: RowIdPath, body: s.ActBody, context: WriteContext) -> s.CaseDetailOut:
    """Commit a corrective action with an owner and a due date."""
    _workable(context, case_id)
    if context.model.person(body.owner) is None:
        raise UserError(f"there is no person {body.owner!r} to own the action")
    case_service.act_on_case(
        context.session,
        context.org_id,
        case_id,
        title=body.title,
        owner=body.owner,
        due=body.due,
        by=actor(context),
        now=context.now,
    )
    context.commit()
    return _detail(context, case_id)


@router.post("/{case_id}/complete")
def complete(case_id: RowIdPath, body: s.CompleteBody, context: WriteContext) -> s.CaseDetailOut:
    """Mark one of the case's corrective actions done."""
    _workable(context, case_id)
    case_service.complete_action(
        context.session, context.org_id, case_id, body.action, by=actor(context), now=context.now
    )
    context.commit()
    return _detail(context, case_id)


@router.post("/{case_id}/comment")
def comment(case_id: RowIdPath, body: s.CommentBody, context: WriteContext) -> s.CaseDetailOut:
    """Add a comment to the timeline."""
    _workable(context, case_id)
    case_service.comment_on_case(
        context.session, context.org_id, case_id, text=body.text, by=actor(context), now=context.now
    )
    context.commit()
    return _detail(context, case_id)


@router.post("/{case_id}/close")
def close(case_id: RowIdPath, body: s.CloseBody, context: WriteContext) -> s.CaseDetailOut:
    """Resolve the case by hand (it reopens if the next evaluation still finds the problem)."""
    _workable(context, case_id)
    case_service.close_case(
        context.session, context.org_id, case_id, by=actor(context), now=context.now, note=body.note
    )
    context.commit()
    return _detail(context, case_id)
