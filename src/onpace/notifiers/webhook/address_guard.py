"""Refuse webhook URLs that point into the private network, so a user cannot aim onpace at it.

A user may configure a webhook URL; without this check, onpace would POST from inside the
network to whatever the URL names (a metadata service, an admin port: server-side request
forgery). Every address the host name resolves to must be public, and the request then goes
to the address that was checked (the name is not resolved twice, so a DNS answer that changes
in between cannot slip a private address through).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from onpace.notifiers.base import NotifyError


def is_public(address: str) -> bool:
    """Return whether an IP address is globally routable (not private, loopback, link-local …)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool, channel: str | None = None) -> str | None:
    """Return the checked public address to connect to for ``url``; refuse anything else.

    Raises a permanent :class:`NotifyError` unless ``url`` is an http(s) URL whose host resolves
    to public addresses only. With ``allow_private`` (a deployment that posts to an internal
    service, or a test on loopback) any address is allowed and ``None`` is returned. A host name that does not resolve is a transient error:
    DNS may be down for a moment.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotifyError(f"not an http(s) URL: {url!r}", permanent=True, channel=channel)
    if allow_private:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as err:
        raise NotifyError(
            f"cannot resolve {parts.hostname}: {err}", permanent=False, channel=channel
        ) from None
    for info in infos:
        address = str(info[4][0])
        if not is_public(address):
            raise NotifyError(
                f"{parts.hostname} resolves to the non-public address {address}; webhooks to private, "
                "loopback or link-local addresses need the allow-private setting",
                permanent=True,
                channel=channel,
            )
    return str(infos[0][4][0])
