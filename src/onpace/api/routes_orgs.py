"""``GET /api/v1/orgs``: the organisations the caller belongs to, their role in each, and the current one."""

from __future__ import annotations

from fastapi import APIRouter

from onpace.api import schemas as s
from onpace.api.deps import ReadContext
from onpace.api.responses import DocumentedRoute
from onpace.services.memberships import seats
from onpace.services.users import get_user

router = APIRouter(prefix="/api/v1", tags=["account"], route_class=DocumentedRoute)


@router.get("/orgs")
def list_orgs(context: ReadContext) -> list[s.OrgSeatOut]:
    """List my organisations; ``current`` marks the one this session or token works in."""
    user = get_user(context.session, context.who.user_id)
    mine = seats(context.session, user) if user is not None else []
    return [
        s.OrgSeatOut(
            name=seat.org, role=seat.role, person=seat.person_id, current=seat.org_id == context.org_id
        )
        for seat in mine
    ]
