"""Throttle password guessing: lock an account, and a client address, after too many failed sign-ins.

Failed sign-ins are rows in the store (``login_failures``), so every server process counts the
same ones. An account (the email typed, whether or not it names a user, so the answer never
tells which emails have accounts) is locked after ``account_limit`` failures within
``window``; a client address after ``address_limit`` failures within ``window``, whichever
accounts they named. A lock holds until the oldest of those failures is ``window`` old; while
it holds, sign-ins are refused before the password is checked and are not counted, so the lock
ends when it said it would. A successful sign-in forgets the account's failures, not the address's.
Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from onpace.storage.tables import LoginFailureRow

MAX_EMAIL = 320
MAX_ADDRESS = 64


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures lock an account or an address, and for how long."""

    account_limit: int = 5
    address_limit: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)


DEFAULT_POLICY = ThrottlePolicy()


@dataclass(frozen=True)
class Lockout:
    """A lock in force: on the account or on the client address, until ``until``."""

    scope: Literal["account", "address"]
    until: dt.datetime
    failures: int

    def minutes_left(self, now: dt.datetime) -> int:
        """Return the whole minutes (at least 1) until the lock ends."""
        return max(1, math.ceil((self.until - now).total_seconds() / 60))

    def message(self, now: dt.datetime) -> str:
        """Return what the person signing in is told."""
        minutes = self.minutes_left(now)
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many failed sign-ins; try again in {minutes} {unit}."


def account_key(email: str) -> str:
    """Return the key under which failures of the email typed are counted."""
    return email.strip().lower()[:MAX_EMAIL]


def address_key(address: str | None) -> str:
    """Return the key under which failures from a client address are counted."""
    return (address or "unknown")[:MAX_ADDRESS]


def _oldest_of_limit(
    session: Session, column: InstrumentedAttribute[str], key: str, since: dt.datetime, limit: int
) -> dt.datetime | None:
    """Return when the oldest of the latest ``limit`` failures under ``key`` since ``since`` was, if there are that many."""
    stmt = (
        select(LoginFailureRow.at)
        .where(column == key, LoginFailureRow.at > since)
        .order_by(LoginFailureRow.at.desc())
        .limit(limit)
    )
    times = list(session.scalars(stmt))
    return times[-1] if len(times) >= limit else None


def lockout(
    session: Session,
    *,
    email: str,
    address: str | None,
    now: dt.datetime,
    policy: ThrottlePolicy = DEFAULT_POLICY,
) -> Lockout | None:
    """Return the lock that refuses this sign-in now (the account's first), or None."""
    since = now - policy.window
    checks: tuple[tuple[Literal["account", "address"], InstrumentedAttribute[str], str, int], ...] = (
        ("account", LoginFailureRow.email, account_key(email), policy.account_limit),
        ("address", LoginFailureRow.address, address_key(address), policy.address_limit),
    )
    for scope, column, key, limit in checks:
        oldest = _oldest_of_limit(session, column, key, since, limit)
        if oldest is not None:
            # The lock holds until the oldest of these failures leaves the window.
            return Lockout(scope, oldest + policy.window, limit)
    return None


def record_failure(
    session: Session,
    *,
    email: str,
    address: str | None,
    now: dt.datetime,
    org_id: int | None,
    policy: ThrottlePolicy = DEFAULT_POLICY,
) -> Lockout | None:
    """Record a failed sign-in; return the lock it starts, if it reaches a limit (flushed)."""
    # Rows older than the window never count again: drop this key's, so the table stays small.
    old = now - policy.window
    session.execute(
        delete(LoginFailureRow).where(LoginFailureRow.email == account_key(email), LoginFailureRow.at <= old)
    )
    session.execute(
        delete(LoginFailureRow).where(
            LoginFailureRow.address == address_key(address), LoginFailureRow.at <= old
        )
    )
    session.add(
        LoginFailureRow(org_id=org_id, email=account_key(email), address=address_key(address), at=now)
    )
    session.flush()
    return lockout(session, email=email, address=address, now=now, policy=policy)


def forget_account(session: Session, email: str) -> None:
    """Forget the failures of an account after it signed in (the address's stay counted)."""
    session.execute(delete(LoginFailureRow).where(LoginFailureRow.email == account_key(email)))
