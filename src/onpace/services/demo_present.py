"""Move the example organisation to the present: every date by the same whole number of weeks.

The example organisation (``examples/``: ``onpace.yaml``, ``actuals.csv``, ``checkins.csv``)
tells one twelve-week quarter. The demo makes it *now*: every date of the three files moves by
the same whole number of weeks, so that the quarter's last week is the current one and weekdays
stay what they were. The shift is made on the text, before anything is parsed: every ISO date
(``YYYY-MM-DD``) in the model file moves — cycles, phased plan points, hand-off due and delivery
dates, whatever a later version of the file adds — and a cycle id that names a quarter
(``2026-Q2``) is renamed after the quarter that holds the moved cycle's middle. In the CSV files
the ``date`` column moves, and rows dated after today are left out: they have not happened yet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from onpace.domain.model import Model
from onpace.errors import UserError

EXAMPLE_FILES = ("onpace.yaml", "actuals.csv", "checkins.csv")

_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?!\d)")
_QUARTER_ID = re.compile(r"^\d{4}-Q[1-4]$")


def week_shift(last_day: dt.date, today: dt.date) -> int:
    """Return the whole weeks that move ``last_day`` to the first day on or after ``today`` with its weekday."""
    days = (today - last_day).days
    return -(-days // 7)


def shift_dates(text: str, weeks: int) -> str:
    """Return ``text`` with every valid ISO date (``YYYY-MM-DD``) moved by ``weeks`` weeks."""

    def moved(match: re.Match[str]) -> str:
        try:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return match[0]
        return (day + dt.timedelta(weeks=weeks)).isoformat()

    return _ISO_DATE.sub(moved, text)


def quarter_label(start: dt.date, end: dt.date) -> str:
    """Return the name of the quarter that holds the middle of a cycle, e.g. ``2026-Q4``."""
    middle = start + (end - start) / 2
    return f"{middle.year}-Q{(middle.month - 1) // 3 + 1}"


def shift_model_text(text: str, weeks: int, model: Model) -> str:
    """Return the model file ``text`` with its dates moved and its quarter-named cycles renamed."""
    moved = shift_dates(text, weeks)
    for cycle in model.cycles:
        if not _QUARTER_ID.match(cycle.id):
            continue
        shift = dt.timedelta(weeks=weeks)
        label = quarter_label(cycle.start + shift, cycle.end + shift)
        if label != cycle.id and label not in {c.id for c in model.cycles}:
            moved = re.sub(rf"(?<![\w-]){re.escape(cycle.id)}(?![\w-])", label, moved)
    return moved


def shift_csv(text: str, weeks: int, *, up_to: dt.date, name: str) -> str:
    """Return a CSV text with its ``date`` column moved by ``weeks`` weeks, without rows dated after ``up_to``.

    Rows whose date cannot be read are kept as they are (the ingest quarantines them).
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise UserError(f"{name}: the file is empty")
    column = next((i for i, h in enumerate(header) if h.strip().lower() == "date"), None)
    if column is None:
        raise UserError(f"{name}:1: the header has no date column")
    kept = io.StringIO()
    writer = csv.writer(kept, lineterminator="\n")
    writer.writerow(header)
    for row in reader:
        if column < len(row):
            row[column] = shift_dates(row[column], weeks)
            day = _leading_date(row[column])
            if day is not None and day > up_to:
                continue
        writer.writerow(row)
    return kept.getvalue()


def _leading_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def write_present_org(examples: Path, original: Model, target: Path, today: dt.date) -> int:
    """Write the example organisation (``original`` is its model), moved so that its last week is today's.

    The files go to ``target``. Return the number of weeks the dates moved. Raise
    :class:`UserError` when a file is missing or the model has no cycle.
    """
    texts = {}
    for name in EXAMPLE_FILES:
        path = examples / name
        if not path.is_file():
            raise UserError(f"the demo organisation is incomplete: {path} is missing")
        texts[name] = path.read_text(encoding="utf-8")
    if not original.cycles:
        raise UserError(f"{examples / 'onpace.yaml'}: the demo organisation has no cycle")
    weeks = week_shift(max(c.end for c in original.cycles), today)
    target.mkdir(parents=True, exist_ok=True)
    (target / "onpace.yaml").write_text(shift_model_text(texts["onpace.yaml"], weeks, original), "utf-8")
    for name in ("actuals.csv", "checkins.csv"):
        moved = shift_csv(texts[name], weeks, up_to=today, name=str(examples / name))
        (target / name).write_text(moved, encoding="utf-8")
    return weeks


def as_of_steps(model: Model, today: dt.date) -> list[dt.date]:
    """Return the replay's as-of dates: the last day of each past week of the cycle, then today."""
    start = min(c.start for c in model.cycles)
    week_end = start + dt.timedelta(days=6)
    steps = []
    while week_end < today:
        steps.append(week_end)
        week_end += dt.timedelta(days=7)
    if start <= today:
        steps.append(today)
    return steps
