"""Email through Apprise to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from loopback_receivers import SmtpServer
from onpace.notifiers.apprise_channel import notify
from onpace.notifiers.apprise_channel.sender import message_id
from onpace.notifiers.base import Channel, Notification, NotifyError

ESCALATED = Notification(
    event="case_escalated",
    subject="KR1",
    kind="red",
    owner="dana",
    participants=("maria",),
    title="KR1 escalated to you",
    text="Maria has not explained the red on-time rate within 2 days.",
    url="https://onpace.example/cases/4",
    idempotency_key="case-4-escalated-1",
)


def _mail_url(port: int) -> str:
    return f"mailto://127.0.0.1:{port}?from=onpace@acme.example&to=dana@acme.example&smtp=127.0.0.1"


def test_it_emails_the_notification_through_smtp(smtp_server: SmtpServer) -> None:
    notify(Channel("dana-mail", _mail_url(smtp_server.port)), ESCALATED)
    [(sender, recipients, message)] = smtp_server.inbox.messages
    assert sender == "onpace@acme.example"
    assert recipients == ["dana@acme.example"]
    assert message["Subject"] == "KR1 escalated to you"
    parts = [bytes(p.get_payload(decode=True)).decode() for p in message.walk() if not p.is_multipart()]
    assert any("within 2 days" in p and "https://onpace.example/cases/4" in p for p in parts)


def test_an_unreachable_mail_server_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NotifyError) as caught:
        notify(Channel("dana-mail", _mail_url(port)), ESCALATED, timeout=5)
    assert not caught.value.permanent


def test_a_url_apprise_does_not_understand_is_permanent() -> None:
    with pytest.raises(NotifyError) as caught:
        notify(Channel("bad", "nosuchservice://whatever"), ESCALATED)
    assert caught.value.permanent


def test_an_email_sent_twice_carries_one_stable_message_id_from_its_idempotency_key(
    smtp_server: SmtpServer,
) -> None:
    notify(Channel("dana-mail", _mail_url(smtp_server.port)), ESCALATED)
    notify(Channel("dana-mail", _mail_url(smtp_server.port)), ESCALATED)
    other = dataclasses.replace(ESCALATED, idempotency_key="case-4-escalated-2")
    notify(Channel("dana-mail", _mail_url(smtp_server.port)), other)
    ids = [message.get_all("Message-ID") for _, _, message in smtp_server.inbox.messages]
    assert ids[0] == ids[1] == [message_id("case-4-escalated-1")]
    assert ids[2] == [message_id("case-4-escalated-2")] != ids[0]
