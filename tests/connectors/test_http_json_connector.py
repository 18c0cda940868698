"""The HTTP JSON connector against a real API server on loopback."""

from __future__ import annotations

import datetime as dt
import socket
import threading

import pytest
from loopback_api import Call, Reply, running_api

from onpace.config import get_settings
from onpace.connectors.base import SourceError
from onpace.connectors.http_json import fetch
from onpace.domain.model import Source


@pytest.fixture(autouse=True)
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let these tests reach their API on loopback: the outbound guard refuses it otherwise."""
    monkeypatch.setenv("ONPACE_OUTBOUND_ALLOW", "127.0.0.1")
    get_settings.cache_clear()


# 7 resolved issues over three days, with one that has no resolution date.
ISSUES = [
    {"key": f"OPS-{i}", "fields": {"resolutiondate": d, "customfield_10016": sp}}
    for i, (d, sp) in enumerate(
        [
            ("2026-01-05T09:12:00.000+0000", 3),
            ("2026-01-05T17:40:00.000+0000", 5),
            ("2026-01-06T08:00:00.000+0000", 1),
            (None, 2),
            ("2026-01-06T11:30:00.000+0000", 8),
            ("2026-01-07T10:00:00.000+0000", 2),
            ("2026-01-07T16:45:00.000+0000", 13),
        ],
        start=1,
    )
]


def jira(call: Call) -> Reply:
    """Answer like Jira's /rest/api/2/search: startAt/maxResults paging with a total, bearer auth."""
    if call.headers.get("authorization") != "Bearer t0ken":
        return 401, {"errorMessages": ["You are not authenticated."]}
    start, size = int(call.query["startAt"]), min(int(call.query["maxResults"]), 3)  # server caps pages at 3
    return 200, {
        "startAt": start,
        "maxResults": size,
        "total": len(ISSUES),
        "issues": ISSUES[start : start + size],
    }


def jira_source(base: str, **extra: object) -> Source:
    options: dict[str, object] = {
        "url": base + "/rest/api/2/search",
        "params": {"jql": 'project = OPS AND resolved >= "{since:%Y/%m/%d}"', "fields": "resolutiondate"},
        "token": "env:JIRA_TOKEN",
        "records": "issues",
        "fields": {"metric": "=issues_resolved", "date": "fields.resolutiondate", "value": "=1"},
        "paginate": {
            "style": "offset",
            "param": "startAt",
            "size_param": "maxResults",
            "size": 50,
            "total": "total",
        },
        "aggregate": "count",
    }
    options.update(extra)
    return Source(id="jira", kind="http", options=options)


ENV = {"JIRA_TOKEN": "t0ken"}


def test_it_counts_jira_issues_resolved_per_day_across_pages() -> None:
    with running_api(jira) as api:
        result = fetch(jira_source(api.base), dt.datetime(2026, 1, 1), env=ENV)
    assert [c.query["startAt"] for c in api.calls] == ["0", "3", "6"]
    assert api.calls[0].query["jql"] == 'project = OPS AND resolved >= "2026/01/01"'
    rows = result.records.select("metric", "date", "value", "source").rows()
    assert rows == [
        ("issues_resolved", dt.date(2026, 1, 5), 2.0, "jira"),
        ("issues_resolved", dt.date(2026, 1, 6), 2.0, "jira"),
        ("issues_resolved", dt.date(2026, 1, 7), 2.0, "jira"),
    ]
    [missing] = result.rejected
    assert missing.locator == "page 2 item 1"
    assert missing.reason == "missing date"
    assert '"OPS-4"' in missing.raw


def test_it_maps_a_value_path_and_sums_story_points() -> None:
    with running_api(jira) as api:
        source = jira_source(
            api.base,
            fields={
                "metric": "=points_done",
                "date": "fields.resolutiondate",
                "value": "fields.customfield_10016",
            },
            aggregate="sum",
        )
        result = fetch(source, None, env=ENV)
    assert api.calls[0].query["jql"].endswith('"1970/01/01"')
    assert result.records["value"].to_list() == [8.0, 9.0, 15.0]


def test_bad_credentials_are_a_permanent_error() -> None:
    with running_api(jira) as api, pytest.raises(SourceError) as caught:
        fetch(jira_source(api.base), None, env={"JIRA_TOKEN": "wrong"})
    assert caught.value.permanent
    assert "401" in str(caught.value)
    assert "source jira" in str(caught.value)


def test_a_missing_token_variable_is_a_permanent_error_naming_it() -> None:
    with pytest.raises(SourceError) as caught:
        fetch(jira_source("http://127.0.0.1:9"), None, env={})
    assert caught.value.permanent
    assert "JIRA_TOKEN" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_server_trouble_is_transient(status: int) -> None:
    with running_api(lambda call: (status, {"error": "busy"})) as api, pytest.raises(SourceError) as caught:
        fetch(jira_source(api.base), None, env=ENV)
    assert not caught.value.permanent


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceError) as caught:
        fetch(jira_source(f"http://127.0.0.1:{port}"), None, env=ENV)
    assert not caught.value.permanent


def test_a_timeout_is_transient() -> None:
    release = threading.Event()

    def slow(call: Call) -> Reply:
        release.wait(5)
        return 200, {"issues": [], "total": 0}

    with running_api(slow) as api:
        try:
            with pytest.raises(SourceError) as caught:
                fetch(jira_source(api.base, timeout=0.2), None, env=ENV)
        finally:
            release.set()
    assert not caught.value.permanent
    assert "timed out" in str(caught.value)


def test_a_body_that_is_not_json_or_has_no_list_is_permanent() -> None:
    with running_api(lambda call: (200, b"<html>login</html>")) as api, pytest.raises(SourceError) as caught:
        fetch(jira_source(api.base), None, env=ENV)
    assert caught.value.permanent
    with (
        running_api(lambda call: (200, {"issues": {"not": "a list"}})) as api,
        pytest.raises(SourceError) as caught,
    ):
        fetch(jira_source(api.base), None, env=ENV)
    assert caught.value.permanent
    assert "expected a list at 'issues'" in str(caught.value)


def _points(n: int) -> list[dict[str, object]]:
    return [{"kpi": "orders", "day": f"2026-01-{i + 1:02d}", "n": i * 10} for i in range(n)]


def test_it_follows_a_cursor_until_there_is_none() -> None:
    data = _points(5)

    def cursor_api(call: Call) -> Reply:
        start = int(call.query.get("cursor") or 0)
        nxt = start + 2 if start + 2 < len(data) else None
        return 200, {"data": data[start : start + 2], "meta": {"next": None if nxt is None else str(nxt)}}

    with running_api(cursor_api) as api:
        source = Source(
            "orders_api",
            "http",
            options={
                "url": api.base + "/points",
                "records": "data",
                "fields": {"metric": "kpi", "date": "day", "value": "n"},
                "paginate": {"style": "cursor", "param": "cursor", "next": "meta.next"},
                "headers": {"X-Api-Key": "env:KEY"},
            },
        )
        result = fetch(source, None, env={"KEY": "abc"})
    assert [c.query.get("cursor") for c in api.calls] == [None, "2", "4"]
    assert all(c.headers["x-api-key"] == "abc" for c in api.calls)
    assert result.records["value"].to_list() == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert result.records["line"].to_list() == [1, 2, 3, 4, 5]


def test_it_follows_next_links_in_the_body_and_in_the_link_header() -> None:
    data = _points(3)

    def linked(call: Call) -> Reply:
        page = int(call.query.get("p", "0"))
        nxt = f"/points?p={page + 1}" if page + 1 < len(data) else None
        return 200, {"items": data[page : page + 1], "links": {"next": nxt}}

    fields = {"metric": "kpi", "date": "day", "value": "n"}
    with running_api(linked) as api:
        body_links = {"style": "next_link", "next": "links.next"}
        source = Source(
            "a",
            "http",
            options={
                "url": api.base + "/points",
                "records": "items",
                "fields": fields,
                "paginate": body_links,
            },
        )
        result = fetch(source, None, env={})
    assert result.records.height == 3
    assert len(api.calls) == 3

    def header_linked(call: Call) -> Reply:
        page = int(call.query.get("page", "1"))
        api2.extra_headers = {"Link": f'<{{base}}/p?page={page + 1}>; rel="next"'} if page < 2 else {}
        return 200, data[page - 1 : page]

    with running_api(header_linked) as api2:
        source = Source(
            "b",
            "http",
            options={"url": api2.base + "/p", "fields": fields, "paginate": {"style": "next_link"}},
        )
        result = fetch(source, None, env={})
    assert result.records["date"].to_list() == [dt.date(2026, 1, 1), dt.date(2026, 1, 2)]


def test_it_pages_by_number_and_stops_on_a_short_page() -> None:
    data = _points(5)

    def paged(call: Call) -> Reply:
        page, size = int(call.query["page"]), int(call.query["per_page"])
        return 200, {"results": data[(page - 1) * size : page * size]}

    with running_api(paged) as api:
        source = Source(
            "c",
            "http",
            options={
                "url": api.base + "/p",
                "records": "results",
                "fields": {"metric": "kpi", "date": "day", "value": "n"},
                "paginate": {"style": "page", "size": 2},
            },
        )
        result = fetch(source, None, env={})
    assert [c.query["page"] for c in api.calls] == ["1", "2", "3"]
    assert result.records.height == 5


def test_an_endless_pagination_is_refused() -> None:
    with running_api(
        lambda call: (200, {"data": [{"kpi": "x", "day": "2026-01-01", "n": 1}], "next": "again"})
    ) as api:
        source = Source(
            "d",
            "http",
            options={
                "url": api.base,
                "records": "data",
                "fields": {"metric": "kpi", "date": "day", "value": "n"},
                "paginate": {"style": "cursor", "next": "next", "max_pages": 5},
            },
        )
        with pytest.raises(SourceError) as caught:
            fetch(source, None, env={})
    assert caught.value.permanent
    assert len(api.calls) == 5
