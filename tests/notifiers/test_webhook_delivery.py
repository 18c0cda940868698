"""The signed webhook, against a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import time

import pytest

from loopback_receivers import HttpReceiver, Received
from onpace.notifiers.base import Channel, Notification, NotifyError
from onpace.notifiers.registry import kind_of
from onpace.notifiers.registry import notify as send
from onpace.notifiers.webhook import notify, sign, verify_signature
from onpace.outbound import Allowlist

SECRET = "s3cret-for-ops"
LOOPBACK = Allowlist.parse("127.0.0.1")

CASE_OPENED = Notification(
    event="case_opened",
    subject="wms_orders",
    kind="red",
    owner="maria",
    participants=("maria", "raj"),
    title="Orders processed is red",
    text="Orders are 12% below plan as of 2026-02-02.",
    url="https://onpace.example/cases/17",
    idempotency_key="case-17-opened-ops-hook",
)


def _verifies(got: Received) -> int | None:
    """Answer 401 unless the request carries a valid, fresh signature (as a real receiver would)."""
    ok = verify_signature(
        SECRET,
        got.headers.get("x-onpace-timestamp", ""),
        got.body,
        got.headers.get("x-onpace-signature", ""),
        300,
        time.time(),
    )
    return None if ok else 401


def test_it_posts_a_signed_json_body_the_receiver_can_verify(http_receiver: HttpReceiver) -> None:
    http_receiver.check = _verifies
    notify(Channel("ops-hook", http_receiver.url, SECRET), CASE_OPENED, allow=LOOPBACK)
    [got] = http_receiver.received
    assert got.path == "/hooks/onpace"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["idempotency-key"] == "case-17-opened-ops-hook"
    assert got.headers["x-onpace-signature"] == sign(SECRET, got.headers["x-onpace-timestamp"], got.body)
    payload = json.loads(got.body)
    assert payload["event"] == "case_opened"
    assert payload["participants"] == ["maria", "raj"]
    assert payload["url"] == "https://onpace.example/cases/17"


def test_a_receiver_with_another_secret_refuses_it_and_that_is_permanent(http_receiver: HttpReceiver) -> None:
    http_receiver.check = _verifies
    with pytest.raises(NotifyError) as caught:
        notify(Channel("ops-hook", http_receiver.url, "not-the-secret"), CASE_OPENED, allow=LOOPBACK)
    assert caught.value.permanent
    assert "401" in str(caught.value)


def test_a_500_is_transient_and_the_retry_is_delivered_with_the_same_key(http_receiver: HttpReceiver) -> None:
    http_receiver.statuses = [500, 200]
    channel = Channel("ops-hook", http_receiver.url, SECRET)
    with pytest.raises(NotifyError) as caught:
        notify(channel, CASE_OPENED, allow=LOOPBACK)
    assert not caught.value.permanent
    notify(channel, CASE_OPENED, allow=LOOPBACK)
    keys = [r.headers["idempotency-key"] for r in http_receiver.received]
    assert keys == ["case-17-opened-ops-hook", "case-17-opened-ops-hook"]


@pytest.mark.parametrize(
    ("status", "permanent"), [(410, True), (404, True), (400, True), (429, False), (408, False), (503, False)]
)
def test_it_classifies_the_receivers_status(
    http_receiver: HttpReceiver, status: int, permanent: bool
) -> None:
    http_receiver.statuses = [status]
    with pytest.raises(NotifyError) as caught:
        notify(Channel("ops-hook", http_receiver.url, SECRET), CASE_OPENED, allow=LOOPBACK)
    assert caught.value.permanent is permanent
    assert str(status) in str(caught.value)


def test_a_redirect_is_not_followed_and_is_permanent(http_receiver: HttpReceiver) -> None:
    http_receiver.statuses = [302]
    with pytest.raises(NotifyError) as caught:
        notify(Channel("ops-hook", http_receiver.url, SECRET), CASE_OPENED, allow=LOOPBACK)
    assert caught.value.permanent
    assert len(http_receiver.received) == 1


def test_a_closed_port_is_transient() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NotifyError) as caught:
        notify(Channel("ops-hook", f"http://127.0.0.1:{port}/x", SECRET), CASE_OPENED, allow=LOOPBACK)
    assert not caught.value.permanent


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_it_refuses_private_loopback_and_link_local_addresses_unless_allowlisted(url: str) -> None:
    with pytest.raises(NotifyError) as caught:
        notify(Channel("ops-hook", url, SECRET), CASE_OPENED, allow=Allowlist())
    assert caught.value.permanent
    assert "ONPACE_OUTBOUND_ALLOW" in str(caught.value)


def test_it_refuses_to_send_unsigned(http_receiver: HttpReceiver) -> None:
    with pytest.raises(NotifyError) as caught:
        notify(Channel("ops-hook", http_receiver.url), CASE_OPENED, allow=LOOPBACK)
    assert caught.value.permanent
    assert http_receiver.received == []


def test_the_registry_routes_https_to_the_webhook_and_resolves_env_values(
    http_receiver: HttpReceiver,
) -> None:
    assert kind_of("https://hooks.example/x") == "webhook"
    assert kind_of("mailto://mail.example?to=a@b.example") == "apprise"
    http_receiver.check = _verifies
    env = {"OPS_HOOK_URL": http_receiver.url, "OPS_HOOK_SECRET": SECRET}
    send(
        Channel("ops-hook", "env:OPS_HOOK_URL", "env:OPS_HOOK_SECRET"),
        CASE_OPENED,
        env=env,
        allow=LOOPBACK,
    )
    assert len(http_receiver.received) == 1


def test_an_unset_env_variable_is_a_permanent_error() -> None:
    with pytest.raises(NotifyError) as caught:
        send(Channel("ops-hook", "env:NOT_SET_ANYWHERE", "x"), CASE_OPENED, env={})
    assert caught.value.permanent
    assert "NOT_SET_ANYWHERE" in str(caught.value)


def test_it_connects_to_the_address_it_checked_while_naming_the_host(
    http_receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand in for DNS: receiver.test resolves to 127.0.0.1, which the allowlist lets through.
    import ipaddress

    from onpace import outbound

    monkeypatch.setattr(outbound, "_addresses", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    port = http_receiver.url.split(":")[2].split("/")[0]
    notify(
        Channel("ops-hook", f"http://receiver.test:{port}/hooks/onpace", SECRET), CASE_OPENED, allow=LOOPBACK
    )
    [got] = http_receiver.received
    assert got.headers["host"] == f"receiver.test:{port}"
