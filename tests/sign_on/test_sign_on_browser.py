"""A real browser signs in through the real OpenID provider and lands on the mapped person's desk."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from oidc_world import ROLE_MAP, Provider
from pydantic import SecretStr
from web_world import SECRET_KEY, Persona

from onpace.app import create_app
from onpace.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
APP_PORT = 8462
BASE = f"http://127.0.0.1:{APP_PORT}"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]

playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def served(world: tuple[str, dict[str, Persona]], provider: Provider) -> Iterator[str]:
    """Serve the app, with single sign-on at the provider, on a loopback port."""
    client = provider.register(f"{BASE}/login/sso/callback")
    settings = Settings(
        database_url=world[0],
        secret_key=SecretStr(SECRET_KEY),
        base_url=BASE,
        oidc_issuer=client.issuer,
        oidc_client_id=client.client_id,
        oidc_client_secret=SecretStr(client.client_secret),
        oidc_allowed_domains="greenway.example",
        oidc_role_claim="groups",
        oidc_role_map=ROLE_MAP,
        outbound_allow="127.0.0.1",  # the provider runs on loopback, which the outbound guard refuses
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=APP_PORT, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the app did not start"
    yield BASE
    server.should_exit = True
    thread.join(timeout=10)


def test_a_browser_signs_in_through_the_provider_and_lands_on_anas_desk(served: str, tmp_path: Path) -> None:
    with playwright_sync.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{served}/")
            assert page.url.startswith(f"{served}/login")
            page.get_by_role("link", name="Sign in with single sign-on").click()
            page.wait_for_url("http://localhost:8460/oauth2/authorize*")
            # The provider's own page: Ana is one of its users.
            page.get_by_role("button", name="ana-sub").click()
            page.wait_for_url(f"{served}/")
            assert page.get_by_role("heading", name="My desk").is_visible()
            body = page.content()
            assert "not tied to a person" not in body
            assert "fulfilment_spend" in body
            page.screenshot(path=str(tmp_path / "desk-after-sso.png"))
        finally:
            browser.close()
