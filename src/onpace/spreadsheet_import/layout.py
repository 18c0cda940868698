"""Work out what a sheet is: OKRs in rows, KPIs with targets in columns, a people list, or none of these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from onpace.spreadsheet_import.columns import (
    AMBIGUOUS_UNIT,
    MEASURE_UNITS,
    Field,
    Period,
    field_of,
    normalise,
    period_of,
)
from onpace.spreadsheet_import.findings import Report
from onpace.spreadsheet_import.sheets import Sheet

Shape = Literal["okrs", "kpi_targets", "people", "unknown"]


@dataclass
class Layout:
    """A sheet's shape, the column of each field, and the target columns by period."""

    sheet: Sheet
    shape: Shape = "unknown"
    columns: dict[Field, int] = field(default_factory=dict)
    periods: list[tuple[int, Period]] = field(default_factory=list)

    def col(self, name: Field) -> int | None:
        """Return the column index of a field, or None when the sheet has no such column."""
        return self.columns.get(name)


def read_layout(sheet: Sheet, report: Report) -> Layout:
    """Return the layout of ``sheet``, noting ambiguous and ignored columns in ``report``."""
    layout = Layout(sheet)
    ignored: list[str] = []
    for index, header in enumerate(sheet.headers):
        if header is None:
            continue
        period = period_of(header)
        if period is not None:
            layout.periods.append((index, period))
            continue
        name = _field(sheet, index, header, report)
        if name is None:
            ignored.append(f"{header!s} ({sheet.column_place(index)})")
            continue
        if name in layout.columns:
            first = layout.columns[name]
            report.needs_person(
                sheet.column_place(index),
                f"ambiguous columns: `{header}` and `{sheet.headers[first]}` both read as {name.replace('_', ' ')}; "
                f"used `{sheet.headers[first]}` ({sheet.column_place(first)})",
            )
            continue
        layout.columns[name] = index
    grains = {p.grain for _, p in layout.periods}
    if len(grains) > 1:
        report.needs_person(
            sheet.where(sheet.header_row),
            "the target columns mix months and weeks; only the months were read",
        )
        layout.periods = [(i, p) for i, p in layout.periods if p.grain == "month"]
    layout.shape = _shape(layout)
    if layout.shape != "unknown" and ignored:
        report.guessed(sheet.where(sheet.header_row), "columns not read: " + ", ".join(ignored))
    return layout


def _field(sheet: Sheet, index: int, header: object, report: Report) -> Field | None:
    found = field_of(header)  # type: ignore[arg-type]
    if found is not None or normalise(header) != AMBIGUOUS_UNIT:  # type: ignore[arg-type]
        return found
    values = [str(row.get(index)).strip() for row in sheet.rows if row.get(index) is not None]
    measures = sum(1 for v in values if MEASURE_UNITS.match(v))
    chosen: Field = "unit_of_measure" if values and measures * 2 >= len(values) else "team"
    report.guessed(
        sheet.column_place(index),
        f"`{header}` read as {'a unit of measure (%, EUR, days …)' if chosen == 'unit_of_measure' else 'the team'}",
    )
    return chosen


def _shape(layout: Layout) -> Shape:
    has = layout.columns.keys()
    # A KPI table may name the key result each KPI drives: targets by period make it a KPI table.
    if "kpi" in has and layout.periods:
        return "kpi_targets"
    if "key_result" in has:
        return "okrs"
    if "kpi" in has and "target" in has:
        return "kpi_targets"
    if "email" in has or ("name" in has and "team" in has):
        return "people"
    return "unknown"
