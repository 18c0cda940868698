"""Define the notifier contract: the notification sent, the channel it goes to, and how sending fails."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from onpace import env_refs

if TYPE_CHECKING:
    from onpace.outbound import Allowlist


@dataclass(frozen=True)
class Notification:
    """One governance event, ready to send.

    ``idempotency_key`` is the same on every attempt to deliver the same event to the same
    channel, so a receiver can drop a duplicate after a retry.
    """

    event: str
    subject: str
    kind: str
    owner: str | None
    participants: tuple[str, ...]
    title: str
    text: str
    url: str | None
    idempotency_key: str
    detail: Mapping[str, object] = field(default_factory=dict)
    # The message as HTML for mail (a plain-text alternative is derived from it); None: text only.
    html: str | None = None

    def payload(self) -> dict[str, object]:
        """Return the notification as a JSON-ready mapping (the body of a webhook)."""
        return {
            "event": self.event,
            "subject": self.subject,
            "kind": self.kind,
            "owner": self.owner,
            "participants": list(self.participants),
            "title": self.title,
            "text": self.text,
            "url": self.url,
            "idempotency_key": self.idempotency_key,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class Channel:
    """Where notifications go: an Apprise URL or an ``http(s)://`` webhook, with its signing secret.

    ``url`` and ``secret`` may read ``env:VAR``; :func:`resolve_env` turns them into values.
    """

    id: str
    url: str
    secret: str | None = None


class NotifyError(Exception):
    """Raise when a notification was not delivered.

    ``permanent`` says whether retrying can help: a timeout, a refused connection, HTTP 5xx,
    408 or 429 are transient (retry with backoff); a bad URL, a refused address, rejected
    credentials or any other 4xx are permanent (disable the channel until someone fixes it).
    """

    def __init__(self, message: str, *, permanent: bool, channel: str | None = None) -> None:
        self.message = message
        self.permanent = permanent
        self.channel = channel
        prefix = f"channel {channel}: " if channel else ""
        super().__init__(prefix + message)


class Notify(Protocol):
    """The signature every notifier kind exposes as ``notify``."""

    def __call__(
        self,
        channel: Channel,
        notification: Notification,
        *,
        allow: Allowlist | None = None,
        timeout: float = 10.0,
    ) -> None: ...


def resolve_env(value: str, env: Mapping[str, str], *, channel: str | None = None) -> str:
    """Return ``value``, or the environment variable it names when it reads ``env:VAR``."""
    if not value.startswith("env:"):
        return value
    name = value[4:].strip()
    refused = env_refs.setting_refusal(name) if name else None
    if refused is not None:
        raise NotifyError(refused, permanent=True, channel=channel)
    if name not in env or not name:
        hint = env_refs.missing_hint(name) if name else ""
        raise NotifyError(
            f"environment variable {name or '(none)'} is not set{hint}", permanent=True, channel=channel
        )
    return env[name]


def message_body(notification: Notification) -> str:
    """Return the plain-text body of a chat or email message: the text, then the link."""
    parts = [notification.text.strip()]
    if notification.url:
        parts.append(notification.url)
    return "\n\n".join(p for p in parts if p)


def message_html(notification: Notification) -> str:
    """Return the HTML body of an email: the HTML given, else the text escaped in paragraphs; then the link."""
    body = notification.html or "".join(
        f"<p>{html.escape(line)}</p>" for line in notification.text.strip().splitlines() if line.strip()
    )
    link = (
        f'<p><a href="{html.escape(notification.url, quote=True)}">Open it in onpace</a></p>'
        if notification.url
        else ""
    )
    return f"<!doctype html><html><body>{body}{link}</body></html>"
