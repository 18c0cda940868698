"""A replay in an organisation's time zone: each day ends at local midnight, and so do deadlines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from test_govern_story import START, write_story

from onpace.services.replay import replay


def test_days_and_deadlines_end_at_local_midnight_in_the_organisations_time_zone(tmp_path: Path) -> None:
    model, actuals, checkins = write_story(tmp_path)
    text = model.read_text(encoding="utf-8")
    model.write_text(
        text.replace(
            "calendar: {week_start: monday}", "calendar: {week_start: monday, timezone: Europe/Oslo}"
        ),
        encoding="utf-8",
    )
    end = START + dt.timedelta(weeks=6)
    events = list(replay(model, actuals, checkins, START + dt.timedelta(days=6), end, "week"))
    opened = [e for e in events if e["event"] == "case_opened"]
    assert opened
    # 23:59:59 in Oslo in winter is 22:59:59 UTC; deadlines are whole days after it.
    assert {e["detail"]["at"][11:] for e in opened} == {"22:59:59+00:00"}
    assert {e["detail"]["explain_due"][11:] for e in opened} == {"22:59:59+00:00"}
