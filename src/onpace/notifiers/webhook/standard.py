"""Sign webhook requests per the Standard Webhooks specification (https://www.standardwebhooks.com).

Three headers: ``webhook-id`` (the notification's idempotency key, the same on every retry),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (``v1,`` + the base64 HMAC-SHA256
of ``f"{id}.{timestamp}.{body}"``). The key is the route's secret: a ``whsec_…`` secret is
base64-decoded after its prefix, as the specification says, so a receiver verifies with any
Standard Webhooks library, e.g. ``standardwebhooks.Webhook(secret).verify(body, headers)``.
Any other secret is used as its UTF-8 bytes (``Webhook(secret.encode())`` on the receiver).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """Return the HMAC key of a route secret: a ``whsec_`` secret decoded, any other as UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        encoded = secret[len(SECRET_PREFIX) :]
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            raise ValueError("a whsec_ secret must be base64 after its prefix") from None
        if key:
            return key
        raise ValueError("a whsec_ secret must not be empty after its prefix")
    return secret.encode()


def standard_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the Standard Webhooks headers for ``body`` sent as ``message_id`` at ``timestamp``."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    signature = Webhook(signing_key(secret)).sign(message_id, moment, body.decode())
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def new_secret() -> str:
    """Return a fresh ``whsec_`` secret (24 random bytes), as a receiver's library expects."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()
