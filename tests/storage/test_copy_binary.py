"""PostgreSQL's binary COPY format, built column by column from a polars frame."""

from __future__ import annotations

import datetime as dt

import polars as pl

from onpace.storage.copy_binary import HEADER, MAX_LAYOUTS, TRAILER, encode, kind_of


def payload(frame: pl.DataFrame, types: dict[str, str]) -> bytes:
    blocks = encode(frame, types)
    assert blocks is not None
    return b"".join(block for block, _ in blocks)


def test_each_row_is_its_field_count_then_length_prefixed_values_in_network_order() -> None:
    frame = pl.DataFrame(
        {"n": [1, 2], "name": ["ab", None], "day": [dt.date(2000, 1, 2), dt.date(1999, 12, 31)]},
        schema={"n": pl.Int64, "name": pl.String, "day": pl.Date},
    )
    body = payload(frame, {"n": "INTEGER", "name": "VARCHAR", "day": "DATE"})
    assert body.startswith(HEADER)
    assert body.endswith(TRAILER)
    rows = body[len(HEADER) : -len(TRAILER)]
    first = (
        b"\x00\x03"
        + b"\x00\x00\x00\x04\x00\x00\x00\x01"
        + b"\x00\x00\x00\x02ab"
        + b"\x00\x00\x00\x04\x00\x00\x00\x01"
    )
    second = (
        b"\x00\x03"
        + b"\x00\x00\x00\x04\x00\x00\x00\x02"
        + b"\xff\xff\xff\xff"
        + b"\x00\x00\x00\x04\xff\xff\xff\xff"
    )
    # Rows come grouped by layout (here: with and without a name), each group in frame order.
    assert sorted([rows[: len(first)], rows[len(first) :]]) == sorted([first, second])
    assert len(rows) == len(first) + len(second)


def test_timestamps_are_microseconds_since_2000_in_utc_and_text_is_utf8() -> None:
    at = dt.datetime(2000, 1, 1, 1, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    frame = pl.DataFrame(
        {"at": [at], "word": ["é"]}, schema={"at": pl.Datetime("us", "Europe/Paris"), "word": pl.String}
    )
    body = payload(frame, {"at": "TIMESTAMP WITH TIME ZONE", "word": "TEXT"})
    row = body[len(HEADER) : -len(TRAILER)]
    assert row == b"\x00\x02" + b"\x00\x00\x00\x08" + (5).to_bytes(8, "big") + b"\x00\x00\x00\x02\xc3\xa9"


def test_types_it_does_not_know_or_values_that_do_not_fit_are_left_to_text_copy() -> None:
    text = pl.DataFrame({"doc": ['{"a": 1}']})
    assert encode(text, {"doc": "JSONB"}) is None
    naive = pl.DataFrame({"at": [dt.datetime(2026, 1, 1)]})
    assert encode(naive, {"at": "TIMESTAMP WITH TIME ZONE"}) is None
    words_for_numbers = pl.DataFrame({"n": ["1"]})
    assert encode(words_for_numbers, {"n": "INTEGER"}) is None
    assert kind_of("FLOAT(24)") is None
    assert kind_of("VARCHAR(16)") == "VARCHAR"


def test_free_text_of_every_length_goes_as_text_rather_than_in_hundreds_of_groups() -> None:
    rows = MAX_LAYOUTS * 4
    frame = pl.DataFrame({"reason": ["x" * i for i in range(rows)]})
    assert encode(frame, {"reason": "TEXT"}) is None
    few = pl.DataFrame({"reason": ["x" * (i % 3) for i in range(rows)]})
    assert encode(few, {"reason": "TEXT"}) is not None


def test_blocks_carry_exactly_the_rows_asked_for_across_layouts() -> None:
    frame = pl.DataFrame({"name": ["a" * (i % 2 + 1) for i in range(10)]})
    blocks = encode(frame, {"name": "TEXT"}, block_rows=4)
    assert blocks is not None
    assert [rows for _, rows in blocks] == [0, 4, 4, 2, 0]


def test_columns_with_one_value_throughout_are_written_on_every_row_beside_the_varying_ones() -> None:
    frame = pl.DataFrame(
        {"org": [7, 7, 7], "n": [1, 2, 3], "flag": [True, True, True], "tag": ["x", "x", "x"]},
        schema={"org": pl.Int64, "n": pl.Int64, "flag": pl.Boolean, "tag": pl.String},
    )
    body = payload(frame, {"org": "BIGINT", "n": "INTEGER", "flag": "BOOLEAN", "tag": "VARCHAR"})
    rows = body[len(HEADER) : -len(TRAILER)]
    expected = b"".join(
        b"\x00\x04"
        + b"\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x07"
        + b"\x00\x00\x00\x04\x00\x00\x00"
        + bytes([n])
        + b"\x00\x00\x00\x01\x01"
        + b"\x00\x00\x00\x01x"
        for n in (1, 2, 3)
    )
    assert rows == expected
