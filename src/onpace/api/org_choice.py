"""Remember which organisation a browser works in: a signed cookie beside the session cookie.

The cookie holds an organisation id signed with the app's key; it only chooses among the
organisations the signed-in user belongs to (the principal is resolved against their seats), so
a forged or stale value can do no more than fall back to the user's own organisation.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

ORG_COOKIE = "onpace_org"
_SALT = "onpace-org-choice"


def _serializer(request: Request) -> URLSafeSerializer:
    settings = request.app.state.onpace.settings
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    return URLSafeSerializer(key, salt=_SALT)


def chosen_org(request: Request) -> int | None:
    """Return the organisation id this browser chose, or None."""
    raw = request.cookies.get(ORG_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer(request).loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def choose_org(request: Request, response: Response, org_id: int) -> None:
    """Set the cookie that makes this browser work in ``org_id``."""
    secure = str(request.app.state.onpace.settings.base_url).startswith("https://")
    response.set_cookie(
        ORG_COOKIE, _serializer(request).dumps(org_id), httponly=True, samesite="lax", secure=secure, path="/"
    )
