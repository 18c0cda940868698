"""Sign-in accounts: add people who may use the app, check their passwords, change their role.

Passwords are kept only as argon2 hashes (pwdlib's recommended settings). A user belongs to an
organisation (``org_id``; None means the store's only organisation) and may be tied to a person
of the model (``person_id``), which is how the app knows which cases and KPIs are theirs.
Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypeGuard

from pwdlib import PasswordHash
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from onpace.errors import UserError
from onpace.storage.repositories import model_repo
from onpace.storage.tables import PersonRow, UserRow

Role = Literal["admin", "editor", "owner", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "editor", "owner", "viewer")
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHash.recommended()
# Verifying against a real hash when the email is unknown keeps the answer time the same,
# so response times do not tell which emails have accounts.
_DUMMY_HASH = _hasher.hash("onpace-no-such-user")


def hash_password(password: str) -> str:
    """Return the argon2 hash of ``password``; refuse passwords shorter than 8 characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    """Return the email trimmed and lower-cased; refuse text that is not an address."""
    cleaned = email.strip().lower()
    local, _, domain = cleaned.partition("@")
    if not local or not domain or " " in cleaned:
        raise UserError(f"{email!r} is not an email address")
    return cleaned


def is_role(role: str) -> TypeGuard[Role]:
    """Return whether ``role`` is one of admin, editor, owner, viewer."""
    return role in ROLES


def check_role(role: str) -> Role:
    """Return ``role`` if it is one of admin, editor, owner, viewer; else raise UserError."""
    if not is_role(role):
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def add_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    password: str | None,
    now: dt.datetime,
    person_id: str | None = None,
    org: str | None = None,
) -> UserRow:
    """Add a user and return it (flushed, not committed).

    ``org`` names the organisation (None: the store's only one, or none yet). ``person_id``
    must be a person of that organisation's model. A user without a password cannot sign in
    to the web pages but can hold API tokens. Raise :class:`UserError` for a taken email, an
    unknown role or person, or a short password.
    """
    address = normalise_email(email)
    checked_role = check_role(role)
    if not name.strip():
        raise UserError("a user needs a name")
    if find_user(session, address) is not None:
        raise UserError(f"there is already a user {address}")
    org_id = _org_id(session, org)
    if person_id is not None:
        if org_id is None:
            raise UserError("load a model before tying a user to a person")
        person = session.get(PersonRow, (org_id, person_id))
        if person is None or person.archived_at is not None:
            raise UserError(f"there is no person {person_id!r} in the model")
    user = UserRow(
        org_id=org_id,
        email=address,
        name=name.strip(),
        person_id=person_id,
        role=checked_role,
        password_hash=hash_password(password) if password is not None else None,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def _org_id(session: Session, org: str | None) -> int | None:
    if org is None and not model_repo.org_names(session):
        return None
    return model_repo.find_org(session, org).id


def find_user(session: Session, email: str) -> UserRow | None:
    """Return the user with this email (any case), or None."""
    stmt = select(UserRow).where(func.lower(UserRow.email) == email.strip().lower())
    return session.scalar(stmt)


def get_user(session: Session, user_id: int) -> UserRow | None:
    """Return the active user with this id, or None."""
    user = session.get(UserRow, user_id)
    return user if user is not None and user.active else None


def authenticate(session: Session, email: str, password: str) -> UserRow | None:
    """Return the active user whose email and password match, or None (same work either way)."""
    user = find_user(session, email)
    stored = user.password_hash if user is not None and user.active else None
    valid = _hasher.verify(password, stored or _DUMMY_HASH)
    return user if valid and stored is not None else None


def set_password(session: Session, email: str, password: str) -> UserRow:
    """Replace a user's password."""
    user = _existing(session, email)
    user.password_hash = hash_password(password)
    session.flush()
    return user


def set_role(session: Session, email: str, role: str) -> UserRow:
    """Change a user's role."""
    user = _existing(session, email)
    user.role = check_role(role)
    session.flush()
    return user


def deactivate_user(session: Session, email: str) -> UserRow:
    """Stop a user from signing in or using tokens; the account and its history stay."""
    user = _existing(session, email)
    user.active = False
    session.flush()
    return user


def reactivate_user(session: Session, email: str) -> UserRow:
    """Let a deactivated user sign in and use their tokens again."""
    user = _existing(session, email)
    user.active = True
    session.flush()
    return user


def user_by_id(session: Session, user_id: int, *, org_id: int | None = None) -> UserRow | None:
    """Return the user with this id, active or not (only of ``org_id`` or of no organisation when given)."""
    user = session.get(UserRow, user_id)
    if user is None or (org_id is not None and user.org_id not in (org_id, None)):
        return None
    return user


def list_users(session: Session, *, org_id: int | None = None) -> list[UserRow]:
    """Return every user (of ``org_id`` or of no organisation when given), by email."""
    stmt = select(UserRow).order_by(UserRow.email)
    if org_id is not None:
        stmt = stmt.where(or_(UserRow.org_id == org_id, UserRow.org_id.is_(None)))
    return list(session.scalars(stmt))


def _existing(session: Session, email: str) -> UserRow:
    user = find_user(session, email)
    if user is None:
        raise UserError(f"there is no user {email.strip().lower()}")
    return user
