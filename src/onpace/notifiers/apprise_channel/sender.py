"""Send a notification through Apprise (``mailto://``, ``slack://``, ``msteams://`` and the rest).

Apprise reports success or failure, and its log says why. A URL Apprise does not understand
is a permanent error; a failure whose log shows rejected credentials or a gone endpoint
(401, 403, 404, 410, "unauthorized", "authentication") is permanent; any other failure or a
timeout is transient, because Apprise does not tell a network hiccup from a refusal.
"""

from __future__ import annotations

import apprise

from onpace.notifiers.base import Channel, Notification, NotifyError, message_body, message_html

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


def _apprise(url: str, timeout: float, channel: str) -> apprise.Apprise:
    # In-memory persistent store: the worker must not write caches into its home directory.
    asset = apprise.AppriseAsset(storage_mode="memory", service_timeout=timeout)
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
    # Mail goes as HTML (Apprise adds a plain-text alternative derived from it); chats get text.
    mail = channel.url.lower().startswith(("mailto://", "mailtos://"))
    body = message_html(notification) if mail else message_body(notification)
    body_format = apprise.NotifyFormat.HTML if mail else apprise.NotifyFormat.TEXT
    with client.notify(body=body, title=notification.title, body_format=body_format) as result:
        if result:
            return
        log = " | ".join(entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR"))
        status = result.status.name
    lowered = log.lower()
    permanent = any(hint in lowered for hint in _PERMANENT_HINTS)
    detail = log[:300] or status.lower()
    raise NotifyError(f"delivery failed: {detail}", permanent=permanent, channel=channel.id)
