"""Map a channel URL to the notifier that sends to it, and send through it.

``http://`` and ``https://`` URLs are signed webhooks; every other scheme is an Apprise URL.
A new kind is a new folder exposing ``KIND`` and ``notify``, chosen in :func:`kind_of`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from onpace.notifiers import apprise_channel, webhook
from onpace.notifiers.base import Channel, Notification, Notify, resolve_env
from onpace.outbound import Allowlist

NOTIFIERS: Mapping[str, Notify] = MappingProxyType(
    {webhook.KIND: webhook.notify, apprise_channel.KIND: apprise_channel.notify}
)


def kind_of(url: str) -> str:
    """Return the notifier kind for a channel URL."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    return webhook.KIND if scheme in ("http", "https") else apprise_channel.KIND


def notify(
    channel: Channel,
    notification: Notification,
    *,
    env: Mapping[str, str] | None = None,
    allow: Allowlist | None = None,
    timeout: float = 10.0,
) -> None:
    """Resolve the channel's ``env:`` values and deliver with the notifier of its URL's kind.

    Raises :class:`onpace.notifiers.base.NotifyError` (``permanent`` or not) on failure.
    """
    environ = env or {}
    resolved = replace(
        channel,
        url=resolve_env(channel.url, environ, channel=channel.id),
        secret=resolve_env(channel.secret, environ, channel=channel.id) if channel.secret else None,
    )
    send = NOTIFIERS[kind_of(resolved.url)]
    send(resolved, notification, allow=allow, timeout=timeout)
