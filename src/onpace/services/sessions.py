"""Browser sessions kept on the server: start one at sign-in, check it on each request, end it.

The session cookie carries a random secret (256 bits); the store keeps only its SHA-256 hex
digest, so a leaked database does not leak live sessions. A session is valid while its row is
not ended, has not expired, and its user is active. Signing out ends the one session; a
deactivation or a password change ends every session of the user, so an old cookie stops
working at once. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onpace.storage.tables import UserRow, WebSessionRow

SESSION_LIFETIME = dt.timedelta(hours=12)
EndReason = Literal["signed_out", "deactivated", "password_changed", "role_changed"]


def session_digest(secret: str) -> str:
    """Return the SHA-256 hex digest under which a session's secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def start_session(session: Session, user: UserRow, *, now: dt.datetime) -> str:
    """Start a session for ``user`` and return its secret, to be put in the cookie (flushed)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSessionRow(
            org_id=user.org_id,
            user_id=user.id,
            token_hash=session_digest(secret),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            ended_at=None,
            ended_reason=None,
        )
    )
    session.flush()
    return secret


def session_user(session: Session, secret: str, *, user_id: int, now: dt.datetime) -> UserRow | None:
    """Return the active user of the live session ``secret`` if it belongs to ``user_id``; else None."""
    stmt = (
        select(UserRow)
        .join(WebSessionRow, WebSessionRow.user_id == UserRow.id)
        .where(
            WebSessionRow.token_hash == session_digest(secret),
            WebSessionRow.user_id == user_id,
            WebSessionRow.ended_at.is_(None),
            WebSessionRow.expires_at > now,
            UserRow.active.is_(True),
        )
    )
    return session.scalar(stmt)


def end_session(
    session: Session, secret: str, *, now: dt.datetime, reason: EndReason = "signed_out"
) -> UserRow | None:
    """End the session ``secret``; return its user when a live one was ended, else None."""
    row = session.scalar(
        select(WebSessionRow).where(
            WebSessionRow.token_hash == session_digest(secret), WebSessionRow.ended_at.is_(None)
        )
    )
    if row is None:
        return None
    row.ended_at, row.ended_reason = now, reason
    session.flush()
    return session.get(UserRow, row.user_id)


def end_user_sessions(session: Session, user_id: int, *, now: dt.datetime, reason: EndReason) -> int:
    """End every live session of the user; return how many were ended."""
    stmt = (
        update(WebSessionRow)
        .where(WebSessionRow.user_id == user_id, WebSessionRow.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason)
    )
    ended: int = session.execute(stmt).rowcount  # type: ignore[attr-defined]  # a DML result
    return ended


def live_sessions(session: Session, user_id: int, *, now: dt.datetime) -> int:
    """Return how many sessions of the user are live."""
    stmt = select(WebSessionRow.id).where(
        WebSessionRow.user_id == user_id, WebSessionRow.ended_at.is_(None), WebSessionRow.expires_at > now
    )
    return len(list(session.scalars(stmt)))
