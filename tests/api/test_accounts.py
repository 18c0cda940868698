"""Users and API tokens as services: argon2 hashes, unique emails, tokens stored only as digests."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.errors import UserError
from onpace.services.tokens import create_token, digest, revoke_token, user_for_token
from onpace.services.users import add_user, authenticate, deactivate_user
from onpace.storage.tables import ApiTokenRow

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def test_a_user_is_stored_with_an_argon2_hash_and_signs_in_with_the_password(session: Session) -> None:
    user = add_user(
        session, email=" Mia@Example.org ", name="Mia", role="viewer", password="long enough pw", now=NOW
    )
    assert user.email == "mia@example.org"
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2")
    assert "long enough pw" not in user.password_hash
    assert authenticate(session, "MIA@example.org", "long enough pw") is not None
    assert authenticate(session, "mia@example.org", "wrong password") is None
    assert authenticate(session, "nobody@example.org", "long enough pw") is None


@pytest.mark.parametrize(
    ("email", "role", "password", "message"),
    [
        ("a@example.org", "boss", "long enough pw", "role 'boss' is not one of"),
        ("not-an-email", "viewer", "long enough pw", "is not an email address"),
        ("b@example.org", "viewer", "short", "at least 8 characters"),
    ],
)
def test_bad_user_details_are_refused_with_the_reason(
    session: Session, email: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        add_user(session, email=email, name="X", role=role, password=password, now=NOW)


def test_an_email_is_taken_once(session: Session) -> None:
    add_user(session, email="c@example.org", name="C", role="owner", password="long enough pw", now=NOW)
    with pytest.raises(UserError, match="already a user"):
        add_user(session, email="C@example.org", name="C2", role="viewer", password="long enough pw", now=NOW)


def test_a_token_is_kept_only_as_its_digest_and_stops_when_revoked(session: Session) -> None:
    add_user(session, email="d@example.org", name="D", role="editor", password=None, now=NOW)
    new = create_token(session, email="d@example.org", name="etl", scope="write", now=NOW)
    stored = session.scalars(select(ApiTokenRow.token_hash).where(ApiTokenRow.id == new.id)).one()
    assert stored == digest(new.token)
    assert new.token not in stored
    found = user_for_token(session, new.token, now=NOW)
    assert found is not None
    assert found[1] == "write"
    revoke_token(session, new.id, now=NOW)
    assert user_for_token(session, new.token, now=NOW) is None


def test_a_deactivated_user_neither_signs_in_nor_uses_tokens(session: Session) -> None:
    add_user(session, email="e@example.org", name="E", role="owner", password="long enough pw", now=NOW)
    new = create_token(session, email="e@example.org", name="cli", scope="read", now=NOW)
    deactivate_user(session, "e@example.org")
    assert authenticate(session, "e@example.org", "long enough pw") is None
    assert user_for_token(session, new.token, now=NOW) is None
