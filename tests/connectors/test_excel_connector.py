"""Excel workbooks, written with openpyxl the way people fill them in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

from onpace.connectors.excel import fetch
from onpace.domain.model import Source


def _workbook(path: Path, rows: list[list[object]], sheet: str = "Actuals") -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    book.save(path)


def test_it_reads_a_long_sheet_with_date_cells_numbers_and_bad_rows(tmp_path: Path) -> None:
    _workbook(
        tmp_path / "march.xlsx",
        [
            ["Metric", "Date", "Value"],
            ["orders", dt.datetime(2026, 3, 2), 120],
            ["orders", "2026-03-03", 118.5],
            [None, None, None],
            ["orders", "next week", 5],
            ["on_time", dt.date(2026, 3, 2), "n/a"],
        ],
    )
    result = fetch(Source("finance", "excel", options={"path": str(tmp_path)}), None, env={})
    assert result.records.rows() == [
        ("orders", dt.date(2026, 3, 2), 120.0, "finance", 2),
        ("orders", dt.date(2026, 3, 3), 118.5, "finance", 3),
    ]
    assert [(r.locator, r.raw, r.reason) for r in result.rejected] == [
        ("march.xlsx[Actuals]:5", "orders,next week,5", "unparseable date 'next week'"),
        ("march.xlsx[Actuals]:6", "on_time,2026-03-02,n/a", "unparseable number 'n/a'"),
    ]


def test_it_reads_a_wide_sheet_by_name_below_a_title_row(tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Cover"
    data = book.create_sheet("Weekly")
    data.append(["Weekly KPIs (finance)"])
    data.append(["date", "spend", "fte"])
    data.append([dt.date(2026, 3, 2), 24000, 4.5])
    data.append([dt.date(2026, 3, 9), 26100.25, None])
    book.save(tmp_path / "kpis.xlsx")
    source = Source(
        "fin", "excel", options={"path": str(tmp_path / "kpis.xlsx"), "sheet": "Weekly", "header_row": 2}
    )
    result = fetch(source, None, env={})
    assert result.records.select("metric", "date", "value", "line").rows() == [
        ("spend", dt.date(2026, 3, 2), 24000.0, 3),
        ("fte", dt.date(2026, 3, 2), 4.5, 3),
        ("spend", dt.date(2026, 3, 9), 26100.25, 4),
    ]


def test_a_missing_sheet_or_a_file_that_is_no_workbook_is_reported_not_raised(tmp_path: Path) -> None:
    _workbook(tmp_path / "a.xlsx", [["metric", "date", "value"]])
    (tmp_path / "b.xlsx").write_text("this is not a zip")
    result = fetch(Source("fin", "excel", options={"path": str(tmp_path), "sheet": "Data"}), None, env={})
    assert [(r.locator, r.reason) for r in result.rejected] == [
        ("a.xlsx", "no sheet 'Data'; sheets: Actuals"),
        ("b.xlsx", "not a readable .xlsx workbook (BadZipFile)"),
    ]


def test_an_unchanged_workbook_is_not_read_twice(tmp_path: Path) -> None:
    _workbook(tmp_path / "a.xlsx", [["metric", "date", "value"], ["m", "2026-03-02", 1]])
    source = Source("fin", "excel", options={"path": str(tmp_path)})
    first = fetch(source, None, env={})
    assert first.records.height == 1
    assert fetch(source, None, env={}, state=first.state).records.height == 0
