"""Sign webhook bodies and verify them, the same way on both ends.

The signature is ``sha256=`` + the hex HMAC-SHA256, keyed with the channel secret, of the
UTF-8 text ``f"{timestamp}.{body}"``, where ``timestamp`` is the ``X-Onpace-Timestamp`` header
(Unix seconds) and ``body`` the raw request body. Signing the timestamp lets a receiver refuse
a replayed request by its age.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def _text(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def sign(secret: str, timestamp: str, body: str | bytes) -> str:
    """Return the ``X-Onpace-Signature`` value for ``body`` sent at ``timestamp``."""
    message = _text(timestamp) + b"." + _text(body)
    return PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(  # noqa: PLR0917 - receivers call it with the six documented values in order
    secret: str, timestamp: str, body: str | bytes, signature: str, tolerance_s: float, now: float
) -> bool:
    """Return whether ``signature`` is ours for ``body`` and ``timestamp`` is within ``tolerance_s`` of ``now``.

    ``now`` is the receiver's clock in Unix seconds. Compares in constant time; a malformed
    timestamp or signature is simply not valid.
    """
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature.strip())
