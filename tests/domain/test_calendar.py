"""Buckets in the org calendar, the dense bucket layout, and which cycle a KPI belongs to."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from test_evaluate_world import CYCLE, kpi, kr, model, objective

from onpace.domain.calendar import (
    DAY,
    MONTH,
    WEEK,
    bucket_end,
    bucket_rows,
    bucket_start,
    buckets_between,
    day_number,
    from_day_number,
    kpi_cycles,
    layout,
)
from onpace.domain.model import Cycle, Feed


def test_a_week_starts_on_the_calendars_week_start() -> None:
    wednesday = dt.date(2026, 1, 7)
    assert bucket_start(wednesday, "week", 0) == dt.date(2026, 1, 5)
    assert bucket_start(wednesday, "week", 6) == dt.date(2026, 1, 4)
    assert bucket_end(wednesday, "week", 6) == dt.date(2026, 1, 10)


def test_a_month_bucket_runs_to_the_months_last_day() -> None:
    assert bucket_start(dt.date(2024, 2, 17), "month") == dt.date(2024, 2, 1)
    assert bucket_end(dt.date(2024, 2, 17), "month") == dt.date(2024, 2, 29)
    assert bucket_end(dt.date(2026, 12, 3), "month") == dt.date(2026, 12, 31)


def test_buckets_between_lists_every_overlapping_bucket() -> None:
    assert buckets_between(dt.date(2026, 1, 7), dt.date(2026, 1, 20), "week") == [
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 12),
        dt.date(2026, 1, 19),
    ]


def test_day_numbers_round_trip() -> None:
    day = dt.date(2026, 3, 29)
    assert from_day_number(day_number(day)) == day


@pytest.mark.parametrize(("grain", "week_start"), [(DAY, 0), (WEEK, 0), (WEEK, 6), (MONTH, 0)])
def test_the_layout_covers_the_cycle_and_maps_each_day_to_its_bucket(grain: int, week_start: int) -> None:
    start, end = dt.date(2026, 1, 7), dt.date(2026, 4, 2)
    names = {DAY: "day", WEEK: "week", MONTH: "month"}
    lay = layout(np.array([grain]), np.array([day_number(start)]), np.array([day_number(end)]), week_start)
    expected = buckets_between(start, end, names[grain], week_start)  # type: ignore[arg-type]
    assert [from_day_number(d) for d in lay.start] == expected
    days = np.arange(day_number(start), day_number(end) + 1)
    rows = bucket_rows(np.zeros(days.size, dtype=np.int64), days, lay)
    for day, row in zip(days.tolist(), rows.tolist(), strict=True):
        assert lay.start[row] <= day <= lay.end[row]


def test_a_kpi_takes_its_own_cycle_first_then_its_krs_then_the_first() -> None:
    q2 = Cycle("Q2", dt.date(2026, 3, 30), dt.date(2026, 6, 28))
    the_model = model(
        kpi("own", cycle="Q2"),
        kpi("measured", cycle=None),
        kpi("feeding", cycle=None, feeds=(Feed("KR2", 0.5),)),
        kpi("loose", cycle=None),
        objectives=[
            objective("O1", kr("KR1", kpi="measured")),
        ],
        cycles=(CYCLE, q2),
    )
    from dataclasses import replace

    q2_objective = replace(objective("O2", kr("KR2", objective="O2")), cycle="Q2")
    the_model = replace(the_model, objectives=(*the_model.objectives, q2_objective))
    cycles = kpi_cycles(the_model)
    assert cycles["own"] == q2
    assert cycles["measured"] == CYCLE
    assert cycles["feeding"] == q2
    assert cycles["loose"] == CYCLE


def test_a_day_ends_at_local_midnight_in_the_organisations_time_zone() -> None:
    from onpace.domain.calendar import end_of_day, local_day

    winter = end_of_day(dt.date(2026, 1, 18), "Europe/Oslo")
    summer = end_of_day(dt.date(2026, 7, 1), "Europe/Oslo")
    assert winter == dt.datetime(2026, 1, 18, 22, 59, 59, tzinfo=dt.UTC)
    assert summer == dt.datetime(2026, 7, 1, 21, 59, 59, tzinfo=dt.UTC)
    assert end_of_day(dt.date(2026, 1, 18)) == dt.datetime(2026, 1, 18, 23, 59, 59, tzinfo=dt.UTC)
    late_evening = dt.datetime(2026, 1, 18, 23, 30, tzinfo=dt.UTC)
    assert local_day(late_evening, "Europe/Oslo") == dt.date(2026, 1, 19)
    assert local_day(late_evening) == dt.date(2026, 1, 18)


def test_an_unknown_time_zone_is_refused() -> None:
    from onpace.domain.calendar import zone

    with pytest.raises(ValueError, match="not a time zone"):
        zone("Mars/Olympus")
