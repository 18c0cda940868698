"""The running bucket is charted at the plan owed so far (docs/semantics.md, "The unfinished bucket")."""

from __future__ import annotations

import datetime as dt

from onpace.domain.running_bucket import owed_plan, owed_rows

D = dt.date
WEEKS = [
    {
        "bucket_start": D(2026, 11, 2),
        "bucket_end": D(2026, 11, 8),
        "plan_to_date": 100.0,
        "actual_to_date": 96.0,
    },
    {
        "bucket_start": D(2026, 11, 9),
        "bucket_end": D(2026, 11, 15),
        "plan_to_date": 200.0,
        "actual_to_date": 130.0,
    },
    {
        "bucket_start": D(2026, 11, 16),
        "bucket_end": D(2026, 11, 22),
        "plan_to_date": 300.0,
        "actual_to_date": None,
    },
]


def test_the_actual_to_date_is_drawn_on_the_as_of_day_against_what_is_owed() -> None:
    rows = owed_rows(WEEKS, D(2026, 11, 11), 143.0)
    assert [(r["bucket_end"], r["plan_to_date"], r["actual_to_date"]) for r in rows] == [
        (D(2026, 11, 8), 100.0, 96.0),
        (D(2026, 11, 11), 143.0, 130.0),
        (D(2026, 11, 15), 200.0, None),
        (D(2026, 11, 22), 300.0, None),
    ]


def test_a_bucket_ending_on_the_as_of_day_is_over_and_nothing_moves() -> None:
    assert owed_rows(WEEKS, D(2026, 11, 15), 200.0) == WEEKS
    assert owed_rows(WEEKS, D(2026, 11, 11), None) == WEEKS


def test_a_chart_by_bucket_holds_the_owed_plan_in_the_running_bucket() -> None:
    starts = [r["bucket_start"] for r in WEEKS]
    ends = [r["bucket_end"] for r in WEEKS]
    plan = [r["plan_to_date"] for r in WEEKS]
    assert owed_plan(starts, ends, plan, D(2026, 11, 11), 143.0) == (100.0, 143.0, 300.0)
    assert owed_plan(starts, ends, plan, D(2026, 11, 23), 300.0) == (100.0, 200.0, 300.0)
