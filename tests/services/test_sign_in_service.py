"""Sign-in under the throttle, and sessions on the server, with explicit time (no clock, no waiting)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.services import account_changes
from onpace.services.login_throttle import ThrottlePolicy, lockout
from onpace.services.sessions import SESSION_LIFETIME, session_user
from onpace.services.sign_in import sign_in, sign_out
from onpace.storage.tables import AuditRow, LoginFailureRow

pytestmark = pytest.mark.store

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"
POLICY = ThrottlePolicy(account_limit=3, address_limit=5, window=dt.timedelta(minutes=10))


def add(session: Session, email: str = "maria@example.org") -> str:
    account_changes.add_user(
        session, by="tests", now=T0, email=email, name="Maria", role="owner", password=PASSWORD
    )
    return email


def attempt(session: Session, email: str, password: str, at: dt.datetime, address: str = "10.0.0.1") -> int:
    return sign_in(session, email=email, password=password, address=address, now=at, policy=POLICY).status


def test_the_lock_starts_at_the_limit_and_ends_when_its_oldest_failure_leaves_the_window(
    session: Session,
) -> None:
    email = add(session)
    minute = dt.timedelta(minutes=1)
    assert [attempt(session, email, "nope", T0 + i * minute) for i in range(3)] == [401, 401, 429]
    refused = sign_in(
        session, email=email, password=PASSWORD, address="10.0.0.9", now=T0 + 5 * minute, policy=POLICY
    )
    assert refused.status == 429
    assert refused.refusal == "Too many failed sign-ins; try again in 5 minutes."
    assert refused.retry_after == 5 * 60
    # Refused attempts are not counted, so the lock ends on time.
    assert attempt(session, email, PASSWORD, T0 + 10 * minute - dt.timedelta(seconds=1)) == 429
    assert attempt(session, email, PASSWORD, T0 + 10 * minute) == 200


def test_failures_outside_the_window_do_not_count(session: Session) -> None:
    email = add(session)
    for i in range(6):
        assert attempt(session, email, "nope", T0 + i * dt.timedelta(minutes=6)) == 401
    # Old rows are dropped as new ones come: the table keeps only what may still count.
    rows = session.scalars(select(LoginFailureRow).where(LoginFailureRow.email == email)).all()
    assert len(rows) == 2


def test_the_answer_is_the_same_for_an_unknown_email(session: Session) -> None:
    statuses = [
        attempt(session, "ghost@example.org", "nope", T0 + i * dt.timedelta(seconds=1)) for i in range(4)
    ]
    assert statuses == [401, 401, 429, 429]
    audit = session.scalars(
        select(AuditRow).where(AuditRow.subject == "ghost@example.org").order_by(AuditRow.seq)
    ).all()
    assert [row.action for row in audit] == ["login_failed", "login_failed", "login_failed", "login_locked"]
    assert audit[0].payload == {"address": "10.0.0.1", "account_exists": False}


def test_an_address_is_locked_across_accounts(session: Session) -> None:
    email = add(session)
    for i in range(5):
        attempt(session, f"guess-{i}@example.org", "nope", T0, address="10.0.0.66")
    held = lockout(session, email=email, address="10.0.0.66", now=T0, policy=POLICY)
    assert held is not None
    assert held.scope == "address"
    assert attempt(session, email, PASSWORD, T0, address="10.0.0.66") == 429
    assert attempt(session, email, PASSWORD, T0, address="10.0.0.67") == 200


def test_a_session_lives_until_it_is_ended_or_expires(session: Session) -> None:
    email = add(session)
    started = sign_in(session, email=email, password=PASSWORD, address=None, now=T0, policy=POLICY)
    assert started.secret is not None
    assert started.user_id is not None
    secret, uid = started.secret, started.user_id
    assert session_user(session, secret, user_id=uid, now=T0 + SESSION_LIFETIME - dt.timedelta(seconds=1))
    assert session_user(session, secret, user_id=uid, now=T0 + SESSION_LIFETIME) is None
    assert session_user(session, secret, user_id=uid + 1, now=T0) is None
    sign_out(session, secret, address=None, now=T0 + dt.timedelta(minutes=1))
    assert session_user(session, secret, user_id=uid, now=T0 + dt.timedelta(minutes=2)) is None
    actions = session.scalars(
        select(AuditRow.action).where(AuditRow.subject == email).order_by(AuditRow.seq)
    ).all()
    assert actions == ["user_added", "signed_in", "signed_out"]


def test_a_password_change_ends_every_session_of_the_user(session: Session) -> None:
    email = add(session)
    first = sign_in(session, email=email, password=PASSWORD, address=None, now=T0, policy=POLICY)
    second = sign_in(session, email=email, password=PASSWORD, address=None, now=T0, policy=POLICY)
    account_changes.change_password(session, email, "a new long secret", by=email, now=T0)
    for started in (first, second):
        assert started.secret is not None
        assert started.user_id is not None
        assert session_user(session, started.secret, user_id=started.user_id, now=T0) is None
    row = session.scalars(select(AuditRow).where(AuditRow.action == "user_password_changed")).one()
    assert row.payload["sessions_ended"] == 2
