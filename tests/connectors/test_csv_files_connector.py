"""CSV files and drop folders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from onpace.connectors.base import SourceError
from onpace.connectors.csv_files import fetch
from onpace.domain.model import Source

LONG = """metric,date,value,source,comment
orders,2026-01-05,120,wms,first
orders,2026-01-06,abc,wms,typo
on_time,2026-01-05T18:00:00Z,94.5,,late entry

on_time,2026-01-06,nan,wms,
"""

WIDE = """Date,orders,on_time
2026-01-05,120,94.5
2026-01-06,,95.1
2026-01-07,131,x
"""


def _folder_source(folder: Path, **options: object) -> Source:
    return Source("drop", "csv", options={"path": str(folder), **options})


def test_it_reads_a_long_file_keeping_good_rows_and_rejecting_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "actuals.csv"
    path.write_text(LONG)
    result = fetch(Source("wms", "csv", options={"path": "env:ACTUALS"}), None, env={"ACTUALS": str(path)})
    assert result.records.rows() == [
        ("orders", dt.date(2026, 1, 5), 120.0, "wms", 2),
        ("on_time", dt.date(2026, 1, 5), 94.5, "wms", 4),
    ]
    assert [(r.locator, r.raw, r.reason) for r in result.rejected] == [
        ("actuals.csv:3", "orders,2026-01-06,abc,wms,typo", "unparseable number 'abc'"),
        ("actuals.csv:6", "on_time,2026-01-06,nan,wms,", "value is not a finite number ('nan')"),
    ]


def test_it_reads_a_wide_file_skipping_empty_cells(tmp_path: Path) -> None:
    (tmp_path / "wide.csv").write_text(WIDE)
    result = fetch(Source("sheet", "csv", options={"path": str(tmp_path / "wide.csv")}), None, env={})
    assert result.records.select("metric", "date", "value", "line").rows() == [
        ("orders", dt.date(2026, 1, 5), 120.0, 2),
        ("on_time", dt.date(2026, 1, 5), 94.5, 2),
        ("on_time", dt.date(2026, 1, 6), 95.1, 3),
        ("orders", dt.date(2026, 1, 7), 131.0, 4),
    ]
    [bad] = result.rejected
    assert (bad.line, bad.raw, bad.reason) == (4, "2026-01-07,131,x", "unparseable number 'x'")


def test_a_wide_file_can_name_its_date_column_and_metric_columns(tmp_path: Path) -> None:
    (tmp_path / "w.csv").write_text("day;orders;ignored\n2026-01-05;7;zzz\n")
    source = Source(
        "s",
        "csv",
        options={
            "path": str(tmp_path / "w.csv"),
            "delimiter": ";",
            "date_column": "day",
            "metrics": ["orders"],
        },
    )
    result = fetch(source, None, env={})
    assert result.records.select("metric", "value").rows() == [("orders", 7.0)]
    assert result.rejected == ()


def test_a_file_with_neither_layout_is_one_rejected_row_naming_the_columns(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("kpi,when,amount\norders,2026-01-05,1\n")
    result = fetch(
        Source("s", "csv", options={"path": str(tmp_path / "bad.csv"), "format": "long"}), None, env={}
    )
    [bad] = result.rejected
    assert bad.locator == "bad.csv:1"
    assert bad.reason == "missing column(s) metric, date, value; found kpi, when, amount"


def test_a_drop_folder_processes_each_file_once_and_a_changed_file_again(tmp_path: Path) -> None:
    (tmp_path / "week1.csv").write_text("metric,date,value\norders,2026-01-05,100\n")
    (tmp_path / "week2.csv").write_text("metric,date,value\norders,2026-01-12,110\n")
    (tmp_path / "week3.csv.part").write_text("metric,date,value\norders,2026-01-19,1\n")
    (tmp_path / "notes.txt").write_text("not data")
    source = _folder_source(tmp_path)

    first = fetch(source, None, env={})
    assert first.records["value"].to_list() == [100.0, 110.0]
    assert sorted(Path(k).name for k in first.state) == ["week1.csv", "week2.csv"]

    again = fetch(source, None, env={}, state=first.state)
    assert again.records.height == 0
    assert again.state == first.state

    (tmp_path / "week2.csv").write_text("metric,date,value\norders,2026-01-12,111\n")
    (tmp_path / "week3.csv.part").rename(tmp_path / "week3.csv")
    later = fetch(source, None, env={}, state=again.state)
    assert later.records["value"].to_list() == [111.0, 1.0]
    assert later.state[str(tmp_path / "week1.csv")] == first.state[str(tmp_path / "week1.csv")]


def test_the_state_forgets_files_that_are_gone(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("metric,date,value\nm,2026-01-05,1\n")
    source = _folder_source(tmp_path)
    state = fetch(source, None, env={}).state
    (tmp_path / "a.csv").unlink()
    assert fetch(source, None, env={}, state=state).state == {}


def test_a_broken_file_in_the_folder_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"metric,date,value\n\xff\xfe,2026-01-05,1\n")
    (tmp_path / "b.csv").write_text("metric,date,value\nm,2026-01-05,1\n")
    (tmp_path / "c.csv").write_text("")
    result = fetch(_folder_source(tmp_path), None, env={})
    assert result.records.height == 1
    assert [(r.locator, r.reason) for r in result.rejected] == [
        ("a.csv:1", "cannot parse CSV: file is not UTF-8 text"),
        ("c.csv:1", "empty file"),
    ]
    assert len(result.state) == 3


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes("\ufeffmetric,date,value\nm,2026-01-05,1\n".encode())
    assert fetch(_folder_source(tmp_path), None, env={}).records.height == 1


def test_a_missing_path_is_a_transient_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(_folder_source(tmp_path / "unmounted"), None, env={})
    assert not caught.value.permanent
    assert "does not exist" in str(caught.value)
