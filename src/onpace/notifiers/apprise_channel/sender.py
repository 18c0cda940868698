"""Send a notification through Apprise (``mailto://``, ``slack://``, ``msteams://`` and the rest).

Apprise reports success or failure, and its log says why. A URL Apprise does not understand
is a permanent error; a failure whose log shows rejected credentials or a gone endpoint
(401, 403, 404, 410, "unauthorized", "authentication") is permanent; any other failure or a
timeout is transient, because Apprise does not tell a network hiccup from a refusal.

Every email carries a Message-ID derived from the notification's idempotency key, the same on
every attempt, so a mail sent twice (a worker killed between sending and recording) is one
message to the recipient's mail system and client, which drop the duplicate.
"""

from __future__ import annotations

import contextvars
import email.utils
import hashlib

import apprise
from apprise.plugins.email import base as _apprise_email

from onpace.notifiers.base import Channel, Notification, NotifyError, message_body

KIND = "apprise"
_PERMANENT_HINTS = (
    "401",
    "403",
    "404",
    "410",
    "unauthorized",
    "forbidden",
    "authentication",
    "invalid_auth",
    "channel_not_found",
)


_MESSAGE_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("onpace_message_id", default=None)


def message_id(idempotency_key: str, domain: str = "onpace") -> str:
    """Return the stable Message-ID of the email that carries ``idempotency_key``."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _stable_msgid(idstring: str | None = None, domain: str | None = None) -> str:
    """Return the Message-ID of the notification being sent, else a new one as Apprise would."""
    wanted = _MESSAGE_ID.get()
    return wanted if wanted is not None else email.utils.make_msgid(idstring, domain)


# Apprise stamps each email with a fresh make_msgid() after any header given to it (a second
# Message-ID header would be appended, not replace it); the one it calls is swapped for ours,
# which gives the notification's stable id while one is being sent (on this thread: the
# client below runs its services sequentially) and Apprise's own otherwise.
if hasattr(_apprise_email, "make_msgid"):
    _apprise_email.make_msgid = _stable_msgid


def _apprise(url: str, timeout: float, channel: str) -> apprise.Apprise:
    # In-memory persistent store: the worker must not write caches into its home directory.
    # Sequential sending keeps the Message-ID (a context variable) on this thread.
    asset = apprise.AppriseAsset(storage_mode="memory", service_timeout=timeout, async_mode=False)
    client = apprise.Apprise(asset=asset)
    if not client.add(url):
        raise NotifyError("not a notification URL Apprise understands", permanent=True, channel=channel)
    return client


def notify(
    channel: Channel, notification: Notification, *, allow_private: bool = False, timeout: float = 10.0
) -> None:
    """Deliver ``notification`` through the channel's Apprise URL or raise :class:`NotifyError`.

    ``allow_private`` is accepted for the common signature; Apprise URLs are set by admins
    (email servers are usually private), so no address check applies.
    """
    client = _apprise(channel.url, timeout, channel.id)
    token = _MESSAGE_ID.set(message_id(notification.idempotency_key))
    try:
        with client.notify(
            body=message_body(notification), title=notification.title, body_format=apprise.NotifyFormat.TEXT
        ) as result:
            if result:
                return
            log = " | ".join(entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR"))
            status = result.status.name
    finally:
        _MESSAGE_ID.reset(token)
    lowered = log.lower()
    permanent = any(hint in lowered for hint in _PERMANENT_HINTS)
    detail = log[:300] or status.lower()
    raise NotifyError(f"delivery failed: {detail}", permanent=permanent, channel=channel.id)
