"""KPIs kept one per row with their targets in month or week columns (or one target column)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from onpace.spreadsheet_import.columns import Number, Period, number_of
from onpace.spreadsheet_import.findings import slug, unique
from onpace.spreadsheet_import.layout import Layout
from onpace.spreadsheet_import.okrs import CycleSpan, OkrBook, quarter_cycle
from onpace.spreadsheet_import.people import Directory
from onpace.spreadsheet_import.sheets import Row

LEVEL_WORDS = re.compile(
    r"%|\b(rate|ratio|share|score|nps|csat|average|avg|mean|days|hours|time|level|uptime|cover|margin|"
    r"per|headcount|fte|balance|satisfaction|pct|percent)\b",
    re.IGNORECASE,
)
FLOW_MEASURE = re.compile(r"\b(sum|total|flow|count|cumulative|add)\b", re.IGNORECASE)
LEVEL_MEASURE = re.compile(r"\b(avg|average|mean|level|rate|last|latest|point|snapshot)\b", re.IGNORECASE)
DOWN = re.compile(r"\b(lower|down|decrease|less|min|minimi[sz]e|reduce)\b", re.IGNORECASE)
UP = re.compile(r"\b(higher|up|increase|more|max|maximi[sz]e|grow)\b", re.IGNORECASE)


@dataclass
class KpiBook:
    """The KPIs read so far and the cycles their plans need."""

    kpis: list[dict[str, Any]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    cycles: dict[str, CycleSpan] = field(default_factory=dict)


def span_cycle(periods: list[Period]) -> CycleSpan:
    """Return the cycle the periods make: their quarter, half-year or year, else exactly their span.

    A week is placed by its last day, so a week that starts in June and ends in July is July's.
    """
    first = min(p.first for p in periods)
    last = max(p.last for p in periods)
    opening = min(p.last for p in periods)
    quarter = quarter_cycle(opening.year, (opening.month - 1) // 3 + 1)
    if last <= quarter.end:
        return quarter
    halves = {
        (dt.date(first.year, 1, 1), dt.date(first.year, 6, 30)): f"{first.year}-H1",
        (dt.date(first.year, 7, 1), dt.date(first.year, 12, 31)): f"{first.year}-H2",
        (dt.date(first.year, 1, 1), dt.date(first.year, 12, 31)): f"FY{first.year}",
    }
    named = halves.get((first, last))
    if named is not None:
        return CycleSpan(named, first, last)
    return CycleSpan(f"{first:%Y-%m}-to-{last:%Y-%m}", first, last)


def read_kpis(layout: Layout, directory: Directory, book: KpiBook, okrs: OkrBook) -> None:
    """Add the KPIs of a KPI sheet to ``book``; link them to the key results they name."""
    sheet, report = layout.sheet, directory.report
    cycle = span_cycle([p for _, p in layout.periods]) if layout.periods else None
    if cycle is not None:
        book.cycles.setdefault(cycle.id, cycle)
    guessed_measure: list[tuple[str, str]] = []
    guessed_direction: list[str] = []
    for row in sheet.rows:
        name = row.get(layout.col("kpi"))
        if name is None:
            continue
        where = sheet.where(row.number, layout.col("kpi"))
        ident = unique(slug(str(name), fallback="kpi"), book.ids)
        unit = directory.unit(row.get(layout.col("team")))
        owner = directory.owner(
            row.get(layout.col("owner")), sheet.where(row.number, layout.col("owner")), f"KPI `{ident}`", unit
        )
        targets = _targets(layout, row)
        measure = _measure(row, layout, name=str(name), targets=targets, guessed=guessed_measure, ident=ident)
        direction = _direction(row, layout, guessed_direction, ident)
        grain = layout.periods[0][1].grain if layout.periods else "month"
        kpi: dict[str, Any] = {
            "id": ident,
            "title": str(name),
            "unit": unit,
            "owner": owner,
            "measure": measure,
            "direction": direction,
            "grain": grain,
            "aggregate": "sum" if measure == "flow" else "mean",
        }
        plan = _plan(layout, row, measure, targets, cycle)
        if plan is None:
            report.needs_person(where, f"KPI `{ident}` has no target numbers; it has no plan")
        else:
            kpi["plan"] = plan
        if cycle is not None and len(okrs.cycles) + len(book.cycles) > 1:
            kpi["cycle"] = cycle.id
        feeds = row.get(layout.col("feeds")) or row.get(layout.col("key_result"))
        if feeds is not None:
            kr = okrs.kr_by_title.get(str(feeds).strip().lower()) or (
                str(feeds).strip().upper()
                if str(feeds).strip().upper() in okrs.kr_by_title.values()
                else None
            )
            if kr is None:
                report.needs_person(
                    sheet.where(row.number, layout.col("feeds") or layout.col("key_result")),
                    f"KPI `{ident}` names key result `{feeds}`, which is not in the workbook; not linked",
                )
            else:
                kpi["feeds"] = [{"kr": kr, "weight": 1.0}]
        book.kpis.append(kpi)
    if guessed_measure:
        levels = ", ".join(k for k, m in guessed_measure if m == "level") or "none"
        flows = ", ".join(k for k, m in guessed_measure if m == "flow") or "none"
        report.guessed(
            sheet.where(sheet.header_row),
            f"no measure type column: read as levels (the latest bucket counts): {levels}; "
            f"as flows (amounts that add up over the cycle): {flows}",
        )
    if guessed_direction:
        report.guessed(
            sheet.where(sheet.header_row),
            "no direction column: higher is better for " + ", ".join(guessed_direction),
        )
    _share_weights(book)


def _targets(layout: Layout, row: Row) -> list[tuple[Period, Number]]:
    found = []
    for column, period in layout.periods:
        value = number_of(row.get(column))
        if value is not None:
            found.append((period, value))
    return found


def _measure(
    row: Row,
    layout: Layout,
    *,
    name: str,
    targets: list[tuple[Period, Number]],
    guessed: list[tuple[str, str]],
    ident: str,
) -> str:
    given = row.get(layout.col("measure"))
    if given is not None:
        if FLOW_MEASURE.search(str(given)):
            return "flow"
        if LEVEL_MEASURE.search(str(given)):
            return "level"
    units = (
        " ".join(str(n.unit) for _, n in targets if n.unit)
        + " "
        + str(row.get(layout.col("unit_of_measure")) or "")
    )
    measure = "level" if LEVEL_WORDS.search(f"{name} {units}") else "flow"
    guessed.append((ident, measure))
    return measure


def _direction(row: Row, layout: Layout, guessed: list[str], ident: str) -> str:
    given = row.get(layout.col("direction"))
    if given is not None:
        if DOWN.search(str(given)):
            return "down"
        if UP.search(str(given)):
            return "up"
    guessed.append(ident)
    return "up"


def _plan(
    layout: Layout, row: Row, measure: str, targets: list[tuple[Period, Number]], cycle: CycleSpan | None
) -> dict[str, Any] | None:
    if not targets:
        single = number_of(row.get(layout.col("target")))
        return {"per_bucket": single.value} if single is not None else None
    values = [n.value for _, n in targets]
    if measure == "flow":
        if len(set(values)) == 1 and len(targets) == len(layout.periods):
            return {"per_bucket": values[0]}
        # Flow plans are cumulative: the total to date at the end of each bucket, from 0 at the start.
        start = cycle.start if cycle is not None else targets[0][0].first
        points = {start: 0.0} | {
            p.last: total for (p, _), total in zip(targets, accumulate(values), strict=True)
        }
        return {"points": points}
    return {"points": {p.last: n.value for p, n in targets}}


def _share_weights(book: KpiBook) -> None:
    """Split each key result's weight equally among the KPIs that feed it (weights are 0–1)."""
    feeding: dict[str, list[dict[str, Any]]] = {}
    for kpi in book.kpis:
        for feed in kpi.get("feeds", []):
            feeding.setdefault(feed["kr"], []).append(feed)
    for feeds in feeding.values():
        for feed in feeds:
            feed["weight"] = round(1 / len(feeds), 2)
