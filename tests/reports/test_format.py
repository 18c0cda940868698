"""Figures in their unit of measure and moments in the organisation's time zone."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from onpace.reports.format import format_day, format_moment, format_value


@pytest.mark.parametrize(
    ("value", "uom", "shown"),
    [
        (93.24, "%", "93.2%"),
        (12345.6, "EUR", "€12,346"),
        (-12.5, "USD", "-$12.50"),
        (12345.0, "NOK", "12,345 NOK"),
        (3200.0, "count", "3,200"),
        (7.5, "count", "7.5"),
        (3.5, "days", "3.50 days"),
        (1.0, "hours", "1.00 hour"),
        (1234.5, None, "1,234"),
        (12.34, None, "12.3"),
        (None, "%", "–"),
        (math.nan, "EUR", "–"),
        (math.inf, None, "–"),
    ],
)
def test_a_value_is_shown_in_its_unit(value: float | None, uom: str | None, shown: str) -> None:
    assert format_value(value, uom) == shown


def test_a_moment_is_shown_in_the_organisations_time_zone() -> None:
    moment = dt.datetime(2026, 1, 18, 23, 30, tzinfo=dt.UTC)
    assert format_moment(moment, "Europe/Oslo") == "19 Jan 2026, 00:30 CET"
    assert format_moment(moment) == "18 Jan 2026, 23:30 UTC"
    assert format_moment(dt.datetime(2026, 7, 1, 12, 0), "Europe/Oslo") == "1 Jul 2026, 14:00 CEST"
    assert format_moment(None, "Europe/Oslo") == "–"


def test_a_day_reads_as_people_read_it_never_iso() -> None:
    assert format_day(dt.date(2026, 11, 3)) == "3 Nov 2026"
    assert format_day(None) == "–"


def test_iso_dates_and_moments_inside_a_text_read_as_days() -> None:
    from onpace.reports.format import readable_days

    text = "no explanation by 2026-11-10T23:59:59+00:00; due 2026-11-03, case 2026-99-99"
    assert readable_days(text) == "no explanation by 10 Nov 2026; due 3 Nov 2026, case 2026-99-99"
