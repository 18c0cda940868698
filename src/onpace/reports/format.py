"""Format figures and moments the way people read them: one helper for pages, reviews and mails.

:func:`format_value` writes a number in its unit of measure (``domain.units``); :func:`format_day`
a date (``3 Nov 2026``, never ISO); :func:`format_moment` a moment in the organisation's time zone. Both are pure and never raise on odd input.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from onpace.domain.calendar import zone
from onpace.domain.units import is_currency

MISSING = "–"
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
_SPANS = {"days": ("day", "days"), "hours": ("hour", "hours"), "minutes": ("minute", "minutes")}


def plain(value: float) -> str:
    """Return a number with thousands separated and fewer decimals as it grows (1,234; 12.3; 1.23)."""
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def format_value(value: float | None, uom: str | None = None) -> str:
    """Return ``value`` in its unit: ``93.2%``, ``€12,345``, ``12,345 NOK``, ``3,200``, ``3.5 days``.

    None, NaN and infinities are shown as a dash; an unknown unit is written after the number.
    """
    if value is None or not math.isfinite(value):
        return MISSING
    if uom == "%":
        return f"{value:,.1f}%"
    if uom == "count":
        return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"
    if is_currency(uom):
        amount = f"{abs(value):,.0f}" if abs(value) >= 1000 else f"{abs(value):,.2f}"
        sign = "-" if value < 0 else ""
        symbol = _SYMBOLS.get(str(uom))
        return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {uom}"
    if uom in _SPANS:
        one, many = _SPANS[uom]
        return f"{plain(value)} {one if value == 1 else many}"
    if uom:
        return f"{plain(value)} {uom}"
    return plain(value)


def format_day(day: dt.date | None) -> str:
    """Return a date as people read it, ``3 Nov 2026`` (a dash for none)."""
    if day is None:
        return MISSING
    return f"{day.day} {day:%b %Y}"


_ISO_DAY = re.compile(
    r"(?<![\d-])(\d{4}-\d{2}-\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?(?![\d])"
)


def readable_days(text: str) -> str:
    """Return ``text`` with every ISO date or moment written as its day, ``3 Nov 2026``."""

    def day(match: re.Match[str]) -> str:
        try:
            return format_day(dt.date.fromisoformat(match.group(1)))
        except ValueError:
            return match.group(0)

    return _ISO_DAY.sub(day, text)


def format_moment(moment: dt.datetime | None, timezone: str = "UTC") -> str:
    """Return ``moment`` as local date, time and zone (``12 May 2026, 14:03 CEST``); naive is UTC."""
    if moment is None:
        return MISSING
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    try:
        local = aware.astimezone(zone(timezone))
    except ValueError:
        local = aware.astimezone(dt.UTC)
    return f"{format_day(local.date())}, {local:%H:%M %Z}"
