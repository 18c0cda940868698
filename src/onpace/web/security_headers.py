"""Security headers on every response: a strict Content-Security-Policy with a nonce, and the usual rest.

An ASGI middleware (no request body buffering, a few microseconds a request) that, for every
HTTP response — pages, API, docs, static files and error answers alike — sets:

- ``Content-Security-Policy``: scripts only with this response's nonce (``script-src
  'nonce-…'``: no ``'self'``, no ``'unsafe-inline'``, no ``'unsafe-eval'``), so neither an
  injected inline script or event handler nor an injected ``<script src>`` runs; styles from
  the site or with the nonce (``style-src-attr 'unsafe-inline'`` lets ECharts and Swagger UI
  position their tooltips; a style attribute cannot run script); images from the site and
  ``data:``; fetches to the site only; no plugins, no ``<base>``, forms post to the site only,
  and ``frame-ancestors 'none'``.
- ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``, ``Cross-Origin-Opener-Policy: same-origin``.
- ``Strict-Transport-Security`` when the request came over https or the site's base URL is
  https (``ONPACE_BASE_URL``).

The nonce is fresh for each request and is put in ``request.state.csp_nonce``; templates give
it to their ``<script>`` and ``<style>`` elements (``nonce="{{ request.state.csp_nonce }}"``).
Pages keep no inline script: htmx's own inline indicator styles and script evaluation are
turned off by the ``htmx-config`` meta element of the page frame.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HSTS_SECONDS = 31_536_000


def content_security_policy(nonce: str) -> str:
    """Return the policy for a response whose scripts and styles carry ``nonce``."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _static_headers(hsts: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if hsts:
        headers.append((b"strict-transport-security", f"max-age={HSTS_SECONDS}; includeSubDomains".encode()))
    return headers


_REPLACED = frozenset(
    {
        b"content-security-policy",
        b"x-frame-options",
        b"x-content-type-options",
        b"referrer-policy",
        b"cross-origin-opener-policy",
        b"strict-transport-security",
    }
)


class SecurityHeaders:
    """Set the security headers on every HTTP response of the wrapped app."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        """Wrap ``app``; ``https`` says the site is served over https (send HSTS on every answer)."""
        self.app = app
        self._plain = _static_headers(hsts=https)
        self._secure = _static_headers(hsts=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Give the request a nonce and add the headers to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        fixed = self._secure if scope.get("scheme") == "https" else self._plain
        policy = (b"content-security-policy", content_security_policy(nonce).encode())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED]
                message["headers"] = [*kept, policy, *fixed]
            await send(message)

        await self.app(scope, receive, send_with_headers)
