"""The web app's defences: tokens held to the API, security headers, sign-in throttle, sessions that end.

Each test reproduces an attack that once worked: a read token minting a write token through
the tokens page, responses without a Content-Security-Policy, unlimited password guessing, and
a cookie that kept working after sign-out. Tests change only the accounts they add, and guess
passwords from client addresses of their own, so the shared personas stay usable.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.engine import make_url
from web_world import PASSWORD, SECRET_KEY, Persona, sign_in

from onpace.api.security import SESSION_COOKIE
from onpace.app import create_app
from onpace.config import Settings
from onpace.storage.tables import ApiTokenRow, AuditRow

pytestmark = pytest.mark.store

EVERYONE = ("admin", "editor", "owner", "outsider", "viewer")


def store_url(app: FastAPI) -> str:
    url: str = app.state.onpace.settings.database_url
    return url


def audit_rows(app: FastAPI, action: str, subject: str | None = None) -> list[AuditRow]:
    """Return the audit rows of ``action`` (about ``subject`` when given), oldest first."""
    with app.state.onpace.sessions() as session:
        stmt = select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.seq)
        if subject is not None:
            stmt = stmt.where(AuditRow.subject == subject)
        return list(session.scalars(stmt))


def new_user(client: TestClient, personas: dict[str, Persona], role: str = "editor") -> str:
    """Add a user through the admin's form (in a client of its own); return the email."""
    email = f"sec-{uuid.uuid4().hex[:8]}@greenway.example"
    with TestClient(client.app, follow_redirects=False) as admin:
        csrf = sign_in(admin, personas["admin"])
        form = {"email": email, "name": "Sec Person", "role": role, "password": PASSWORD, "csrf_token": csrf}
        assert admin.post("/users", data=form).status_code == 303
    return email


def login(client: TestClient, email: str, password: str = PASSWORD) -> int:
    """Post the sign-in form; return the status code."""
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    form = {"email": email, "password": password, "csrf_token": csrf.group(1), "next": "/"}
    return client.post("/login", data=form).status_code


def from_address(app: FastAPI) -> TestClient:
    """Return a client whose requests come from an address no other test uses."""
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return TestClient(app, follow_redirects=False, client=(address, 40000))


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


# ---------------------------------------------------------------------------------------------
# tokens stay on the API


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("scope", ["read", "write"])
def test_no_token_mints_a_token_through_the_tokens_page_or_the_api(
    client: TestClient, personas: dict[str, Persona], who: str, scope: str
) -> None:
    persona = personas[who]
    bearer = {"Authorization": f"Bearer {persona.read_token if scope == 'read' else persona.token}"}
    with client.app.state.onpace.sessions() as session:  # type: ignore[attr-defined]
        before = session.scalar(select(ApiTokenRow.id).order_by(ApiTokenRow.id.desc()).limit(1))
    page = client.post("/tokens", data={"name": "minted", "scope": "write"}, headers=bearer)
    assert page.status_code == 403
    assert "signed-in session" in page.text
    api = client.post("/api/v1/tokens", json={"name": "minted", "scope": "write"}, headers=bearer)
    assert api.status_code == 403
    with client.app.state.onpace.sessions() as session:  # type: ignore[attr-defined]
        after = session.scalar(select(ApiTokenRow.id).order_by(ApiTokenRow.id.desc()).limit(1))
    assert after == before


def test_a_token_cannot_post_a_page_form_even_with_a_session_cookie_beside_it(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["viewer"])
    bearer = {"Authorization": f"Bearer {personas['admin'].read_token}"}
    form = {
        "email": "x@greenway.example",
        "name": "X",
        "role": "admin",
        "password": PASSWORD,
        "csrf_token": csrf,
    }
    assert client.post("/users", data=form, headers=bearer).status_code == 403
    assert client.get("/users", headers=bearer).status_code == 403


# ---------------------------------------------------------------------------------------------
# security headers


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/",
        "/scorecard",
        "/dependencies",
        "/review",
        "/api/v1/me",
        "/docs",
        "/openapi.json",
        "/static/app.js",
        "/static/vendor/htmx/htmx.min.js",
        "/nowhere",
        "/api/v1/nowhere",
        "/healthz",
    ],
)
def test_every_response_carries_a_strict_csp_and_the_usual_headers(
    client: TestClient, personas: dict[str, Persona], path: str
) -> None:
    sign_in(client, personas["admin"])
    answer = client.get(path)
    policy = answer.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    nonce = re.fullmatch(r"'nonce-([A-Za-z0-9_-]{16,})'", directives["script-src"][0])
    assert nonce is not None
    assert directives["script-src"] == [directives["script-src"][0]]
    assert "'unsafe-inline'" not in directives["style-src"]
    assert "'unsafe-eval'" not in policy
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in answer.headers
    if answer.headers.get("content-type", "").startswith("text/html"):
        # Every script and style element of the page carries this response's nonce, and no other.
        tags = re.findall(r"<(?:script|style)\b[^>]*>", answer.text)
        assert tags
        assert all(f'nonce="{nonce.group(1)}"' in tag for tag in tags), tags


def test_two_responses_never_share_a_nonce(client: TestClient) -> None:
    first = client.get("/login").headers["content-security-policy"]
    second = client.get("/login").headers["content-security-policy"]
    assert first != second


def test_hsts_is_sent_over_https_or_when_the_site_is_configured_as_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as secure:
        assert secure.get("/healthz").headers["strict-transport-security"].startswith("max-age=31536000")
    settings = Settings(
        database_url=store_url(app), secret_key=SecretStr(SECRET_KEY), base_url="https://onpace.example"
    )
    with TestClient(create_app(settings)) as configured:
        assert "max-age=" in configured.get("/healthz").headers["strict-transport-security"]


# ---------------------------------------------------------------------------------------------
# sign-in throttle


def test_guessing_passwords_locks_the_account_with_a_clear_message_and_is_audited(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    email = new_user(client, personas)
    with from_address(client.app) as guesser:
        answers = [login(guesser, email, f"wrong-{i}") for i in range(200)]
        assert answers[:4] == [401] * 4
        assert set(answers[4:]) == {429}
        # The right password does not get in while the lock holds.
        page = guesser.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(guesser.get("/login").text)},
        )
    assert page.status_code == 429
    assert "Too many failed sign-ins; try again in 15 minutes" in page.text
    assert 0 < int(page.headers["retry-after"]) <= 15 * 60
    # From another address the account is locked too: the lock is on the account.
    with from_address(client.app) as other:
        assert login(other, email) == 429
    assert len(audit_rows(client.app, "login_failed", email)) == 5
    locked = audit_rows(client.app, "login_locked", email)
    assert len(locked) == 1
    assert locked[0].payload["scope"] == "account"


def test_one_address_guessing_many_accounts_is_locked_out_of_every_account(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    email = new_user(client, personas)
    with from_address(client.app) as guesser:
        for i in range(20):
            assert login(guesser, f"nobody-{i}-{uuid.uuid4().hex[:6]}@greenway.example", "guess") in (
                401,
                429,
            )
        assert login(guesser, email) == 429
        address = guesser.get("/login")  # the page still opens
        assert address.status_code == 200
    with from_address(client.app) as elsewhere:
        assert login(elsewhere, email) == 303
    assert any(row.payload["scope"] == "address" for row in audit_rows(client.app, "login_locked"))


def test_the_lock_holds_in_every_server_process(client: TestClient, personas: dict[str, Persona]) -> None:
    email = new_user(client, personas)
    address = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with TestClient(client.app, follow_redirects=False, client=(address, 1)) as first:
        for i in range(5):
            login(first, email, f"wrong-{i}")
    # A second app on the same store, as a second ``onpace serve`` process would be.
    settings = Settings(database_url=store_url(client.app), secret_key=SecretStr(SECRET_KEY))
    with TestClient(create_app(settings), follow_redirects=False, client=(address, 2)) as second:
        assert login(second, email) == 429


@contextmanager
def another_process_writing(app: FastAPI) -> Iterator[None]:
    """Hold the SQLite write lock from another connection, and commit a change while the body runs.

    This is what a worker delivering or an ingest does to the web app: a request that read
    before that commit and then wants to write can no longer upgrade its transaction.
    """
    url = make_url(store_url(app))
    if url.get_backend_name() != "sqlite":
        pytest.skip("the write lock this reproduces is SQLite's")
    writer = sqlite3.connect(url.database, isolation_level=None, timeout=30, check_same_thread=False)
    locked = threading.Event()

    def hold_the_lock() -> None:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE users SET name = name")
        locked.set()
        time.sleep(1.5)
        writer.execute("COMMIT")

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        yield
    finally:
        holder.join()
        writer.close()


def test_signing_in_while_another_process_writes_waits_for_it_instead_of_failing(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    with from_address(client.app) as person:
        page = person.get("/login")
        form = {"email": personas["viewer"].email, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
        with another_process_writing(client.app):
            assert person.post("/login", data=form).status_code == 303


def test_a_page_form_sent_while_another_process_writes_waits_for_it_instead_of_failing(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    with TestClient(client.app, follow_redirects=False) as admin:
        csrf = sign_in(admin, personas["admin"])
        email = f"sec-{uuid.uuid4().hex[:8]}@greenway.example"
        form = {
            "email": email,
            "name": "Busy Store",
            "role": "viewer",
            "password": PASSWORD,
            "csrf_token": csrf,
        }
        with another_process_writing(client.app):
            assert admin.post("/users", data=form).status_code == 303


def test_a_successful_sign_in_forgets_the_accounts_earlier_failures(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    email = new_user(client, personas)
    with from_address(client.app) as person:
        for _ in range(4):
            assert login(person, email, "typo-typo") == 401
        assert login(person, email) == 303
        for _ in range(4):
            assert login(person, email, "typo-typo") == 401
        assert login(person, email) == 303


# ---------------------------------------------------------------------------------------------
# sessions that end


def cookie_of(client: TestClient) -> str:
    value = client.cookies.get(SESSION_COOKIE)
    assert value
    return value


def opens_the_desk(app: FastAPI, cookie: str) -> bool:
    """Return whether a fresh client carrying only ``cookie`` opens the desk."""
    with TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: cookie}) as thief:
        answer = thief.get("/")
    return answer.status_code == 200


def test_signing_out_ends_the_session_so_a_copied_cookie_stops_working(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["viewer"])
    copied = cookie_of(client)
    assert opens_the_desk(client.app, copied)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert not opens_the_desk(client.app, copied)
    assert client.get("/").status_code == 303
    assert audit_rows(client.app, "signed_out", personas["viewer"].email)


def test_deactivation_ends_every_session_and_reactivation_brings_none_back(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    email = new_user(client, personas)
    with from_address(client.app) as laptop, from_address(client.app) as phone:
        assert login(laptop, email) == 303
        assert login(phone, email) == 303
        cookies = [cookie_of(laptop), cookie_of(phone)]
    csrf = sign_in(client, personas["admin"])
    users = client.get("/users").text
    row = users[users.index(f'data-user="{email}"') :]
    user_id = re.search(r'action="/users/(\d+)/role"', row).group(1)  # type: ignore[union-attr]
    assert client.post(f"/users/{user_id}/deactivate", data={"csrf_token": csrf}).status_code == 303
    assert not any(opens_the_desk(client.app, cookie) for cookie in cookies)
    assert client.post(f"/users/{user_id}/reactivate", data={"csrf_token": csrf}).status_code == 303
    assert not any(opens_the_desk(client.app, cookie) for cookie in cookies)
    deactivated = audit_rows(client.app, "user_deactivated", email)
    assert deactivated[-1].payload["sessions_ended"] == 2
    assert deactivated[-1].actor == personas["admin"].email


def test_changing_my_password_ends_my_other_sessions_and_keeps_this_one(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    email = new_user(client, personas)
    with from_address(client.app) as laptop, from_address(client.app) as phone:
        assert login(laptop, email) == 303
        assert login(phone, email) == 303
        old_laptop, old_phone = cookie_of(laptop), cookie_of(phone)
        form = {"current": PASSWORD, "new": "a much newer secret", "again": "a much newer secret"}
        form["csrf_token"] = csrf_of(laptop.get("/account/password").text)
        assert laptop.post("/account/password", data=form).status_code == 303
        assert "Password changed" in laptop.get("/account/password?changed=true").text
        assert not opens_the_desk(client.app, old_phone)
        assert not opens_the_desk(client.app, old_laptop)
        assert opens_the_desk(client.app, cookie_of(laptop))
        assert login(phone, email) == 401
        assert login(phone, email, "a much newer secret") == 303
    changed = audit_rows(client.app, "user_password_changed", email)
    assert len(changed) == 1
    assert changed[0].actor == email
    assert "a much newer secret" not in str(changed[0].payload)


def test_a_wrong_current_password_changes_nothing(client: TestClient, personas: dict[str, Persona]) -> None:
    email = new_user(client, personas)
    with from_address(client.app) as laptop:
        assert login(laptop, email) == 303
        form = {"current": "not it at all", "new": "another secret", "again": "another secret"}
        form["csrf_token"] = csrf_of(laptop.get("/account/password").text)
        assert laptop.post("/account/password", data=form).status_code == 400
        assert laptop.get("/").status_code == 200
    with from_address(client.app) as other:
        assert login(other, email) == 303


# ---------------------------------------------------------------------------------------------
# account changes are audited


def test_every_account_change_writes_an_audit_row_with_who_and_before_and_after(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    admin = personas["admin"].email
    email = new_user(client, personas, role="viewer")
    added = audit_rows(client.app, "user_added", email)
    assert added[0].actor == admin
    assert added[0].payload["after"]["role"] == "viewer"
    assert added[0].payload["before"] is None
    csrf = sign_in(client, personas["admin"])
    users = client.get("/users").text
    row = users[users.index(f'data-user="{email}"') :]
    user_id = re.search(r'action="/users/(\d+)/role"', row).group(1)  # type: ignore[union-attr]
    client.post(f"/users/{user_id}/role", data={"role": "editor", "csrf_token": csrf})
    role = audit_rows(client.app, "user_role_changed", email)[-1]
    assert (role.actor, role.payload["before"], role.payload["after"]) == (
        admin,
        {"role": "viewer"},
        {"role": "editor"},
    )
    made = client.post("/tokens", data={"name": "audit me", "scope": "write", "csrf_token": csrf})
    token_id = int(re.findall(r'data-token="(\d+)"', made.text)[0])
    created = audit_rows(client.app, "token_created", f"token {token_id}")
    assert created[0].payload["after"] == {"user": admin, "name": "audit me", "scope": "write"}
    secret = re.search(r'<code id="token-secret">([^<]+)</code>', made.text).group(1)  # type: ignore[union-attr]
    assert secret not in str(created[0].payload)
    client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    revoked = audit_rows(client.app, "token_revoked", f"token {token_id}")
    assert revoked[0].payload["before"] == {"revoked": False}
    assert revoked[0].payload["after"] == {"revoked": True}
    client.post(f"/users/{user_id}/deactivate", data={"csrf_token": csrf})
    client.post(f"/users/{user_id}/reactivate", data={"csrf_token": csrf})
    assert audit_rows(client.app, "user_deactivated", email)[-1].payload["after"] == {"active": False}
    assert audit_rows(client.app, "user_reactivated", email)[-1].payload["after"] == {"active": True}


def test_a_token_created_and_revoked_through_the_api_is_audited(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["owner"])
    made = client.post(
        "/api/v1/tokens", json={"name": "api made", "scope": "read"}, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 201
    token_id = made.json()["id"]
    assert audit_rows(client.app, "token_created", f"token {token_id}")[0].actor == personas["owner"].email
    gone = client.delete(f"/api/v1/tokens/{token_id}", headers={"X-CSRF-Token": csrf})
    assert gone.status_code == 200
    assert audit_rows(client.app, "token_revoked", f"token {token_id}")
