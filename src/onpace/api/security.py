"""Session cookies and CSRF tokens for the browser; bearer tokens for programs.

The session cookie is a signed (itsdangerous, HMAC-SHA1 over the settings' secret key), time-
limited document ``{"uid": user id or None, "sid": session secret or None, "csrf": token}``.
Every visitor gets one, signed in or not, so even the sign-in form carries a CSRF token (login
CSRF). A signed-in cookie names a server-side session (``sid``, see
:mod:`onpace.services.sessions`): the signature alone never signs anyone in, so a session ended
on the server stops its cookie at once. The CSRF check is the
synchronizer pattern: an unsafe request authenticated by the cookie must echo the session's
token, in the ``X-CSRF-Token`` header (htmx and scripts) or the ``csrf_token`` form field.
Requests with a bearer token carry no cookie authority and need no CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

SESSION_COOKIE = "onpace_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class BrowserSession:
    """The content of a session cookie."""

    uid: int | None
    csrf: str
    sid: str | None = None


class SessionSigner:
    """Sign and read session cookies with the app's secret key."""

    def __init__(self, secret_key: str, *, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="onpace-session")
        self.secure = secure

    def read(self, cookie: str | None) -> BrowserSession | None:
        """Return the session in a cookie, or None when absent, forged, malformed or expired."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        uid, csrf, sid = data.get("uid"), data.get("csrf"), data.get("sid")
        if not isinstance(csrf, str) or not (uid is None or isinstance(uid, int)):
            return None
        if not (sid is None or isinstance(sid, str)):
            return None
        return BrowserSession(uid, csrf, sid)

    def write(self, response: Response, session: BrowserSession) -> None:
        """Set the session cookie on ``response``."""
        value = self._serializer.dumps({"uid": session.uid, "sid": session.sid, "csrf": session.csrf})
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )


def new_session(uid: int | None = None, sid: str | None = None) -> BrowserSession:
    """Return a fresh session (a new CSRF token each time, so signing in rotates it)."""
    return BrowserSession(uid, secrets.token_urlsafe(32), sid)


def csrf_matches(session: BrowserSession | None, given: str | None) -> bool:
    """Return whether ``given`` is the session's CSRF token (constant-time comparison)."""
    if session is None or not given:
        return False
    return hmac.compare_digest(session.csrf.encode(), given.encode())
