"""Single sign-on with OpenID Connect: the authorization code flow with PKCE, against any provider.

``GET /login/sso`` reads the provider's discovery document, makes a state, a nonce and a PKCE
verifier, keeps them in a short-lived signed cookie and sends the browser to the provider.
``GET /login/sso/callback`` checks the state, exchanges the code (client secret and PKCE
verifier) at the token endpoint, verifies the ID token (signature against the provider's keys,
issuer, audience, expiry, nonce), asks the userinfo endpoint for the email when the token has
none, and hands the claims to :func:`onpace.services.sign_on.sign_on`, which decides who they
are. Then a fresh session starts, as after a password sign-in.

The redirect URI to register at the provider is ``ONPACE_BASE_URL`` + ``/login/sso/callback``.
Every request to the provider (discovery, token, keys, userinfo) goes through the outbound
guard (:mod:`onpace.outbound`): a provider on a private or loopback address must be listed in
``ONPACE_OUTBOUND_ALLOW``.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import httpx
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from onpace import outbound
from onpace.api.deps import app_state, now, signer
from onpace.api.security import new_session
from onpace.config import Settings
from onpace.errors import UserError
from onpace.services.sessions import start_session
from onpace.services.sign_on import SignOnPolicy, sign_on
from onpace.web.pages import TEMPLATES, error_page

router = APIRouter(include_in_schema=False)
FLOW_COOKIE = "onpace_sso"
FLOW_MAX_AGE = 600
CALLBACK_PATH = "/login/sso/callback"
LEEWAY_S = 60
ASYMMETRIC = ("RS", "PS", "ES", "EdDSA")


class ProviderError(UserError):
    """The identity provider could not be reached or answered something unusable."""


def enabled(settings: Settings) -> bool:
    """Return whether single sign-on is configured (issuer and client id)."""
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def _offer(request: Request) -> dict[str, bool]:
    settings = app_state(request).settings
    return {"sso": enabled(settings), "password": settings.password_login or not enabled(settings)}


# The sign-in page asks which ways in to offer.
TEMPLATES.env.globals["sign_in_offer"] = _offer


@functools.lru_cache(maxsize=4)
def discover(issuer: str, allow: str = "") -> dict[str, Any]:
    """Return the provider's discovery document (read once per process); check its issuer.

    ``allow`` is the setting ``outbound_allow``: the provider is reached through the outbound
    guard, like every request onpace sends, so a provider on a private address must be listed.
    """
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = _get_json(url, outbound.Allowlist.parse(allow))
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise ProviderError(f"{url} names issuer {document.get('issuer')!r}, not {issuer!r}")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise ProviderError(f"{url} has no {key}")
    return document


def _send(
    method: str,
    url: str,
    allow: outbound.Allowlist,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    auth: tuple[str, str] | None = None,
) -> httpx.Response:
    """Send one request to the provider through the outbound guard (``ONPACE_OUTBOUND_ALLOW``)."""
    with httpx.Client(timeout=10, auth=auth) as client:
        answer, _ = outbound.request(client, method, url, allow=allow, headers=headers, content=content)
        return answer


def _get_json(url: str, allow: outbound.Allowlist, headers: dict[str, str] | None = None) -> dict[str, Any]:
    try:
        answer = _send("GET", url, allow, headers=headers)
        answer.raise_for_status()
        data = answer.json()
    except outbound.OutboundError as exc:
        raise ProviderError(f"the identity provider cannot be read ({url}: {exc.message})") from None
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderError(f"the identity provider cannot be read ({url}: {exc})") from None
    if not isinstance(data, dict):
        raise ProviderError(f"{url} did not answer a JSON object")
    return data


def _serializer(request: Request) -> URLSafeTimedSerializer:
    settings = app_state(request).settings
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    return URLSafeTimedSerializer(key, salt="onpace-sso-flow")


def _callback_url(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + CALLBACK_PATH


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login/sso")
def start(request: Request, next: str | None = None) -> Response:
    """Send the browser to the identity provider, remembering state, nonce and PKCE verifier."""
    settings = app_state(request).settings
    if not enabled(settings):
        return error_page(request, 404, "single sign-on is not set up here")
    assert settings.oidc_issuer is not None
    assert settings.oidc_client_id is not None
    try:
        provider = discover(settings.oidc_issuer, settings.outbound_allow)
    except ProviderError as exc:
        discover.cache_clear()
        return error_page(request, 502, str(exc))
    flow = {
        "state": generate_token(32),
        "nonce": generate_token(32),
        "verifier": generate_token(64),
        "next": _safe_next(next),
    }
    query = httpx.QueryParams(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": _callback_url(settings),
            "scope": settings.oidc_scopes,
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": create_s256_code_challenge(flow["verifier"]),
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{provider['authorization_endpoint']}?{query}", status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        _serializer(request).dumps(flow),
        max_age=FLOW_MAX_AGE,
        httponly=True,
        samesite="lax",  # the provider sends the browser back with a top-level GET
        secure=settings.base_url.startswith("https://"),
        path="/login/sso",
    )
    return response


@router.get(CALLBACK_PATH)
def callback(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """Finish the sign-in: check the answer, verify the ID token, provision or find the user."""
    settings = app_state(request).settings
    if not enabled(settings):
        return error_page(request, 404, "single sign-on is not set up here")
    try:
        flow = _serializer(request).loads(request.cookies.get(FLOW_COOKIE, ""), max_age=FLOW_MAX_AGE)
    except BadSignature:
        return error_page(request, 400, "this sign-in did not start here or took too long; sign in again")
    if error is not None:
        return error_page(
            request, 401, f"the identity provider did not sign you in: {error_description or error}"
        )
    if not code or not state or state != flow.get("state"):
        return error_page(
            request, 400, "this answer from the identity provider does not match the sign-in; try again"
        )
    try:
        claims = _verified_claims(settings, code, flow)
        state_ = app_state(request)
        with state_.writing_session() as session:
            user = sign_on(session, claims, SignOnPolicy.from_settings(settings), now=now())
            # A server-side session, as for a password sign-in: sign-out and deactivation end it.
            secret = start_session(session, user, now=now())
            session.commit()
            uid = user.id
        state_.forget()  # a role the provider changed applies at once
    except UserError as exc:
        status = 502 if isinstance(exc, ProviderError) else 403
        return error_page(request, status, str(exc))
    response = RedirectResponse(flow.get("next", "/"), status_code=303)
    signer(request).write(response, new_session(uid, secret))
    response.delete_cookie(FLOW_COOKIE, path="/login/sso")
    return response


def _verified_claims(settings: Settings, code: str, flow: dict[str, str]) -> dict[str, Any]:
    assert settings.oidc_issuer is not None
    assert settings.oidc_client_id is not None
    provider = discover(settings.oidc_issuer, settings.outbound_allow)
    allow = outbound.Allowlist.parse(settings.outbound_allow)
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": _callback_url(settings),
        "code_verifier": flow["verifier"],
        "client_id": settings.oidc_client_id,
    }
    try:
        answer = _send(
            "POST",
            provider["token_endpoint"],
            allow,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            content=str(httpx.QueryParams(form)).encode(),
            auth=(settings.oidc_client_id, secret) if secret else None,
        )
    except outbound.OutboundError as exc:
        raise ProviderError(f"the identity provider's token endpoint is not allowed: {exc.message}") from None
    except httpx.HTTPError as exc:
        raise ProviderError(f"the identity provider's token endpoint cannot be reached: {exc}") from None
    if answer.status_code != 200:
        raise ProviderError(
            f"the identity provider refused the code (HTTP {answer.status_code}): {answer.text[:200]}"
        )
    tokens = answer.json()
    id_token = tokens.get("id_token") if isinstance(tokens, dict) else None
    if not isinstance(id_token, str):
        raise ProviderError("the identity provider sent no ID token; is `openid` among the scopes?")
    claims = _checked_id_token(settings.oidc_client_id, provider, id_token, flow["nonce"], allow)
    if "email" not in claims and isinstance(provider.get("userinfo_endpoint"), str):
        access = tokens.get("access_token")
        info = _get_json(provider["userinfo_endpoint"], allow, headers={"Authorization": f"Bearer {access}"})
        if info.get("sub") == claims.get("sub"):
            claims = {**info, **claims}
    return claims


def _checked_id_token(
    client_id: str, provider: dict[str, Any], id_token: str, nonce: str, allow: outbound.Allowlist
) -> dict[str, Any]:
    keys = KeySet.import_key_set(_get_json(provider["jwks_uri"], allow))  # type: ignore[arg-type]
    try:
        offered = provider.get("id_token_signing_alg_values_supported") or ["RS256"]
        # Only signatures by the provider's published keys: never "none", never a shared-secret HMAC.
        algorithms = [a for a in offered if isinstance(a, str) and a.startswith(ASYMMETRIC)] or ["RS256"]
        token = jwt.decode(id_token, keys, algorithms=algorithms)
        registry = jwt.JWTClaimsRegistry(
            now=int(time.time()),
            leeway=LEEWAY_S,
            iss={"essential": True, "value": provider["issuer"]},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise ProviderError(f"the ID token from the identity provider is not valid: {exc}") from None
    return dict(token.claims)
