"""The outbound-request guard: which addresses it refuses, its allowlist, and redirects hop by hop."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from loopback_receivers import running_http_receiver
from onpace import outbound
from onpace.outbound import Allowlist, OutboundError, refusal


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.10",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::127.0.0.1",  # IPv4-compatible: what [::127.0.0.1] in a URL means
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::808:808",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo whose client is 127.0.0.1
        "2001:db8::1",
    ],
)
def test_it_refuses_every_address_that_is_not_public(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]
)
def test_it_lets_public_addresses_through_including_public_embeddings(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://[::127.0.0.1]:9/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
        "http://[2002:7f00:1::]/hook",
        "http://[::ffff:7f00:1]/hook",
        "http://localhost/hook",
        "http://2130706433/hook",  # 127.0.0.1 written as one number
    ],
)
def test_check_url_refuses_urls_that_lead_to_loopback(url: str) -> None:
    with pytest.raises(OutboundError) as caught:
        outbound.check_url(url, Allowlist())
    assert caught.value.permanent
    assert "ONPACE_OUTBOUND_ALLOW" in caught.value.message


def test_the_allowlist_takes_hosts_addresses_and_networks_and_refuses_nonsense() -> None:
    allow = Allowlist.parse(" hooks.internal. , 127.0.0.1, 10.0.0.0/8 ,[::1]")
    assert allow.allows_host("HOOKS.internal")
    assert allow.allows_address(ipaddress.ip_address("10.9.8.7"))
    assert allow.allows_address(ipaddress.ip_address("::1"))
    assert not allow.allows_address(ipaddress.ip_address("192.168.1.1"))
    assert outbound.check_url("http://127.0.0.1:8/x", allow).address == ipaddress.ip_address("127.0.0.1")
    with pytest.raises(ValueError, match="'not a/host'"):
        Allowlist.parse("not a/host")


def test_a_loopback_receiver_is_refused_without_the_allowlist_and_reached_with_it() -> None:
    with running_http_receiver() as receiver, httpx.Client() as client:
        with pytest.raises(OutboundError):
            outbound.request(client, "POST", receiver.url, allow=Allowlist(), content=b"{}")
        assert receiver.received == []
        response, _ = outbound.request(
            client, "POST", receiver.url, allow=Allowlist.parse("127.0.0.1"), content=b"{}"
        )
        assert response.status_code == 200
        assert len(receiver.received) == 1


def test_an_endpoint_entry_allows_its_one_port_and_nothing_else_on_that_address() -> None:
    allow = Allowlist.parse("127.0.0.1:18931, [::1]:18932")
    assert outbound.check_url("http://127.0.0.1:18931/v1", allow).port == 18931
    assert outbound.check_url("http://[::1]:18932/v1", allow).port == 18932
    for url in ("http://127.0.0.1:18932/v1", "http://127.0.0.1/v1", "http://127.0.0.2:18931/v1"):
        with pytest.raises(OutboundError, match="loopback"):
            outbound.check_url(url, allow)
    with pytest.raises(ValueError, match=r"'127\.0\.0\.1:99999'"):
        Allowlist.parse("127.0.0.1:99999")


def test_a_loopback_receiver_is_reached_through_its_endpoint_entry_only() -> None:
    with running_http_receiver() as receiver, httpx.Client() as client:
        port = int(receiver.url.split(":")[2].split("/")[0])
        with pytest.raises(OutboundError):
            outbound.request(
                client, "POST", receiver.url, allow=Allowlist.parse(f"127.0.0.1:{port + 1}"), content=b"{}"
            )
        response, _ = outbound.request(
            client, "POST", receiver.url, allow=Allowlist.parse(f"127.0.0.1:{port}"), content=b"{}"
        )
        assert response.status_code == 200
        assert len(receiver.received) == 1


def test_the_allowlist_comes_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from onpace.config import get_settings

    monkeypatch.setenv("ONPACE_OUTBOUND_ALLOW", "127.0.0.0/8")
    get_settings.cache_clear()
    try:
        assert outbound.current_allowlist().allows_address(ipaddress.ip_address("127.0.0.5"))
    finally:
        monkeypatch.delenv("ONPACE_OUTBOUND_ALLOW")
        get_settings.cache_clear()


def test_each_redirect_hop_is_checked_again_and_a_refused_hop_is_never_requested() -> None:
    with running_http_receiver() as inside, running_http_receiver([307]) as outside, httpx.Client() as client:
        outside.headers["Location"] = inside.url
        port = outside.url.split(":")[2].split("/")[0]
        # Only the name "localhost" is allowed: the redirect to 127.0.0.1 is a new target.
        with pytest.raises(OutboundError, match=r"127\.0\.0\.1 is a loopback address"):
            outbound.request(
                client,
                "POST",
                f"http://localhost:{port}/hooks/onpace",
                allow=Allowlist.parse("localhost"),
                content=b"{}",
                follow_redirects=True,
            )
        assert len(outside.received) == 1
        assert inside.received == []


def test_a_redirect_to_another_allowed_origin_is_followed_without_the_credentials() -> None:
    with running_http_receiver() as inside, running_http_receiver([307]) as outside, httpx.Client() as client:
        outside.headers["Location"] = inside.url
        port = outside.url.split(":")[2].split("/")[0]
        response, answered = outbound.request(
            client,
            "POST",
            f"http://localhost:{port}/hooks/onpace",
            allow=Allowlist.parse("localhost,127.0.0.1"),
            content=b"{}",
            headers={"Authorization": "Bearer t0ken"},
            follow_redirects=True,
        )
        assert (response.status_code, answered) == (200, inside.url)
        assert outside.received[0].headers["authorization"] == "Bearer t0ken"
        assert "authorization" not in inside.received[0].headers
        assert inside.received[0].headers["host"] == inside.url.split("/")[2]


def test_every_module_that_makes_http_requests_goes_through_the_guard() -> None:
    import ast
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "src" / "onpace"
    sending = {"get", "post", "put", "delete", "patch", "request", "send", "stream"}
    for path in sorted(source.rglob("*.py")):
        if path.name == "outbound.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        if not imported & {"httpx", "requests", "urllib3"}:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in sending
            ):
                owner = node.func.value
                name = getattr(owner, "id", None) or getattr(owner, "attr", None)
                assert name not in {"httpx", "requests", "client", "_client"}, (
                    f"{path.name}:{node.lineno} sends a request itself; use onpace.outbound.request"
                )
