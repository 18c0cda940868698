"""Change accounts and tokens the one audited way: every door (pages, API, command line) calls these.

Each change appends an audit row in the same transaction — who (``by``), what (``action``, the
account or token as ``subject``) and the values before and after — and ends the sessions the
change must end: a deactivation or a password change ends every session of the user, so a
cookie taken before it stops working at once. Secrets never reach the audit log: a password
change records that it happened, a token its name and scope. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from onpace.errors import UserError
from onpace.services import tokens, users
from onpace.services.audit import append_audit
from onpace.services.sessions import end_user_sessions
from onpace.storage.tables import ApiTokenRow, UserRow

COMMAND_LINE = "command line"
"""The actor named for changes made with ``onpace user …`` and ``onpace token …``."""


def _audit(
    session: Session,
    *,
    org_id: int | None,
    by: str,
    now: dt.datetime,
    action: str,
    subject: str,
    before: dict[str, object] | None,
    after: dict[str, object] | None,
    **extra: object,
) -> None:
    append_audit(
        session,
        org_id=org_id,
        at=now,
        actor=by,
        action=action,
        subject=subject,
        payload={"before": before, "after": after, **extra},
    )


def _account(user: UserRow) -> dict[str, object]:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "person": user.person_id,
        "active": user.active,
        "signs_in_with_password": user.password_hash is not None,
    }


def add_user(
    session: Session,
    *,
    by: str,
    now: dt.datetime,
    email: str,
    name: str,
    role: str,
    password: str | None,
    person_id: str | None = None,
    org: str | None = None,
) -> UserRow:
    """Add a user (see :func:`onpace.services.users.add_user`) and audit it as ``user_added``."""
    user = users.add_user(
        session, email=email, name=name, role=role, password=password, now=now, person_id=person_id, org=org
    )
    _audit(
        session,
        org_id=user.org_id,
        by=by,
        now=now,
        action="user_added",
        subject=user.email,
        before=None,
        after=_account(user),
    )
    return user


def change_role(session: Session, email: str, role: str, *, by: str, now: dt.datetime) -> UserRow:
    """Change a user's role; audit ``user_role_changed`` with both roles (nothing when unchanged)."""
    user = _existing(session, email)
    before = user.role
    users.set_role(session, user.email, role)
    if user.role != before:
        _audit(
            session,
            org_id=user.org_id,
            by=by,
            now=now,
            action="user_role_changed",
            subject=user.email,
            before={"role": before},
            after={"role": user.role},
        )
    return user


def deactivate(session: Session, email: str, *, by: str, now: dt.datetime) -> UserRow:
    """Deactivate a user and end every session of theirs; audit ``user_deactivated``."""
    user = _existing(session, email)
    before = user.active
    users.deactivate_user(session, user.email)
    ended = end_user_sessions(session, user.id, now=now, reason="deactivated")
    _audit(
        session,
        org_id=user.org_id,
        by=by,
        now=now,
        action="user_deactivated",
        subject=user.email,
        before={"active": before},
        after={"active": False},
        sessions_ended=ended,
    )
    return user


def reactivate(session: Session, email: str, *, by: str, now: dt.datetime) -> UserRow:
    """Reactivate a user (they sign in again: no old session comes back); audit ``user_reactivated``."""
    user = _existing(session, email)
    before = user.active
    users.reactivate_user(session, user.email)
    _audit(
        session,
        org_id=user.org_id,
        by=by,
        now=now,
        action="user_reactivated",
        subject=user.email,
        before={"active": before},
        after={"active": True},
    )
    return user


def change_password(session: Session, email: str, password: str, *, by: str, now: dt.datetime) -> UserRow:
    """Set a user's password and end every session of theirs; audit ``user_password_changed``.

    The audit row says that the password changed and how many sessions ended, never the password
    or its hash.
    """
    user = _existing(session, email)
    had_password = user.password_hash is not None
    users.set_password(session, user.email, password)
    ended = end_user_sessions(session, user.id, now=now, reason="password_changed")
    _audit(
        session,
        org_id=user.org_id,
        by=by,
        now=now,
        action="user_password_changed",
        subject=user.email,
        before={"signs_in_with_password": had_password},
        after={"signs_in_with_password": True},
        sessions_ended=ended,
    )
    return user


def create_token(
    session: Session,
    *,
    by: str,
    now: dt.datetime,
    email: str,
    name: str,
    scope: str,
    org_id: int | None = None,
) -> tokens.NewToken:
    """Create an API token (see :func:`onpace.services.tokens.create_token`); audit ``token_created``."""
    new = tokens.create_token(session, email=email, name=name, scope=scope, now=now, org_id=org_id)
    row = session.get(ApiTokenRow, new.id)
    _audit(
        session,
        org_id=row.org_id if row is not None else None,
        by=by,
        now=now,
        action="token_created",
        subject=f"token {new.id}",
        before=None,
        after={"user": users.normalise_email(email), "name": new.name, "scope": new.scope},
    )
    return new


def revoke_token(
    session: Session,
    token_id: int,
    *,
    by: str,
    now: dt.datetime,
    user_id: int | None = None,
    org_id: int | None = None,
) -> ApiTokenRow:
    """Revoke a token (only ``user_id``'s, within ``org_id``, when given); audit ``token_revoked`` when it was live."""
    row = session.get(ApiTokenRow, token_id)
    was_live = row is not None and row.revoked_at is None
    row = tokens.revoke_token(session, token_id, now=now, user_id=user_id, org_id=org_id)
    if was_live:
        owner = session.get(UserRow, row.user_id)
        _audit(
            session,
            org_id=row.org_id,
            by=by,
            now=now,
            action="token_revoked",
            subject=f"token {row.id}",
            before={"revoked": False},
            after={"revoked": True},
            user=owner.email if owner is not None else None,
            name=row.name,
            scope=row.scope,
        )
    return row


def _existing(session: Session, email: str) -> UserRow:
    user = users.find_user(session, email)
    if user is None:
        raise UserError(f"there is no user {email.strip().lower()}")
    return user
