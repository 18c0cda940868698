"""The demo organisation replayed week by week: every week's pack names the breaches the loop raised that week.

The store is built by the replay loop (`replay_into`: ingest the week's actuals and check-ins,
evaluate, govern, commit) and after each week the organisation's pack is built and stored, as
the scheduled review does, so each pack compares with the week before.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

from sqlalchemy.orm import Session

from onpace.domain.calendar import end_of_day as end_of
from onpace.modelfile import load_model_file
from onpace.reports.markdown import render_markdown
from onpace.services.checkins import read_checkins_csv
from onpace.services.ingest import read_actuals_csv
from onpace.services.replay import as_of_dates, replay_into
from onpace.services.review import build_pack, save_pack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FIRST_WEEK = dt.date(2026, 4, 12)
LAST_WEEK = dt.date(2026, 6, 14)


def section_text(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_every_weeks_pack_names_the_breaches_the_replay_raised_that_week(session: Session) -> None:
    model = load_model_file(EXAMPLES / "onpace.yaml")
    weeks = as_of_dates(FIRST_WEEK, LAST_WEEK, "week")
    steps = replay_into(
        session,
        model,
        read_actuals_csv(EXAMPLES / "actuals.csv"),
        read_checkins_csv(EXAMPLES / "checkins.csv", model),
        weeks,
        actor="loader",
        origin="examples",
        loaded_at=end_of(FIRST_WEEK - dt.timedelta(days=7)),
    )

    went_red: dict[dt.date, set[str]] = defaultdict(set)
    breaches: dict[dt.date, list[str]] = {}
    texts: dict[dt.date, str] = {}
    previous: dt.date | None = None
    for step in steps:
        org_id, week = step.org_id, step.as_of
        for line in step.public_events():
            if (line["event"], line["kind"]) == ("status_changed", "red"):
                went_red[week].add(line["subject"])
        monday = end_of(week) + dt.timedelta(hours=6, seconds=1)
        pack = save_pack(session, org_id, build_pack(session, org_id, now=monday), now=monday)
        session.commit()
        assert pack.as_of == week
        assert pack.previous_as_of == previous
        breaches[week] = [i.subject for s in pack.sections if s.key == "new_breaches" for i in s.items]
        texts[week] = render_markdown(pack, base_url="https://onpace.example")
        previous = week

    # The story has breaches: substitution and the pilot's spend in late May, perfect orders in June.
    assert went_red[dt.date(2026, 5, 31)] == {"substitution_rate", "fulfilment_spend"}
    assert went_red[LAST_WEEK] >= {"perfect_order_rate", "KR2"}
    for each, subjects in breaches.items():
        assert set(subjects) == went_red.get(each, set()), each
        part = section_text(texts[each], "## 1. New breaches")
        for subject in went_red.get(each, ()):
            assert f"(`{subject}`)" in part, (each, subject)
        if not subjects:
            assert "Nothing this week." in part

    last = section_text(texts[LAST_WEEK], "## 1. New breaches")
    assert f"## 1. New breaches ({len(went_red[LAST_WEEK])})" in last
    assert re.search(r"\[case #\d+\]\(https://onpace\.example/cases/\d+\)", last)
    assert "### Perfect orders (complete, on time, undamaged) (%) (`perfect_order_rate`)" in last
    changes = section_text(texts[LAST_WEEK], "## What changed since 7 Jun 2026")
    # Perfect orders had an open case before it went red: the same case, now worse, not a new one.
    assert (
        "- **Changed** in New breaches: Perfect orders (complete, on time, undamaged) (%) (worse)" in changes
    )
    # A case that left the pack says why it left (resolved or closed, and when).
    gone = [line for line in changes.splitlines() if line.startswith("- **Gone**")]
    for line in gone:
        assert re.search(r"case (resolved|closed) on 2026-06-\d\d", line), line
