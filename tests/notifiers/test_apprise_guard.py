"""Apprise routes that post to a host of the user's choosing go through the outbound guard."""

from __future__ import annotations

import pytest

from loopback_receivers import running_http_receiver
from onpace.notifiers.base import Channel, Notification, NotifyError
from onpace.notifiers.registry import notify
from onpace.outbound import Allowlist

EVENT = Notification(
    event="case_opened",
    subject="wms_orders",
    kind="red",
    owner="maria",
    participants=("maria",),
    title="Orders processed is red",
    text="Orders are 12% below plan.",
    url=None,
    idempotency_key="case-1-opened-hook",
)
LOOPBACK = Allowlist.parse("127.0.0.1")


def apprise_url(scheme: str, http_url: str) -> str:
    return http_url.replace("http://", f"{scheme}://", 1)


@pytest.mark.parametrize("scheme", ["json", "form", "xml"])
def test_a_custom_http_route_to_loopback_is_refused_without_the_allowlist(scheme: str) -> None:
    with running_http_receiver() as receiver:
        with pytest.raises(NotifyError) as caught:
            notify(Channel("hook", apprise_url(scheme, receiver.url)), EVENT, allow=Allowlist())
        assert caught.value.permanent
        assert "127.0.0.1 is a loopback address" in str(caught.value)
        assert receiver.received == []


def test_an_ipv6_embedding_of_loopback_is_refused_for_apprise_too() -> None:
    with pytest.raises(NotifyError, match=r"carrying 127\.0\.0\.1"):
        notify(Channel("hook", "json://[64:ff9b::7f00:1]:8080/x"), EVENT, allow=Allowlist())


@pytest.mark.parametrize("scheme", ["json", "form", "xml"])
def test_an_allowlisted_custom_http_route_is_delivered(scheme: str) -> None:
    with running_http_receiver() as receiver:
        notify(Channel("hook", apprise_url(scheme, receiver.url)), EVENT, allow=LOOPBACK)
        assert len(receiver.received) == 1


def test_an_apprise_route_never_follows_a_redirect_even_when_its_url_asks() -> None:
    with running_http_receiver() as inside, running_http_receiver([307]) as outside:
        outside.headers["Location"] = inside.url
        with pytest.raises(NotifyError):
            notify(Channel("hook", apprise_url("json", outside.url) + "?redirect=yes"), EVENT, allow=LOOPBACK)
        assert len(outside.received) == 1
        assert inside.received == []


def test_a_route_cannot_read_the_secret_key_through_env() -> None:
    env = {"ONPACE_SECRET_KEY": "cookie-signing-key", "ONPACE_ROUTE_HOOK": "json://127.0.0.1:9/x"}
    with pytest.raises(NotifyError) as caught:
        notify(Channel("hook", "env:ONPACE_SECRET_KEY"), EVENT, env=env, allow=LOOPBACK)
    assert caught.value.permanent
    assert "onpace's own settings" in str(caught.value)
    assert "cookie-signing-key" not in str(caught.value)
