"""The account pages: who may manage users (admins) and tokens (everyone, their own), and what each does.

Every persona meets every route: admin, editor, an owner (Ana), another unit's owner (Ivo), a
viewer, and anonymous visitors, who are sent to sign in. Tests change only accounts they add,
so the personas stay as the other tests expect them.
"""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from web_world import PASSWORD, Persona, sign_in

pytestmark = pytest.mark.store

EVERYONE = ("admin", "editor", "owner", "outsider", "viewer")


def new_email() -> str:
    return f"new-{uuid.uuid4().hex[:8]}@greenway.example"


def user_id(page: str, email: str) -> int:
    """Return the id of ``email``'s row on the users page (from its role form)."""
    row = page[page.index(f'data-user="{email}"') :]
    found = re.search(r'action="/users/(\d+)/role"', row)
    assert found is not None
    return int(found.group(1))


def add_user(client: TestClient, csrf: str, email: str, role: str = "viewer") -> int:
    """Add a user through the admin's form; return their id."""
    form = {"email": email, "name": "New Person", "role": role, "password": PASSWORD, "csrf_token": csrf}
    assert client.post("/users", data=form).status_code == 303
    return user_id(client.get("/users").text, email)


def can_sign_in(client: TestClient, email: str) -> bool:
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    form = {"email": email, "password": PASSWORD, "csrf_token": csrf.group(1), "next": "/"}
    return client.post("/login", data=form).status_code == 303


# ---------------------------------------------------------------------------------------------
# the permission matrix


@pytest.mark.parametrize("who", [*EVERYONE, "anonymous"])
def test_only_admins_open_the_users_page_and_everyone_signed_in_their_tokens(
    client: TestClient, personas: dict[str, Persona], who: str
) -> None:
    if who == "anonymous":
        for path in ("/users", "/tokens"):
            answer = client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/login?next={path}"
        return
    sign_in(client, personas[who])
    users = client.get("/users")
    assert users.status_code == (200 if who == "admin" else 403)
    assert client.get("/tokens").status_code == 200
    desk = client.get("/").text
    assert ('href="/users"' in desk) == (who == "admin")
    assert 'href="/tokens"' in desk


@pytest.mark.parametrize("who", EVERYONE)
def test_only_admins_add_change_deactivate_and_reactivate_users(
    client: TestClient, personas: dict[str, Persona], who: str
) -> None:
    admin_csrf = sign_in(client, personas["admin"])
    target = add_user(client, admin_csrf, new_email())
    csrf = sign_in(client, personas[who])
    allowed = 303 if who == "admin" else 403
    attempts = [
        ("/users", {"email": new_email(), "name": "X", "role": "viewer", "password": PASSWORD}),
        (f"/users/{target}/role", {"role": "editor"}),
        (f"/users/{target}/deactivate", {}),
        (f"/users/{target}/reactivate", {}),
    ]
    for path, form in attempts:
        assert client.post(path, data={**form, "csrf_token": csrf}).status_code == allowed, path


@pytest.mark.parametrize("who", EVERYONE)
def test_everyone_creates_and_revokes_their_own_tokens_but_not_anothers(
    client: TestClient, personas: dict[str, Persona], who: str
) -> None:
    csrf = sign_in(client, personas["editor" if who != "editor" else "owner"])
    made = client.post("/tokens", data={"name": "someone else's", "scope": "read", "csrf_token": csrf})
    assert made.status_code == 201
    anothers = int(re.findall(r'data-token="(\d+)"', made.text)[0])
    csrf = sign_in(client, personas[who])
    mine = client.post("/tokens", data={"name": f"{who}'s laptop", "scope": "read", "csrf_token": csrf})
    assert mine.status_code == 201
    own = int(re.findall(r'data-token="(\d+)"', mine.text)[0])
    assert client.post(f"/tokens/{own}/revoke", data={"csrf_token": csrf}).status_code == 303
    # Admins may revoke anyone's token, as through the API; the others only their own.
    answer = client.post(f"/tokens/{anothers}/revoke", data={"csrf_token": csrf})
    assert answer.status_code == (303 if who == "admin" else 404)


def test_account_forms_without_the_csrf_token_are_refused(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["admin"])
    form = {"email": new_email(), "name": "X", "role": "viewer", "password": PASSWORD}
    assert client.post("/users", data=form).status_code == 403
    assert client.post("/tokens", data={"name": "no csrf"}).status_code == 403


# ---------------------------------------------------------------------------------------------
# what the pages do


def test_the_users_page_lists_each_user_with_role_and_person_by_name(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["admin"])
    page = client.get("/users").text
    owner = page[page.index(f'data-user="{personas["owner"].email}"') :].split("</tr>", 1)[0]
    # The person reads as a name; the id stays in the tooltip.
    assert '<span title="ana">Ana Costa</span>' in owner
    assert "<td>ana</td>" not in owner
    assert '<option value="ana" title="ana">Ana Costa</option>' in page
    assert "<option selected>owner</option>" in owner
    assert "active" in owner


def test_an_added_user_signs_in_and_a_deactivated_one_is_stopped_at_once_until_reactivated(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["admin"])
    email = new_email()
    target = add_user(client, csrf, email, role="owner")
    with TestClient(client.app, follow_redirects=False) as other:
        assert can_sign_in(other, email)
        assert other.get("/").status_code == 200
        assert client.post(f"/users/{target}/deactivate", data={"csrf_token": csrf}).status_code == 303
        # The session they hold stops working with the next request, not after some delay.
        assert other.get("/").status_code == 303
        assert not can_sign_in(other, email)
        assert client.post(f"/users/{target}/reactivate", data={"csrf_token": csrf}).status_code == 303
        assert can_sign_in(other, email)


def test_a_role_change_applies_to_the_users_next_request(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["admin"])
    email = new_email()
    target = add_user(client, csrf, email, role="viewer")
    with TestClient(client.app, follow_redirects=False) as other:
        assert can_sign_in(other, email)
        assert other.get("/edit").status_code == 403
        assert (
            client.post(f"/users/{target}/role", data={"role": "editor", "csrf_token": csrf}).status_code
            == 303
        )
        assert other.get("/edit").status_code == 200


def test_an_admin_cannot_demote_or_deactivate_themselves(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["admin"])
    me = user_id(client.get("/users").text, personas["admin"].email)
    demoted = client.post(f"/users/{me}/role", data={"role": "viewer", "csrf_token": csrf})
    assert demoted.status_code == 400
    assert "ask another admin" in demoted.text
    assert client.post(f"/users/{me}/deactivate", data={"csrf_token": csrf}).status_code == 400
    assert client.get("/users").status_code == 200


def test_adding_a_user_with_bad_input_says_what_is_wrong_and_adds_nobody(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["admin"])
    taken = {"email": personas["viewer"].email, "name": "Dup", "role": "viewer", "csrf_token": csrf}
    answer = client.post("/users", data=taken)
    assert answer.status_code == 400
    assert "already a user" in answer.text
    short = {"email": new_email(), "name": "Short", "role": "viewer", "password": "short", "csrf_token": csrf}
    answer = client.post("/users", data=short)
    assert answer.status_code == 400
    assert "at least 8 characters" in answer.text
    assert short["email"] not in client.get("/users").text
    nobody = {"email": new_email(), "name": "P", "role": "owner", "person": "nobody", "csrf_token": csrf}
    assert client.post("/users", data=nobody).status_code == 400
    bad_role = {"email": new_email(), "name": "R", "role": "boss", "csrf_token": csrf}
    assert client.post("/users", data=bad_role).status_code == 422


def test_a_new_token_is_shown_once_works_and_stops_when_revoked(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["owner"])
    made = client.post("/tokens", data={"name": "sheet export", "scope": "write", "csrf_token": csrf})
    assert made.status_code == 201
    assert made.headers["cache-control"] == "no-store"
    secret = re.search(r'<code id="token-secret">([^<]+)</code>', made.text)
    assert secret is not None
    token = secret.group(1)
    listed = client.get("/tokens").text
    assert "sheet export" in listed
    assert token not in listed
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).json()["email"] == personas["owner"].email
    token_id = int(re.findall(r'data-token="(\d+)"', made.text)[0])
    assert client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert "revoked" in client.get("/tokens").text


def test_a_viewer_may_create_read_tokens_only(client: TestClient, personas: dict[str, Persona]) -> None:
    csrf = sign_in(client, personas["viewer"])
    assert 'value="write"' not in client.get("/tokens").text
    refused = client.post("/tokens", data={"name": "w", "scope": "write", "csrf_token": csrf})
    assert refused.status_code == 403
    assert client.post("/tokens", data={"name": "r", "scope": "read", "csrf_token": csrf}).status_code == 201


def test_the_tokens_page_names_each_token_and_keeps_its_number_in_the_tooltip(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/tokens").text
    table = page[page.index('id="tokens"') :].split("</table>", 1)[0]
    assert "<th>#</th>" not in table
    row = re.search(r'<tr data-token="(\d+)" title="token (\d+)"[^>]*>\s*<td>([^<]+)</td>', table)
    assert row is not None
    assert row[1] == row[2]
    assert not row[3].strip().isdigit()
    assert "<td>tests read</td>" in table
