"""Fixtures for the notifier tests: real receivers on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopback_receivers import HttpReceiver, SmtpServer, running_http_receiver, running_smtp_server


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    with running_http_receiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server
