"""Pushed records and the kind registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from onpace.connectors import registry
from onpace.connectors.base import SourceError
from onpace.connectors.push import fetch as push_fetch
from onpace.connectors.push import validate_pushed
from onpace.domain.model import Source


def test_pushed_records_are_checked_like_any_other() -> None:
    result = validate_pushed(
        [
            {"metric": "signups", "date": "2026-01-05", "value": 42, "note": "ignored"},
            {"metric": "signups", "date": "2026-01-06T08:00:00Z", "value": "43.5", "source": "web"},
            {"metric": "signups", "date": "2026-01-07", "value": True},
            "not an object",
            {"metric": "signups", "date": "yesterday", "value": 1},
            {"date": "2026-01-07", "value": 1},
        ],
        source="app",
    )
    assert result.records.rows() == [
        ("signups", dt.date(2026, 1, 5), 42.0, "app", 1),
        ("signups", dt.date(2026, 1, 6), 43.5, "web", 2),
    ]
    assert [(r.locator, r.reason) for r in result.rejected] == [
        ("records[2]", "unparseable number 'true'"),
        ("records[3]", "not an object"),
        ("records[4]", "unparseable date 'yesterday'"),
        ("records[5]", "missing metric"),
    ]
    assert '"note": "ignored"' not in result.rejected[0].raw


def test_an_empty_push_is_an_empty_result() -> None:
    result = validate_pushed([], source="app")
    assert result.records.height == 0
    assert result.rejected == ()


def test_a_push_source_is_never_pulled_and_keeps_its_state() -> None:
    result = push_fetch(Source("app", "push"), None, env={}, state={"k": "v"})
    assert result.records.height == 0
    assert result.state == {"k": "v"}


def test_the_registry_knows_every_kind_and_its_aliases(tmp_path: Path) -> None:
    assert registry.kinds() == ("csv", "excel", "http", "push", "sql")
    assert registry.connector_for("xlsx") is registry.CONNECTORS["excel"]
    (tmp_path / "a.csv").write_text("metric,date,value\nm,2026-01-05,1\n")
    result = registry.fetch(Source("drop", "csv", options={"path": str(tmp_path)}), None, env={})
    assert result.records.height == 1


def test_an_unknown_kind_is_a_permanent_error_listing_the_known_ones() -> None:
    with pytest.raises(SourceError) as caught:
        registry.fetch(Source("x", "ftp"), None, env={})
    assert caught.value.permanent
    assert str(caught.value) == "source x: unknown source kind 'ftp' (known: csv, excel, http, push, sql)"
