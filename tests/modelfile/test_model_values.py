"""Durations, tolerance thresholds and formulas as written in onpace.yaml."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onpace.domain.model import Threshold
from onpace.modelfile import (
    FormulaError,
    format_duration,
    format_threshold,
    formula_names,
    parse_duration,
    parse_threshold,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", dt.timedelta(minutes=30)),
        ("1h", dt.timedelta(hours=1)),
        ("2d", dt.timedelta(days=2)),
        ("1w", dt.timedelta(weeks=1)),
        ("45s", dt.timedelta(seconds=45)),
        ("1d12h", dt.timedelta(days=1, hours=12)),
        (" 2W ", dt.timedelta(weeks=2)),
    ],
)
def test_it_parses_durations_written_with_a_unit(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "2x", "d2", "1.5h", "-1d", "1 day"])
def test_it_refuses_durations_without_a_known_unit(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_it_refuses_a_zero_duration() -> None:
    with pytest.raises(ValueError, match="is zero"):
        parse_duration("0d")


def test_it_writes_durations_in_the_largest_whole_units() -> None:
    assert [format_duration(dt.timedelta(**kw)) for kw in ({"days": 14}, {"days": 2}, {"minutes": 90})] == [
        "2w",
        "2d",
        "1h30m",
    ]


@given(st.integers(min_value=1, max_value=10**9))
def test_a_written_duration_reads_back_the_same(seconds: int) -> None:
    duration = dt.timedelta(seconds=seconds)
    assert parse_duration(format_duration(duration)) == duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5%", Threshold(0.05, True)),
        ("1.5 %", Threshold(0.015, True)),
        ("0.2", Threshold(0.2, False)),
        ("3", Threshold(3.0, False)),
        ("0%", Threshold(0.0, True)),
    ],
)
def test_it_parses_relative_and_absolute_thresholds(text: str, expected: Threshold) -> None:
    assert parse_threshold(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"), [("-5%", "negative"), ("abc", "not a number"), ("inf", "finite")]
)
def test_it_refuses_bad_thresholds(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_threshold(text)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False), st.booleans())
def test_a_written_threshold_reads_back_the_same(value: float, relative: bool) -> None:
    threshold = Threshold(value, relative)
    assert parse_threshold(format_threshold(threshold)) == threshold


def test_it_lists_the_kpis_a_formula_names_once_each_in_order() -> None:
    assert formula_names("(spend + fees) / new_customers - spend * 0.5") == ("spend", "fees", "new_customers")


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("", "the formula is empty"),
        ("a /", "the formula ends where a KPI id, number or `(` is expected"),
        ("(a + b", "the `(` at column 1 is never closed"),
        ("a b", "unexpected `b` at column 3"),
        ("a)", "unexpected `)` at column 2"),
        ("a ^ 2", "`^` at column 3 is not allowed (use KPI ids, numbers, + - * / and parentheses)"),
    ],
)
def test_it_explains_where_a_formula_goes_wrong(formula: str, message: str) -> None:
    with pytest.raises(FormulaError) as caught:
        formula_names(formula)
    assert str(caught.value) == message
