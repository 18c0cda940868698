"""Users in several organisations: the organisation of their account, and memberships in others.

Each organisation a user works in gives them a role and, optionally, a person of that
organisation's model. Which one a request works in is chosen by the door: the browser's chosen
organisation, or the organisation an API token was made in. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.errors import UserError
from onpace.services.users import Role, check_role, find_user, normalise_email
from onpace.storage.repositories import model_repo
from onpace.storage.tables import MembershipRow, OrgRow, PersonRow, UserRow


@dataclass(frozen=True)
class Seat:
    """A user's place in one organisation: its id and name, their role and their person."""

    org_id: int
    org: str
    role: Role
    person_id: str | None


def add_membership(
    session: Session, *, email: str, org: str, role: str, person_id: str | None, now: dt.datetime
) -> MembershipRow:
    """Let an existing user work in another organisation ``org`` with ``role`` (flushed, not committed).

    Adding them again changes their role and person there. Raise :class:`UserError` for an unknown
    user, organisation, role or person, or for the organisation of the user's own account.
    """
    user = find_user(session, normalise_email(email))
    if user is None:
        raise UserError(f"there is no user {email}")
    checked = check_role(role)
    org_row = model_repo.find_org(session, org)
    if user.org_id == org_row.id:
        raise UserError(f"{user.email} already belongs to {org_row.name!r} (their account's organisation)")
    if person_id is not None:
        person = session.get(PersonRow, (org_row.id, person_id))
        if person is None or person.archived_at is not None:
            raise UserError(f"there is no person {person_id!r} in the model of {org_row.name!r}")
    row = session.get(MembershipRow, (user.id, org_row.id))
    if row is None:
        row = MembershipRow(
            user_id=user.id, org_id=org_row.id, role=checked, person_id=person_id, created_at=now
        )
        session.add(row)
    else:
        row.role, row.person_id = checked, person_id
    session.flush()
    return row


def seats(session: Session, user: UserRow) -> list[Seat]:
    """Return the organisations ``user`` works in: their account's first, then the others by name."""
    found: list[Seat] = []
    if user.org_id is not None:
        home = session.get(OrgRow, user.org_id)
        if home is not None:
            found.append(Seat(home.id, home.name, check_role(user.role), user.person_id))
    rows = session.execute(
        select(MembershipRow, OrgRow.name)
        .join(OrgRow, OrgRow.id == MembershipRow.org_id)
        .where(MembershipRow.user_id == user.id)
        .order_by(OrgRow.name)
    )
    found.extend(Seat(m.org_id, name, check_role(m.role), m.person_id) for m, name in rows)
    return found


def seat_in(session: Session, user: UserRow, org_id: int | None) -> Seat | None:
    """Return the user's seat in organisation ``org_id`` (None: their account's), or None when they have none."""
    if org_id is None or org_id == user.org_id:
        if user.org_id is None:
            return None
        home = session.get(OrgRow, user.org_id)
        return Seat(user.org_id, home.name if home else "", check_role(user.role), user.person_id)
    row = session.get(MembershipRow, (user.id, org_id))
    if row is None:
        return None
    org = session.get(OrgRow, org_id)
    return Seat(org_id, org.name if org else "", check_role(row.role), row.person_id)
