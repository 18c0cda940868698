"""A real OpenID provider on loopback for the single sign-on tests, and the users it knows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from oidc_provider_mock import User, run_server_in_thread

PROVIDER_PORT = 8460
ISSUER = f"http://localhost:{PROVIDER_PORT}"
# People of the demo organisation as the provider knows them: Ana is in the online team's group,
# Grace in the leadership group; Mallory's domain is not Greenway's.
USERS = (
    User(
        sub="ana-sub",
        claims={
            "email": "Ana@greenway.example",
            "email_verified": True,
            "name": "Ana Costa",
            "groups": ["online"],
        },
    ),
    User(
        sub="grace-sub",
        claims={
            "email": "grace@greenway.example",
            "email_verified": True,
            "name": "Grace Obi",
            "groups": ["leaders"],
        },
    ),
    User(sub="mallory-sub", claims={"email": "mallory@elsewhere.example", "email_verified": True}),
)
ROLE_MAP = "leaders=admin,online=owner"


@dataclass(frozen=True)
class Provider:
    """The running provider and the client registered for the app."""

    issuer: str
    client_id: str
    client_secret: str

    def register(self, redirect_uri: str) -> Provider:
        """Register another client (for another redirect URI) and return it."""
        answer = httpx.post(
            f"{self.issuer}/oauth2/clients", json={"redirect_uris": [redirect_uri]}, timeout=10
        )
        answer.raise_for_status()
        body = answer.json()
        return Provider(self.issuer, body["client_id"], body["client_secret"])


@pytest.fixture(scope="session")
def provider() -> Iterator[Provider]:
    """Run the OpenID provider (clients must register; nonces required) for the test session."""
    with run_server_in_thread(
        port=PROVIDER_PORT, require_client_registration=True, require_nonce=True, user_claims=USERS
    ):
        yield Provider(ISSUER, "", "")
