"""Guard every request onpace makes to a URL a user configured (webhooks, HTTP sources, Apprise routes).

Without a guard, a URL in a source or a route makes onpace request, from inside the network,
whatever it names: a cloud metadata service, an admin port, a database (server-side request
forgery). The guard allows an address only when it is public — globally routable, not
multicast, not reserved — and looks inside IPv6 addresses that carry an IPv4 address
(IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``, Teredo ``2001::/32``): the embedded address must be public too; the local-use
NAT64 prefix ``64:ff9b:1::/48`` is refused outright, since what it reaches is the operator's
choice. A host name must resolve, and every address it resolves to must pass; the request then
goes to the address that was checked, so a DNS answer that changes in between cannot slip a
private address through. Redirects are followed hop by hop (at most :data:`MAX_REDIRECTS`),
each target checked again; credentials are not carried to another origin.

The allowlist (setting ``ONPACE_OUTBOUND_ALLOW``: comma-separated host names, addresses,
networks and address-and-port endpoints, e.g. ``hooks.internal,10.20.0.0/16,127.0.0.1:8080``)
lets a deployment reach named internal services; an endpoint allows that one port of that one
address and nothing else there. Nothing else bypasses the guard.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from onpace.config import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


class OutboundError(Exception):
    """A request was not made: its target is not allowed (permanent) or cannot be resolved (transient)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        self.message = message
        self.permanent = permanent
        super().__init__(message)


@dataclass(frozen=True)
class Allowlist:
    """Host names, networks and address-and-port endpoints that may be reached although not public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()
    endpoints: frozenset[tuple[IPAddress, int]] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Allowlist:
        """Read ``host,address,network/prefix,address:port,[v6]:port,…``; raise ValueError on anything else."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        endpoints: set[tuple[IPAddress, int]] = set()
        for raw in text.split(","):
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            endpoint = _endpoint(entry)
            if endpoint is not None:
                endpoints.add(endpoint)
                continue
            name = entry.lower().rstrip(".")
            if "/" in name or ":" in name or not all(part for part in name.split(".")):
                raise ValueError(f"outbound allowlist: {entry!r} is not a host name, address or network")
            hosts.add(name)
        return cls(frozenset(hosts), tuple(networks), frozenset(endpoints))

    def allows_host(self, host: str) -> bool:
        """Return whether ``host`` (a name) is allowed whatever it resolves to."""
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        """Return whether ``address`` falls in an allowed network."""
        return any(address.version == net.version and address in net for net in self.networks)

    def allows_endpoint(self, address: IPAddress, port: int) -> bool:
        """Return whether ``address`` may be reached on ``port`` (an address-and-port entry)."""
        return (address, port) in self.endpoints


def _endpoint(entry: str) -> tuple[IPAddress, int] | None:
    """Return the address and port of an ``a.b.c.d:port`` or ``[v6]:port`` entry, or None."""
    host, colon, port = entry.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        return None
    try:
        return ipaddress.ip_address(host.strip("[]")), int(port)
    except ValueError:
        return None


def current_allowlist() -> Allowlist:
    """Return the allowlist of the process settings (``ONPACE_OUTBOUND_ALLOW``)."""
    return Allowlist.parse(get_settings().outbound_allow)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Return the IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _IPV4_COMPATIBLE or address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def refusal(address: IPAddress) -> str | None:
    """Return why ``address`` may not be reached (loopback, private …), or None when it is public.

    An IPv4-mapped or NAT64 address is judged by the IPv4 address it carries (the translator
    reaches that one); a 6to4 or Teredo address by itself and by what it carries.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return "a local-use NAT64 address"
        for inner in embedded_ipv4(address):
            reason = refusal(inner)
            if reason is not None:
                return f"an IPv6 address carrying {inner}, {reason}"
        if address.ipv4_mapped is not None or address in _NAT64:
            return None
        if address in _IPV4_COMPATIBLE and not (address.is_loopback or address.is_unspecified):
            return "an IPv4-compatible IPv6 address (deprecated)"
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not globally routable"),
    )
    return next((f"a {name} address" for failed, name in checks if failed), None)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _addresses(host: str, port: int) -> list[IPAddress]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as err:
        raise OutboundError(f"cannot resolve {host}: {err}", permanent=False) from None
    found = [_literal(str(info[4][0])) for info in infos]
    return [a for a in dict.fromkeys(found) if a is not None]


@dataclass(frozen=True)
class Target:
    """A checked URL: its host name and port, and the address to connect to."""

    url: str
    host: str
    port: int
    address: IPAddress


def check_host(host: str, port: int, allow: Allowlist, *, what: str = "") -> IPAddress:
    """Return the address to connect to for ``host``; raise :class:`OutboundError` unless every address passes."""
    addresses = _addresses(host, port)
    if not addresses:
        raise OutboundError(f"{host} resolves to no address", permanent=False)
    if allow.allows_host(host):
        return addresses[0]
    for address in addresses:
        allowed = allow.allows_address(address) or allow.allows_endpoint(address, port)
        reason = None if allowed else refusal(address)
        if reason is not None:
            shown = f"{address} is" if _literal(host) is not None else f"{host} resolves to {address},"
            raise OutboundError(
                f"{what}{shown} {reason}; onpace sends no request there unless ONPACE_OUTBOUND_ALLOW lists it",
                permanent=True,
            )
    return addresses[0]


def check_url(url: str, allow: Allowlist | None = None) -> Target:
    """Check an http(s) URL and return where to connect; raise :class:`OutboundError` otherwise."""
    allow = current_allowlist() if allow is None else allow
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise OutboundError(f"not an http(s) URL: {url!r}", permanent=True)
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise OutboundError(f"bad port in {url!r}", permanent=True) from None
    address = check_host(parts.hostname, port, allow)
    return Target(url, parts.hostname, port, address)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    allow: Allowlist | None = None,
    params: Mapping[str, str] | None = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    follow_redirects: bool = False,
) -> tuple[httpx.Response, str]:
    """Send one guarded request and return the response and the URL that answered it.

    Each hop connects to the checked address while TLS (SNI, certificate) and ``Host`` still
    name the host. With ``follow_redirects``, a redirect's target is checked like the first URL
    (at most :data:`MAX_REDIRECTS` hops, 303 turning into GET); without, the 3xx is returned.
    Raises :class:`OutboundError` for a refused target and lets httpx errors through.
    """
    allow = current_allowlist() if allow is None else allow
    first_origin = _origin(url)
    for _hop in range(MAX_REDIRECTS + 1):
        target = check_url(url, allow)
        pinned = httpx.URL(url).copy_with(host=str(target.address))
        hop_headers = dict(headers or {})
        hop_headers["Host"] = urlsplit(url).netloc.rpartition("@")[2]
        extensions: dict[str, Any] = {"sni_hostname": target.host}
        built = client.build_request(
            method,
            pinned,
            params=dict(params) if params else None,
            content=content,
            headers=hop_headers,
            extensions=extensions,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
        same_origin = _origin(url) == first_origin
        if not same_origin:
            for secret in ("authorization", "cookie", "proxy-authorization"):
                built.headers.pop(secret, None)
        response = client.send(
            built, auth=httpx.USE_CLIENT_DEFAULT if same_origin else None, follow_redirects=False
        )
        location = response.headers.get("location")
        if not follow_redirects or response.status_code not in _REDIRECTS or not location:
            return response, url
        response.close()
        url = urljoin(url, location)
        params = None
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method, content = "GET", None
    raise OutboundError(f"more than {MAX_REDIRECTS} redirects from {first_origin[1]}", permanent=True)
