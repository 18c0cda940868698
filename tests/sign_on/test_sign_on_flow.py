# ruff: noqa: E402 - the warning filter must run before the test client is imported
"""Single sign-on through a real OpenID provider on loopback: the full redirect flow, no mocked protocol."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from oidc_world import ROLE_MAP, Provider
from pydantic import SecretStr
from sqlalchemy import select

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient
from web_world import SECRET_KEY, Persona

from onpace.app import create_app
from onpace.config import Settings
from onpace.storage.db import make_engine, make_session_factory
from onpace.storage.tables import UserRow

BASE = "http://testserver"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib")


def app_on(
    world: tuple[str, dict[str, Persona]], client: Provider, secret_file: Path, **extra: object
) -> FastAPI:
    """Return the app on the demo store with single sign-on at ``client``; the secret is read from a file."""
    secret_file.write_text(client.client_secret + "\n")
    import os

    os.environ["ONPACE_OIDC_CLIENT_SECRET_FILE"] = str(secret_file)
    try:
        settings = Settings(
            database_url=world[0],
            secret_key=SecretStr(SECRET_KEY),
            base_url=BASE,
            oidc_issuer=client.issuer,
            oidc_client_id=client.client_id,
            oidc_allowed_domains="greenway.example",
            oidc_role_claim="groups",
            oidc_role_map=ROLE_MAP,
            # The provider runs on loopback, which the outbound guard refuses unless it is listed.
            **{"outbound_allow": "127.0.0.1", **extra},  # type: ignore[arg-type]
        )
    finally:
        del os.environ["ONPACE_OIDC_CLIENT_SECRET_FILE"]
    assert settings.oidc_client_secret is not None
    assert settings.oidc_client_secret.get_secret_value() == client.client_secret
    return create_app(settings)


@pytest.fixture
def sso_client(
    world: tuple[str, dict[str, Persona]], provider: Provider, tmp_path: Path
) -> Iterator[TestClient]:
    registered = provider.register(f"{BASE}/login/sso/callback")
    with TestClient(app_on(world, registered, tmp_path / "oidc-secret"), follow_redirects=False) as client:
        yield client


def through_provider(client: TestClient, sub: str, next_path: str = "/") -> httpx.Response:
    """Walk the browser's path: start, the provider's page, the provider's answer, back to the app."""
    start = client.get(f"/login/sso?next={next_path}")
    assert start.status_code == 303
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    form = httpx.get(authorize, timeout=10)
    assert form.status_code == 200
    assert sub in form.text
    answer = httpx.post(authorize, data={"sub": sub}, timeout=10)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == f"{BASE}/login/sso/callback"
    return client.get(f"{back.path}?{back.query}")


def user_row(world: tuple[str, dict[str, Persona]], email: str) -> UserRow | None:
    engine = make_engine(world[0])
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(UserRow).where(UserRow.email == email))
    finally:
        engine.dispose()


def test_a_first_sign_in_provisions_the_user_tied_to_the_person_with_that_email(
    sso_client: TestClient, world: tuple[str, dict[str, Persona]]
) -> None:
    back = through_provider(sso_client, "ana-sub", "/scorecard")
    assert back.status_code == 303
    assert back.headers["location"] == "/scorecard"
    desk = sso_client.get("/")
    assert desk.status_code == 200
    assert "My desk" in desk.text
    assert "not tied to a person" not in desk.text
    assert "fulfilment_spend" in desk.text  # Ana's red KPI and its open case
    user = user_row(world, "ana@greenway.example")
    assert user is not None
    assert (user.person_id, user.role, user.password_hash, user.name) == ("ana", "owner", None, "Ana Costa")
    # Signing in again finds the same user.
    assert through_provider(sso_client, "ana-sub").status_code == 303
    assert sso_client.get("/").status_code == 200


def test_the_role_claim_maps_to_a_role_and_an_admin_page_opens(sso_client: TestClient) -> None:
    assert through_provider(sso_client, "grace-sub").status_code == 303
    assert sso_client.get("/users").status_code == 200


def test_an_address_outside_the_allowed_domains_is_refused_and_nobody_is_provisioned(
    sso_client: TestClient, world: tuple[str, dict[str, Persona]]
) -> None:
    refused = through_provider(sso_client, "mallory-sub")
    assert refused.status_code == 403
    assert "only greenway.example" in refused.text
    assert user_row(world, "mallory@elsewhere.example") is None
    assert sso_client.get("/", follow_redirects=False).status_code in (303, 401)


def test_a_forged_or_replayed_state_is_refused(sso_client: TestClient) -> None:
    start = sso_client.get("/login/sso")
    authorize = start.headers["location"]
    answer = httpx.post(authorize, data={"sub": "ana-sub"}, timeout=10)
    back = urlsplit(answer.headers["location"])
    forged = re.sub(r"state=[^&]+", "state=forged", back.query)
    assert sso_client.get(f"{back.path}?{forged}").status_code == 400
    # Without the flow cookie (another browser), the genuine answer is refused too.
    sso_client.cookies.clear()
    assert sso_client.get(f"{back.path}?{back.query}").status_code == 400


def test_a_wrong_client_secret_is_refused_by_the_provider_and_shown_plainly(
    world: tuple[str, dict[str, Persona]], provider: Provider, tmp_path: Path
) -> None:
    registered = provider.register(f"{BASE}/login/sso/callback")
    wrong = Provider(registered.issuer, registered.client_id, "not-the-secret")
    with TestClient(app_on(world, wrong, tmp_path / "secret"), follow_redirects=False) as client:
        answer = through_provider(client, "ana-sub")
    assert answer.status_code == 502
    assert "refused the code" in answer.text


def test_a_provider_on_an_address_the_outbound_guard_refuses_is_never_asked(
    world: tuple[str, dict[str, Persona]], provider: Provider, tmp_path: Path
) -> None:
    registered = provider.register(f"{BASE}/login/sso/callback")
    app = app_on(world, registered, tmp_path / "secret", outbound_allow="")
    with TestClient(app, follow_redirects=False) as client:
        answer = client.get("/login/sso")
    assert answer.status_code == 502
    assert "ONPACE_OUTBOUND_ALLOW" in answer.text


def test_with_password_login_off_the_form_is_gone_and_a_password_post_is_refused(
    world: tuple[str, dict[str, Persona]], provider: Provider, personas: dict[str, Persona], tmp_path: Path
) -> None:
    registered = provider.register(f"{BASE}/login/sso/callback")
    app = app_on(world, registered, tmp_path / "secret", password_login=False)
    with TestClient(app, follow_redirects=False) as client:
        page = client.get("/login")
        assert "Sign in with single sign-on" in page.text
        assert 'type="password"' not in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        token = csrf.group(1) if csrf else ""
        answer = client.post(
            "/login",
            data={"email": personas["owner"].email, "password": "correct horse battery", "csrf_token": token},
        )
        assert answer.status_code == 403
