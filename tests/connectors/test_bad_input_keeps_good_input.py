"""One bad line or one bad file is quarantined on its own; the good input beside it is kept."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from openpyxl import Workbook

from onpace.connectors.csv_files import fetch as fetch_csv
from onpace.connectors.csv_files.reader import read_csv_bytes
from onpace.connectors.excel import fetch as fetch_excel
from onpace.domain.model import Source

STRAY_QUOTE = b'metric,date,value\norders,2026-04-07,120\norders,2026-04-08,"12\norders,2026-04-09,130\n'


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_part_replaced(content: bytes, part: str, data: bytes) -> bytes:
    """Return a copy of a workbook (a zip) with one of its XML parts replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, data if item.filename == part else src.read(item.filename))
    return out.getvalue()


def test_a_stray_quote_quarantines_its_line_and_keeps_the_good_rows() -> None:
    result = read_csv_bytes(STRAY_QUOTE, "drop.csv", source=Source("erp", "csv"))
    assert result.records["value"].to_list() == [120.0, 130.0]
    [refused] = result.rejected
    assert (refused.line, refused.locator, refused.raw) == (3, "drop.csv:3", 'orders,2026-04-08,"12')
    assert "not valid CSV" in refused.reason


def test_a_misplaced_quote_inside_a_cell_quarantines_only_that_line() -> None:
    content = b'metric,date,value\norders,2026-04-07,"1"20\norders,2026-04-09,130\n'
    result = read_csv_bytes(content, "drop.csv", source=Source("erp", "csv"))
    assert result.records["value"].to_list() == [130.0]
    assert [r.line for r in result.rejected] == [2]


def test_a_drop_folder_with_a_stray_quote_in_one_file_reads_every_other_line(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(STRAY_QUOTE)
    (tmp_path / "b.csv").write_bytes(b"metric,date,value\norders,2026-04-10,7\n")
    result = fetch_csv(Source("erp", "csv", options={"path": str(tmp_path)}), None, env={})
    assert sorted(result.records["value"].to_list()) == [7.0, 120.0, 130.0]
    assert [r.locator for r in result.rejected] == ["a.csv:3"]


def test_one_malformed_workbook_is_quarantined_and_the_rest_of_the_folder_ingested(tmp_path: Path) -> None:
    good = workbook([["metric", "date", "value"], ["orders", "2026-04-07", 5]])
    (tmp_path / "a_good.xlsx").write_bytes(good)
    (tmp_path / "b_broken_sheet.xlsx").write_bytes(
        with_part_replaced(good, "xl/worksheets/sheet1.xml", b"<worksheet")
    )
    (tmp_path / "c_broken_book.xlsx").write_bytes(with_part_replaced(good, "xl/workbook.xml", b"<notxml"))
    (tmp_path / "d_good.xlsx").write_bytes(
        workbook([["metric", "date", "value"], ["orders", "2026-04-08", 6]])
    )
    result = fetch_excel(Source("erp", "excel", options={"path": str(tmp_path)}), None, env={})
    assert result.records["value"].to_list() == [5.0, 6.0]
    assert [r.locator for r in result.rejected] == ["b_broken_sheet.xlsx", "c_broken_book.xlsx"]
    assert all(r.reason.startswith("cannot read this file (") for r in result.rejected)
    # The broken files are remembered: not read again until they change.
    assert len(result.state) == 4


def test_a_huge_value_is_quoted_clipped_in_the_reason() -> None:
    huge = "x" + "9" * 10_000_000
    content = f"metric,date,value\norders,2026-04-07,{huge}\norders,2026-04-08,5\n".encode()
    result = read_csv_bytes(content, "drop.csv", source=Source("erp", "csv"))
    [refused] = result.rejected
    assert len(refused.reason) < 200
    assert refused.reason.endswith("… (10000001 characters)'")
