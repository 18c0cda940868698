"""API tokens: created for a user, shown once, stored as a SHA-256 digest, scoped, revocable.

A token is ``onp_`` followed by 43 URL-safe random characters (256 bits). The store keeps only
its SHA-256 hex digest, so a leaked database does not leak working tokens; a fast hash is
enough because the token is random, not chosen by a person. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.errors import UserError
from onpace.services.users import find_user
from onpace.storage.tables import ApiTokenRow, UserRow

Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")
PREFIX = "onp_"


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``token`` is the secret, shown to the user this one time."""

    id: int
    name: str
    scope: Scope
    token: str


def digest(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, *, email: str, name: str, scope: str, now: dt.datetime, org_id: int | None = None
) -> NewToken:
    """Create a token for the user with ``email``; return it with its secret (flushed, not committed).

    The token works in organisation ``org_id`` (default: the one of the user's account).
    """
    if scope not in SCOPES:
        raise UserError(f"token scope {scope!r} is not one of {', '.join(SCOPES)}")
    if not name.strip():
        raise UserError("a token needs a name that says what it is for")
    user = find_user(session, email)
    if user is None or not user.active:
        raise UserError(f"there is no active user {email.strip().lower()}")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(
        org_id=org_id if org_id is not None else user.org_id,
        user_id=user.id,
        name=name.strip(),
        token_hash=digest(secret),
        scope=scope,
        created_at=now,
        last_used_at=None,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return NewToken(row.id, row.name, "read" if scope == "read" else "write", secret)


def revoke_token(
    session: Session,
    token_id: int,
    *,
    now: dt.datetime,
    user_id: int | None = None,
    org_id: int | None = None,
) -> ApiTokenRow:
    """Revoke a token (only one of ``user_id``'s, or of organisation ``org_id``, when given).

    Revoking twice keeps the first time. A token of another user or organisation is "not there".
    """
    row = session.get(ApiTokenRow, token_id)
    if (
        row is None
        or (user_id is not None and row.user_id != user_id)
        or (org_id is not None and row.org_id != org_id)
    ):
        raise UserError(f"there is no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return row


def list_tokens(session: Session, user_id: int | None = None) -> list[ApiTokenRow]:
    """Return tokens (of one user when given), newest first; never their secrets."""
    stmt = select(ApiTokenRow).order_by(ApiTokenRow.id.desc())
    if user_id is not None:
        stmt = stmt.where(ApiTokenRow.user_id == user_id)
    return list(session.scalars(stmt))


def token_org_id(session: Session, token: str) -> int | None:
    """Return the organisation a token was made in (None when unknown)."""
    return session.scalar(select(ApiTokenRow.org_id).where(ApiTokenRow.token_hash == digest(token)))


def user_for_token(session: Session, token: str, *, now: dt.datetime) -> tuple[UserRow, Scope] | None:
    """Return the active user and scope of a live token, noting its use; None for anything else."""
    if not token.startswith(PREFIX):
        return None
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or not user.active:
        return None
    # Writing on every call would serialise readers on SQLite; a minute's precision is enough.
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        row.last_used_at = now
    return user, cast(Scope, row.scope)
