"""Recognise what a workbook's columns hold: named fields, periods (months, weeks) and numbers.

Header names are compared after lower-casing and dropping punctuation, against the names people
use for each field. Period headers are dates (a month's or week's first day, as Excel stores
them), month names with a year (``Jan 2026``, ``January 2026``, ``2026-01``, ``Jan-26``) and ISO
weeks (``2026-W14``, ``W14 2026``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from onpace.spreadsheet_import.sheets import CellValue

Field = Literal[
    "objective",
    "key_result",
    "owner",
    "baseline",
    "target",
    "due",
    "cycle",
    "team",
    "unit_of_measure",
    "kpi",
    "direction",
    "measure",
    "email",
    "name",
    "feeds",
]

SYNONYMS: dict[Field, tuple[str, ...]] = {
    "objective": ("objective", "objectives", "goal", "strategic objective", "o"),
    "key_result": ("key result", "key results", "kr", "krs", "result"),
    "owner": ("owner", "kr owner", "responsible", "accountable", "lead", "dri", "assignee", "owned by"),
    "baseline": ("baseline", "start", "start value", "starting value", "current", "from", "initial value"),
    "target": ("target", "target value", "goal value", "to", "end value"),
    "due": ("due", "due date", "deadline", "by", "end date", "target date"),
    "cycle": ("quarter", "cycle", "period", "okr period", "okr cycle"),
    "team": ("team", "department", "function", "business unit", "org unit", "area"),
    "unit_of_measure": ("uom", "unit of measure", "units", "measure unit", "format"),
    "kpi": ("kpi", "kpis", "metric", "indicator", "kpi name", "measure name", "metric name"),
    "direction": ("direction", "better", "good is", "polarity", "higher is better"),
    "measure": ("type", "measure type", "aggregation", "kind"),
    "email": ("email", "e mail", "mail", "email address"),
    "name": ("name", "person", "full name"),
    "feeds": ("feeds", "key result id", "kr id", "drives", "supports"),
}
# "Unit" means a team in some sheets and a unit of measure (%, EUR, days) in others: decided by values.
AMBIGUOUS_UNIT = "unit"
MEASURE_UNITS = re.compile(
    r"^(%|percent|pct|#|count|number|eur|usd|gbp|€|\$|£|days?|hours?|minutes?|ms|seconds?|score|nps|x|ratio|k)$",
    re.IGNORECASE,
)

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name} | {
    name.lower(): i for i, name in enumerate(calendar.month_name) if name
}
_MONTH_TEXT = re.compile(r"^([a-z]+)[\s\-/.']*(\d{2}|\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_ISO_WEEK = re.compile(r"^(\d{4})[\s\-]*w(?:k|eek)?\s*(\d{1,2})$|^w(?:k|eek)?\s*(\d{1,2})[\s\-/]*(\d{4})$")
_NUMBER = re.compile(r"^([+-]?)([€$£]?)\s*([\d.,\s]+)\s*(%|k|m|bn)?\s*([a-z€$£%]*)$", re.IGNORECASE)


def normalise(header: CellValue) -> str:
    """Return a header as words: lower case, punctuation and repeated spaces gone."""
    text = str(header).lower() if header is not None else ""
    return " ".join(re.sub(r"[^a-z0-9%]+", " ", text).split())


def field_of(header: CellValue) -> Field | None:
    """Return the field a header names, or None."""
    words = normalise(header)
    for field, names in SYNONYMS.items():
        if words in names:
            return field
    return None


@dataclass(frozen=True, order=True)
class Period:
    """A month or ISO week that a target column is for: its first and last day."""

    first: dt.date
    last: dt.date
    grain: Literal["month", "week"]


def period_of(header: CellValue) -> Period | None:
    """Return the month or week a column header names, or None when it names none."""
    if isinstance(header, dt.datetime):
        header = header.date()
    if isinstance(header, dt.date):
        # A date header is a month when it is the 1st (as month columns are stored), else a week.
        if header.day == 1:
            return _month(header.year, header.month)
        # Any other date is a week: the Monday-to-Sunday week that holds it.
        first = header - dt.timedelta(days=header.weekday())
        return Period(first, first + dt.timedelta(days=6), "week")
    words = normalise(header).replace(" ", "-") if header is not None else ""
    text = str(header).strip().lower() if header is not None else ""
    if match := _YEAR_MONTH.match(text):
        year, month = int(match.group(1)), int(match.group(2))
        return _month(year, month) if 1 <= month <= 12 else None
    if match := _MONTH_TEXT.match(words.replace("-", " ").strip()) or _MONTH_TEXT.match(text):
        named = _MONTHS.get(match.group(1))
        if named is not None:
            year = int(match.group(2))
            return _month(year + 2000 if year < 100 else year, named)
    if match := _ISO_WEEK.match(text.replace(" ", "")) or _ISO_WEEK.match(text):
        year = int(match.group(1) or match.group(4))
        week = int(match.group(2) or match.group(3))
        try:
            first = dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            return None
        return Period(first, first + dt.timedelta(days=6), "week")
    return None


def _month(year: int, month: int) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(dt.date(year, month, 1), dt.date(year, month, last), "month")


@dataclass(frozen=True)
class Number:
    """A number read from a cell, and the unit of measure written beside it (``%``, ``EUR`` …)."""

    value: float
    unit: str | None


def number_of(cell: CellValue) -> Number | None:
    """Return the number in a cell (``1,200``, ``12%``, ``€30k``, ``4.5 days``), or None."""
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, int | float):
        return Number(float(cell), None)
    if not isinstance(cell, str):
        return None
    match = _NUMBER.match(cell.strip())
    if match is None:
        return None
    sign, currency, digits, scale, unit = match.groups()
    digits = digits.replace(" ", "")
    if "," in digits and "." in digits:
        digits = digits.replace(",", "") if digits.rfind(".") > digits.rfind(",") else _decimal_comma(digits)
    elif "," in digits:
        # "1,200" is a thousand and two hundred; "4,5" is four and a half.
        head, _, tail = digits.rpartition(",")
        digits = digits.replace(",", "") if len(tail) == 3 and head else digits.replace(",", ".")
    try:
        value = float(digits)
    except ValueError:
        return None
    value *= {"k": 1e3, "m": 1e6, "bn": 1e9}.get((scale or "").lower(), 1.0)
    if sign == "-":
        value = -value
    measure = "%" if scale == "%" else (currency or unit or None)
    return Number(value, measure)


def _decimal_comma(digits: str) -> str:
    return digits.replace(".", "").replace(",", ".")


def date_of(cell: CellValue) -> dt.date | None:
    """Return the date in a cell (a date cell, ``2026-03-31``, ``31/03/2026``, ``31.03.2026``), or None."""
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    if not isinstance(cell, str):
        return None
    text = cell.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y", "%b %d, %Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def quarter_of(cell: CellValue) -> tuple[int, int] | None:
    """Return (year, quarter) from ``Q2 2026``, ``2026-Q2``, ``2026 Q2`` or ``Q2-26``, or None."""
    text = normalise(cell).replace(" ", "")
    match = re.match(r"^q([1-4])(\d{2}|\d{4})$", text) or re.match(r"^(\d{4})q([1-4])$", text)
    if match is None:
        return None
    a, b = match.groups()
    quarter, year = (int(a), int(b)) if text.startswith("q") else (int(b), int(a))
    return (year + 2000 if year < 100 else year, quarter)
