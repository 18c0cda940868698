"""POST a notification as signed JSON to a webhook URL.

Headers: ``Content-Type: application/json``, the Standard Webhooks trio ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` (see :mod:`onpace.notifiers.webhook.standard`),
and, for receivers written before those, ``X-Onpace-Timestamp`` (Unix seconds),
``X-Onpace-Signature`` (see :mod:`onpace.notifiers.webhook.signing`) and ``Idempotency-Key``.
The body is the notification's payload as compact JSON with sorted keys. The request goes
through the outbound guard (:mod:`onpace.outbound`); redirects are not followed (a receiver
that moved is a configuration to fix, and a signed event must not be replayed elsewhere).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable

import httpx

from onpace import outbound
from onpace.notifiers.base import Channel, Notification, NotifyError
from onpace.notifiers.webhook.signing import sign
from onpace.notifiers.webhook.standard import standard_headers

KIND = "webhook"
USER_AGENT = "onpace-webhook/1"
_TRANSIENT_STATUS = frozenset({408, 425, 429})


@functools.cache
def _client() -> httpx.Client:
    """Return the process's shared client: building one (TLS context) costs more than a delivery.

    Connections are not kept alive: requests go to a pinned IP address, and a pooled TLS
    connection opened for one host name must not carry a request for another on that address.
    """
    return httpx.Client(follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0))


def body_of(notification: Notification) -> str:
    """Return the exact JSON text that is sent and signed."""
    return json.dumps(
        notification.payload(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def classify(status: int, channel: str) -> NotifyError | None:
    """Return the error for an HTTP status, or ``None`` for a 2xx.

    5xx, 408, 425 and 429 are transient; a redirect and any other 4xx are permanent (retrying the
    same request cannot succeed: the URL or the receiver's configuration must change).
    """
    if 200 <= status < 300:
        return None
    if status >= 500 or status in _TRANSIENT_STATUS:
        return NotifyError(f"receiver answered HTTP {status}; will retry", permanent=False, channel=channel)
    if 300 <= status < 400:
        return NotifyError(
            f"receiver redirected (HTTP {status}); configure the final URL", permanent=True, channel=channel
        )
    return NotifyError(f"receiver refused the notification (HTTP {status})", permanent=True, channel=channel)


def notify(
    channel: Channel,
    notification: Notification,
    *,
    allow: outbound.Allowlist | None = None,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.time,
) -> None:
    """Deliver ``notification`` to the channel's webhook or raise :class:`NotifyError`.

    The channel needs a ``secret`` (already resolved from ``env:``); ``clock`` gives the
    timestamp that is signed; ``allow`` is the outbound allowlist (default: the setting).
    """
    if not channel.secret:
        raise NotifyError("a webhook channel needs a signing secret", permanent=True, channel=channel.id)
    body = body_of(notification).encode()
    seconds = int(clock())
    timestamp = str(seconds)
    try:
        standard = standard_headers(channel.secret, notification.idempotency_key, seconds, body)
    except ValueError as err:
        raise NotifyError(f"bad signing secret: {err}", permanent=True, channel=channel.id) from None
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **standard,
        "X-Onpace-Timestamp": timestamp,
        "X-Onpace-Signature": sign(channel.secret, timestamp, body),
        "Idempotency-Key": notification.idempotency_key,
    }
    try:
        response, _ = outbound.request(
            _client(), "POST", channel.url, allow=allow, content=body, headers=headers, timeout=timeout
        )
    except outbound.OutboundError as err:
        raise NotifyError(err.message, permanent=err.permanent, channel=channel.id) from None
    except httpx.TimeoutException as err:
        raise NotifyError(f"timed out ({type(err).__name__})", permanent=False, channel=channel.id) from None
    except httpx.TransportError as err:
        raise NotifyError(f"cannot reach the receiver: {err}", permanent=False, channel=channel.id) from None
    error = classify(response.status_code, channel.id)
    if error is not None:
        raise error
