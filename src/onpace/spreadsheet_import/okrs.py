"""Objectives and key results kept one key result per row (the objective repeated or only on its first row)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from onpace.spreadsheet_import.columns import date_of, number_of, quarter_of
from onpace.spreadsheet_import.layout import Layout
from onpace.spreadsheet_import.people import Directory
from onpace.spreadsheet_import.sheets import Row


@dataclass(frozen=True)
class CycleSpan:
    """A cycle of the model: id, first and last day."""

    id: str
    start: dt.date
    end: dt.date


def quarter_cycle(year: int, quarter: int) -> CycleSpan:
    """Return the calendar quarter as a cycle (``2026-Q2``: 1 April to 30 June)."""
    first_month = 3 * (quarter - 1) + 1
    last_month = first_month + 2
    return CycleSpan(
        f"{year}-Q{quarter}",
        dt.date(year, first_month, 1),
        dt.date(year, last_month, calendar.monthrange(year, last_month)[1]),
    )


@dataclass
class OkrBook:
    """What the OKR sheets hold, ready to be written: objectives (with key results) and cycles."""

    objectives: list[dict[str, Any]] = field(default_factory=list)
    cycles: dict[str, CycleSpan] = field(default_factory=dict)
    kr_by_title: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # item id -> comment for the YAML


def read_okrs(layout: Layout, directory: Directory, book: OkrBook, *, today: dt.date) -> None:
    """Add the objectives and key results of an OKR sheet to ``book``."""
    sheet, report = layout.sheet, directory.report
    col = layout.col
    current: dict[str, Any] | None = None
    current_title: object = None
    for row in sheet.rows:
        objective_cell = row.get(col("objective"))
        kr_cell = row.get(col("key_result"))
        if objective_cell is not None and objective_cell != current_title:
            current_title = objective_cell
            current = _objective(layout, row, directory, book, today=today)
            book.objectives.append(current)
        if kr_cell is None:
            continue
        if current is None:
            report.needs_person(
                sheet.where(row.number, col("key_result")),
                f"key result `{kr_cell}` has no objective above it; put under `Unsorted key results`",
            )
            current_title = "Unsorted key results"
            current = _objective(layout, row, directory, book, today=today, title=current_title)
            book.objectives.append(current)
        current["key_results"].append(_key_result(layout, row, directory, book, current))
    if any(o["key_results"] for o in book.objectives):
        report.guessed(
            sheet.where(sheet.header_row),
            "key results are read as levels (the latest value counts), checked weekly, higher or lower "
            "is better as the target is above or below the baseline, planned from baseline at the cycle's "
            "start to target on the due date",
        )
    for objective in book.objectives:
        if not objective["key_results"]:
            report.needs_person(
                objective.pop("_where"), f"objective `{objective['title']}` has no key results"
            )
        objective.pop("_where", None)
        objective.pop("_team", None)


def _objective(
    layout: Layout, row: Row, directory: Directory, book: OkrBook, *, today: dt.date, title: object = None
) -> dict[str, Any]:
    sheet, report = layout.sheet, directory.report
    cycle = _cycle(layout, row, book, directory, today=today)
    team = row.get(layout.col("team"))
    unit = directory.unit(team)
    ident = f"O{len(book.objectives) + 1}"
    where = sheet.where(row.number, layout.col("objective"))
    owner_where = sheet.where(row.number, layout.col("owner"))
    owner = directory.owner(row.get(layout.col("owner")), owner_where, f"objective {ident}", unit)
    if row.get(layout.col("owner")) is not None:
        report.guessed(where, f"objective {ident} is owned by the owner of its first key result")
    return {
        "id": ident,
        "title": str(title if title is not None else row.get(layout.col("objective"))),
        "cycle": cycle.id,
        "unit": unit,
        "owner": owner,
        "key_results": [],
        "_where": where,
        "_team": unit,
    }


def _cycle(layout: Layout, row: Row, book: OkrBook, directory: Directory, *, today: dt.date) -> CycleSpan:
    where = layout.sheet.where(row.number, layout.col("cycle"))
    quarter = quarter_of(row.get(layout.col("cycle")))
    if quarter is None:
        due = date_of(row.get(layout.col("due")))
        if due is not None:
            quarter = (due.year, (due.month - 1) // 3 + 1)
            directory.report.guessed(
                where, f"cycle {quarter[0]}-Q{quarter[1]}, the quarter of the due date {due}"
            )
        else:
            quarter = (today.year, (today.month - 1) // 3 + 1)
            directory.report.needs_person(
                where, f"no quarter or due date: put in the current quarter {quarter[0]}-Q{quarter[1]}"
            )
    cycle = quarter_cycle(*quarter)
    book.cycles.setdefault(cycle.id, cycle)
    return cycle


def _key_result(
    layout: Layout, row: Row, directory: Directory, book: OkrBook, objective: dict[str, Any]
) -> dict[str, Any]:
    sheet, report, col = layout.sheet, directory.report, layout.col
    number = sum(len(o["key_results"]) for o in book.objectives) + 1
    ident = f"KR{number}"
    title = str(row.get(col("key_result")))
    owner = directory.owner(
        row.get(col("owner")),
        sheet.where(row.number, col("owner")),
        f"key result {ident}",
        objective["_team"],
    )
    kr: dict[str, Any] = {"id": ident, "title": title, "owner": owner}
    book.kr_by_title[title.lower()] = ident
    baseline = number_of(row.get(col("baseline")))
    target = number_of(row.get(col("target")))
    if target is None:
        report.needs_person(
            sheet.where(row.number, col("target")), f"key result {ident} has no target number; it has no plan"
        )
        book.notes[ident] = "needs a plan: no target in the workbook"
        kr |= {"measure": "level", "direction": "up", "grain": "week", "aggregate": "last"}
        return kr
    if baseline is None:
        report.needs_person(
            sheet.where(row.number, col("baseline")), f"key result {ident} has no baseline; 0 assumed"
        )
        start = 0.0
    else:
        start = baseline.value
    direction = "down" if target.value < start else "up"
    kr |= {"measure": "level", "direction": direction, "grain": "week", "aggregate": "last"}
    cycle = book.cycles[objective["cycle"]]
    due = date_of(row.get(col("due")))
    if due is not None and cycle.start < due < cycle.end:
        kr["plan"] = {"points": {cycle.start: start, due: target.value}}
    else:
        if due is not None and due != cycle.end:
            report.needs_person(
                sheet.where(row.number, col("due")),
                f"due date {due} is outside cycle {cycle.id}; the plan runs to the end of the cycle",
            )
        kr["plan"] = {"baseline": start, "target": target.value, "phasing": "linear"}
    return kr
