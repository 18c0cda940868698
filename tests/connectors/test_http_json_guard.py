"""HTTP JSON sources go through the outbound guard: loopback refused unless allowlisted, redirects re-checked."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from loopback_api import Call, Reply, running_api

from onpace.config import get_settings
from onpace.connectors.base import SourceError, resolve_env
from onpace.connectors.http_json import fetch
from onpace.domain.model import Source
from onpace.env_refs import readable_environment


def items(call: Call) -> Reply:
    return 200, [{"metric": "orders", "date": "2026-01-05", "value": 3}]


def moved(call: Call) -> Reply:
    return 302, {}


@pytest.fixture
def allow(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str | None], None]]:
    """Return a function that sets ONPACE_OUTBOUND_ALLOW (None: unset) for the test."""

    def set_allow(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("ONPACE_OUTBOUND_ALLOW", raising=False)
        else:
            monkeypatch.setenv("ONPACE_OUTBOUND_ALLOW", value)
        get_settings.cache_clear()

    yield set_allow
    get_settings.cache_clear()


def source(url: str) -> Source:
    return Source(
        "api", "http", options={"url": url, "fields": {"metric": "metric", "date": "date", "value": "value"}}
    )


def test_a_source_on_loopback_is_refused_without_the_allowlist(allow: Callable[[str | None], None]) -> None:
    allow(None)
    with running_api(items) as api:
        with pytest.raises(SourceError) as caught:
            fetch(source(api.base + "/items"), None, env={})
        assert caught.value.permanent
        assert "loopback" in str(caught.value)
        assert api.calls == []
        allow("127.0.0.1")
        assert fetch(source(api.base + "/items"), None, env={}).records.height == 1


def test_a_redirect_to_a_refused_address_is_not_followed(allow: Callable[[str | None], None]) -> None:
    allow("localhost")
    with running_api(items) as inside, running_api(moved) as outside:
        outside.extra_headers["Location"] = inside.base + "/items"
        port = outside.base.rsplit(":", 1)[1]
        with pytest.raises(SourceError, match=r"127\.0\.0\.1 is a loopback address"):
            fetch(source(f"http://localhost:{port}/items"), None, env={})
        assert len(outside.calls) == 1
        assert inside.calls == []


def test_a_redirect_to_an_allowed_address_is_followed_and_paging_continues_there(
    allow: Callable[[str | None], None],
) -> None:
    allow("127.0.0.1")
    with running_api(items) as inside, running_api(moved) as outside:
        outside.extra_headers["Location"] = inside.base + "/items"
        result = fetch(source(outside.base + "/start"), None, env={})
        assert result.records.height == 1
        assert len(inside.calls) == 1


def test_a_source_cannot_read_onpace_settings_through_env() -> None:
    with pytest.raises(SourceError, match="onpace's own settings"):
        resolve_env("env:ONPACE_SECRET_KEY", {"ONPACE_SECRET_KEY": "k"}, source="api", option="token")
    with pytest.raises(SourceError, match="onpace's own settings"):
        resolve_env("env:ONPACE_DATABASE_URL_FILE", {}, source="api", option="url")


def test_only_variables_with_a_readable_prefix_reach_sources_and_routes() -> None:
    environ = {
        "ONPACE_SOURCE_WMS_DB_URL": "postgresql://wms",
        "ONPACE_ROUTE_OPS_HOOK": "https://hooks.example/ops",
        "ONPACE_SECRET_KEY": "k",
        "ONPACE_AUDIT_KEY_FILE": "/run/secrets/audit",
        "HOME": "/root",
        "AWS_SECRET_ACCESS_KEY": "aws",
    }
    assert readable_environment(environ, ("ONPACE_SOURCE_", "ONPACE_ROUTE_")) == {
        "ONPACE_SOURCE_WMS_DB_URL": "postgresql://wms",
        "ONPACE_ROUTE_OPS_HOOK": "https://hooks.example/ops",
    }
    # Even a prefix that would cover them does not open onpace's own settings.
    assert "ONPACE_SECRET_KEY" not in readable_environment(environ, ("ONPACE_",))
