"""Format figures, dates and times as people read them on the pages.

Figures follow the unit of measure of their KPI (``Kpi.uom``, see ``onpace.domain.units``), the
model's word on it; a KPI without one shows plain numbers (a unit is never guessed from a title,
which may name it wrongly or not at all): percentages with one decimal, money
and counts with thousands separators and fewer decimals as they grow, spans of time with theirs. Times
read "3 Nov 2026, 23:59"; ids never reach the text (callers pass names).
"""

from __future__ import annotations

import datetime as dt
import math

from onpace.domain.model import Model
from onpace.domain.units import is_currency, uom_of
from onpace.reports.format import format_day

CURRENCIES = frozenset(("EUR", "USD", "GBP", "CHF", "€", "$", "£"))
SPANS = frozenset(("days", "hours", "minutes"))


def subject_unit(model: Model, subject: str) -> str:
    """Return the unit of a KPI's or KR's figures: its KPI's ``uom`` ("" when the model gives none)."""
    return uom_of(model, subject) or ""


def subject_units(model: Model) -> dict[str, str]:
    """Return :func:`subject_unit` of every KPI and key result by id."""
    kpis = {kpi.id: subject_unit(model, kpi.id) for kpi in model.kpis}
    return kpis | {kr.id: subject_unit(model, kr.id) for kr in model.key_results}


def figure(value: float | None, unit: str = "", *, signed: bool = False) -> str:
    """Return ``value`` for reading: "97.2 %", "EUR 212,400", "3,200", "4.87"; "–" when unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    size = abs(value)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2
    money = unit in CURRENCIES or is_currency(unit)
    if money:
        digits = 0 if size >= 10 else 2
    text = f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if unit == "%":
        return f"{text} %"
    if money:
        return f"{unit} {text}"
    if unit in SPANS:
        return f"{text} {unit[:-1] if text in ('1', '+1', '-1') else unit}"
    return text


def share(value: float | None, *, signed: bool = False) -> str:
    """Return a share (0.176) as a percentage ("17.6 %", "+17.6 %" when ``signed``); "–" when unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value * 100:+.1f} %" if signed else f"{value * 100:.1f} %"


def human_date(value: dt.date | None) -> str:
    """Return a date as "3 Nov 2026" ("–" for none): the reviews' and mails' way too."""
    return format_day(value)


def human_time(value: dt.datetime | None) -> str:
    """Return a moment as "3 Nov 2026, 23:59" in its own time zone ("–" for none)."""
    if value is None:
        return "–"
    return f"{human_date(value.date())}, {value:%H:%M}"


def days_between(later: dt.datetime | dt.date, earlier: dt.datetime | dt.date) -> int:
    """Return whole days from ``earlier`` to ``later`` (dates of the moments)."""
    first = earlier.date() if isinstance(earlier, dt.datetime) else earlier
    last = later.date() if isinstance(later, dt.datetime) else later
    return (last - first).days


def plural(count: int, word: str) -> str:
    """Return "1 day", "3 days"."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def lateness(due: dt.datetime | dt.date, now: dt.datetime) -> str:
    """Return "3 days late", "due today" or "in 2 days" for a deadline seen at ``now``."""
    days = days_between(now, due)
    if days > 0:
        return f"{plural(days, 'day')} late"
    if days == 0:
        return "due today"
    return f"in {plural(-days, 'day')}"
