"""Sign a person in with email and password, throttled, audited, onto a server-side session.

One use-case for every door that takes passwords: check the throttle (a locked account or
address is refused before the password is checked), check the password, record and audit a
failure (and the lock it may start), or start a session and audit the sign-in. Signing out
ends the session and is audited too. Nothing here commits: the caller commits, so a failure
is recorded even though the answer is a refusal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from onpace.services import login_throttle
from onpace.services.audit import append_audit
from onpace.services.login_throttle import DEFAULT_POLICY, ThrottlePolicy
from onpace.services.sessions import end_session, start_session
from onpace.services.users import authenticate, find_user
from onpace.storage.tables import UserRow

WRONG = "wrong email or password"


@dataclass(frozen=True)
class SignIn:
    """The outcome: a user and the secret of their new session, or a refusal with its HTTP status."""

    user_id: int | None = None
    secret: str | None = None
    refusal: str | None = None
    status: int = 200
    retry_after: int | None = None


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    address: str | None,
    now: dt.datetime,
    policy: ThrottlePolicy = DEFAULT_POLICY,
) -> SignIn:
    """Check the credentials under the throttle; start a session or say why not (flushed, not committed)."""
    held = login_throttle.lockout(session, email=email, address=address, now=now, policy=policy)
    if held is not None:
        return _locked(held, now)
    user = authenticate(session, email, password)
    if user is None:
        known = find_user(session, email)
        org_id = known.org_id if known is not None else None
        subject = login_throttle.account_key(email)
        where = login_throttle.address_key(address)
        append_audit(
            session,
            org_id=org_id,
            at=now,
            actor=f"anonymous from {where}",
            action="login_failed",
            subject=subject,
            payload={"address": where, "account_exists": known is not None},
        )
        started = login_throttle.record_failure(
            session, email=email, address=address, now=now, org_id=org_id, policy=policy
        )
        if started is not None:
            append_audit(
                session,
                org_id=org_id,
                at=now,
                actor="sign-in throttle",
                action="login_locked",
                subject=subject if started.scope == "account" else where,
                payload={"scope": started.scope, "until": started.until, "failures": started.failures},
            )
            return _locked(started, now)
        return SignIn(refusal=WRONG, status=401)
    login_throttle.forget_account(session, email)
    secret = start_session(session, user, now=now)
    _audit_session(session, user, now, "signed_in", address)
    return SignIn(user_id=user.id, secret=secret)


def sign_out(session: Session, secret: str, *, address: str | None, now: dt.datetime) -> None:
    """End the session ``secret`` and audit it when it was live (flushed, not committed)."""
    user = end_session(session, secret, now=now, reason="signed_out")
    if user is not None:
        _audit_session(session, user, now, "signed_out", address)


def _audit_session(
    session: Session, user: UserRow, now: dt.datetime, action: str, address: str | None
) -> None:
    append_audit(
        session,
        org_id=user.org_id,
        at=now,
        actor=user.email,
        action=action,
        subject=user.email,
        payload={"address": login_throttle.address_key(address)},
    )


def _locked(held: login_throttle.Lockout, now: dt.datetime) -> SignIn:
    retry = max(1, int((held.until - now).total_seconds()))
    return SignIn(refusal=held.message(now), status=429, retry_after=retry)
