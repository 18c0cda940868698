"""Tell whether a route URL can be delivered: a webhook, or a scheme the installed Apprise knows.

Apprise's services change between releases (2.x dropped ``msteams://``: Teams is reached through
Power Automate workflows, ``workflows://``), so the model is checked against the Apprise that is
installed, when the model is read, instead of a channel being disabled at its first delivery.
"""

from __future__ import annotations

import functools

WEBHOOK_SCHEMES = frozenset({"http", "https"})
RENAMED = {
    "msteams": "Microsoft Teams is reached through a Power Automate workflow now: use "
    "`workflows://` (see the Apprise wiki, Notify_workflows)",
}


@functools.cache
def apprise_schemes() -> frozenset[str]:
    """Return the URL schemes the installed Apprise can send to (read once per process)."""
    from apprise.manager_plugins import NotificationManager

    manager = NotificationManager()  # type: ignore[no-untyped-call]
    return frozenset(scheme.lower() for scheme in manager.schemas())  # type: ignore[no-untyped-call]


def scheme_of(url: str) -> str:
    """Return the lower-case scheme of ``url`` (empty when it has none)."""
    return url.split("://", 1)[0].strip().lower() if "://" in url else ""


def route_url_problem(url: str) -> str | None:
    """Return why ``url`` cannot be delivered to, or ``None`` when it can (or is an ``env:`` reference)."""
    if url.startswith("env:"):
        return None  # resolved when delivering; the variable may only exist on the worker's machine
    scheme = scheme_of(url)
    if not scheme:
        return f"`{url}` is not a URL: expected e.g. https://…, mailtos://…, slack://… or workflows://…"
    if scheme in WEBHOOK_SCHEMES or scheme in apprise_schemes():
        return None
    hint = RENAMED.get(scheme, "see the Apprise wiki for the URL of each service")
    return f"the installed Apprise does not know `{scheme}://`; {hint}"
