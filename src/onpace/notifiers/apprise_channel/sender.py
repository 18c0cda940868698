"""Send a notification through Apprise (``mailto://``, ``slack://``, ``workflows://`` (Teams) and the rest).

Apprise reports success or failure, and its log says why. A URL Apprise does not understand
is a permanent error; a failure whose log shows rejected credentials or a gone endpoint
(401, 403, 404, 410, "unauthorized", "authentication") is permanent; any other failure or a
timeout is transient, because Apprise does not tell a network hiccup from a refusal.

Apprise makes its own requests, so the outbound guard (:mod:`onpace.outbound`) is applied
before it: a URL whose scheme sends to a host of the user's choosing (``json://``,
``form://``, ``xml://`` and the other self-hosted services in :data:`HOST_SCHEMES`, with their
TLS forms) must name a host whose every address is public or allowlisted, and redirects are
never followed (a redirect could lead to an address the guard never saw). Apprise connects to
the name itself: a DNS answer that changes between the check and the connection is not
covered, which signed webhook routes (connected to the checked address) are.

Every email carries a Message-ID derived from the notification's idempotency key, the same on
every attempt, so a mail sent twice (a worker killed between sending and recording) is one
message to the recipient's mail system and client, which drop the duplicate.
"""

from __future__ import annotations

import contextvars
import email.utils
import hashlib
from typing import Any

import apprise
from apprise.plugins.email import base as _apprise_email

from onpace import outbound
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


# Self-hosted services: the URL's host is wherever the user points it (plain and TLS forms).
_HOSTED = [
    "json",
    "form",
    "xml",
    "apprise",
    "emby",
    "enigma2",
    "evolution",
    "flowtriq",
    "goalert",
    "gorush",
    "gotify",
    "hassio",
    "humhub",
    "jellyfin",
    "kodi",
    "xbmc",
    "mastodon",
    "toot",
    "mmost",
    "misskey",
    "ncloud",
    "nctalk",
    "onebot",
    "parsep",
    "pinglet",
    "rocket",
    "synology",
]
HOST_SCHEMES = frozenset(_HOSTED + [f"{scheme}s" for scheme in _HOSTED])


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


def _apprise(url: str, timeout: float, channel: str, allow: outbound.Allowlist | None) -> apprise.Apprise:
    # In-memory persistent store: the worker must not write caches into its home directory.
    # Sequential sending keeps the Message-ID (a context variable) on this thread.
    asset = apprise.AppriseAsset(
        storage_mode="memory", service_timeout=timeout, http_redirects=False, async_mode=False
    )
    client = apprise.Apprise(asset=asset)
    if not client.add(url):
        raise NotifyError("not a notification URL Apprise understands", permanent=True, channel=channel)
    scheme = url.split("://", 1)[0].lower()
    for server in client:
        _guard(server, scheme, allow, channel)
    return client


def _guard(server: Any, scheme: str, allow: outbound.Allowlist | None, channel: str) -> None:
    """Refuse redirects (even a URL's ``redirect=yes``) and check the host of a self-hosted service."""
    server.redirects = False
    if scheme not in HOST_SCHEMES:
        return
    host = getattr(server, "host", None)
    if not host:
        raise NotifyError(f"a {scheme}:// URL needs a host", permanent=True, channel=channel)
    port = getattr(server, "port", None) or (443 if getattr(server, "secure", False) else 80)
    try:
        outbound.check_host(str(host), int(port), outbound.current_allowlist() if allow is None else allow)
    except outbound.OutboundError as err:
        raise NotifyError(err.message, permanent=err.permanent, channel=channel) from None


def notify(
    channel: Channel,
    notification: Notification,
    *,
    allow: outbound.Allowlist | None = None,
    timeout: float = 10.0,
) -> None:
    """Deliver ``notification`` through the channel's Apprise URL or raise :class:`NotifyError`.

    ``allow`` is the outbound allowlist (default: the setting); mail URLs (``mailto://``) are
    not checked: the mail server is the deployment's own.
    """
    client = _apprise(channel.url, timeout, channel.id, allow)
    # Mail goes as HTML (Apprise adds a plain-text alternative derived from it); chats get text.
    mail = channel.url.lower().startswith(("mailto://", "mailtos://"))
    body = message_html(notification) if mail else message_body(notification)
    body_format = apprise.NotifyFormat.HTML if mail else apprise.NotifyFormat.TEXT
    token = _MESSAGE_ID.set(message_id(notification.idempotency_key))
    try:
        with client.notify(body=body, title=notification.title, body_format=body_format) as result:
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
