"""Standard Webhooks signatures, verified by the ``standardwebhooks`` library on a loopback receiver."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from loopback_receivers import HttpReceiver, Received
from onpace.notifiers.base import Channel, Notification, NotifyError
from onpace.notifiers.webhook import notify, sign
from onpace.notifiers.webhook.standard import new_secret, signing_key
from onpace.outbound import Allowlist

LOOPBACK = Allowlist.parse("127.0.0.1")
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

CASE_OPENED = Notification(
    event="case_opened",
    subject="wms_orders",
    kind="red",
    owner="maria",
    participants=("maria",),
    title="Orders processed is red",
    text="Orders are 12% below plan.",
    url="https://onpace.example/cases/17",
    idempotency_key="case-17-opened-ops-hook",
)


def receiver_with(secret: str | bytes) -> Callable[[Received], int | None]:
    """Return a receiver check that answers 401 unless the library verifies the request."""

    def check(got: Received) -> int | None:
        try:
            Webhook(secret).verify(got.body, got.headers)
        except WebhookVerificationError:
            return 401
        return None

    return check


def test_a_receiver_verifies_a_whsec_signed_request_with_the_standardwebhooks_library(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.check = receiver_with(WHSEC)
    notify(Channel("ops-hook", http_receiver.url, WHSEC), CASE_OPENED, allow=LOOPBACK)
    [got] = http_receiver.received
    assert got.headers["webhook-id"] == "case-17-opened-ops-hook"
    assert got.headers["webhook-signature"].startswith("v1,")
    assert json.loads(got.body)["subject"] == "wms_orders"
    # The headers of earlier receivers are still there and still valid.
    assert got.headers["x-onpace-signature"] == sign(WHSEC, got.headers["x-onpace-timestamp"], got.body)
    assert got.headers["idempotency-key"] == "case-17-opened-ops-hook"


def test_a_plain_secret_verifies_with_its_utf8_bytes(http_receiver: HttpReceiver) -> None:
    http_receiver.check = receiver_with(b"s3cret-for-ops")
    notify(Channel("ops-hook", http_receiver.url, "s3cret-for-ops"), CASE_OPENED, allow=LOOPBACK)
    assert len(http_receiver.received) == 1


def test_a_receiver_holding_another_secret_refuses_the_request(http_receiver: HttpReceiver) -> None:
    http_receiver.check = receiver_with(new_secret())
    with pytest.raises(NotifyError) as caught:
        notify(Channel("ops-hook", http_receiver.url, WHSEC), CASE_OPENED, allow=LOOPBACK)
    assert caught.value.permanent
    assert "401" in str(caught.value)


def test_a_whsec_secret_that_is_not_base64_is_a_permanent_error_before_anything_is_sent(
    http_receiver: HttpReceiver,
) -> None:
    with pytest.raises(NotifyError, match="whsec_") as caught:
        notify(Channel("ops-hook", http_receiver.url, "whsec_not base64!"), CASE_OPENED, allow=LOOPBACK)
    assert caught.value.permanent
    assert http_receiver.received == []


def test_a_new_secret_is_a_whsec_secret_of_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(signing_key(secret)) == 24
    assert new_secret() != secret
