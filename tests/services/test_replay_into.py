"""`replay_into`: the replay's weeks run on a store the caller gives, with the same decisions as `replay`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onpace.modelfile import load_model_file
from onpace.services.checkins import read_checkins_csv
from onpace.services.ingest import read_actuals_csv
from onpace.services.replay import as_of_dates, replay, replay_into
from onpace.storage.tables import OrgRow, OutboxRow

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FIRST, LAST = dt.date(2026, 4, 12), dt.date(2026, 5, 31)


def numbered_in_order(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the events with each case id replaced by its order of appearance.

    A store's ids depend on what it held before (PostgreSQL sequences do not roll back), the
    replay's temporary store starts from one: only which events share a case must match.
    """
    order: dict[object, int] = {}
    return [
        {**e, "detail": {**e["detail"], "case": order.setdefault(e["detail"]["case"], len(order) + 1)}}
        for e in events
    ]


def test_the_weeks_run_on_the_given_store_and_decide_what_replay_prints(session: Session) -> None:
    model = load_model_file(EXAMPLES / "onpace.yaml")
    dates = as_of_dates(FIRST, LAST, "week")
    steps = list(
        replay_into(
            session,
            model,
            read_actuals_csv(EXAMPLES / "actuals.csv"),
            read_checkins_csv(EXAMPLES / "checkins.csv", model),
            dates,
            actor="loader",
            origin="examples",
        )
    )
    printed = list(
        replay(EXAMPLES / "onpace.yaml", EXAMPLES / "actuals.csv", EXAMPLES / "checkins.csv", FIRST, LAST)
    )
    assert [step.as_of for step in steps] == dates
    given = [event for step in steps for event in step.public_events()]
    assert numbered_in_order(given) == numbered_in_order(printed)
    assert any(e["event"] == "case_opened" for e in printed)
    (org_id,) = {step.org_id for step in steps}
    assert session.scalar(select(OrgRow.name).where(OrgRow.id == org_id)) == model.org
    outbox = session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.org_id == org_id))
    assert outbox == sum(len(step.events) for step in steps)
    assert all(step.ingested is not None and step.ingested.accepted > 0 for step in steps)


def test_each_step_runs_at_the_callers_clock_and_sees_nothing_dated_after_it(session: Session) -> None:
    model = load_model_file(EXAMPLES / "onpace.yaml")
    moments = {
        day: dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC)
        for day in (FIRST, FIRST + dt.timedelta(days=3))
    }
    steps = list(
        replay_into(
            session,
            model,
            read_actuals_csv(EXAMPLES / "actuals.csv"),
            [],
            list(moments),
            actor="loader",
            origin="examples",
            clock=moments.__getitem__,
        )
    )
    assert [step.now for step in steps] == list(moments.values())
    first, second = (step.ingested for step in steps)
    assert first is not None
    assert second is not None
    # Week one: 7 days of six daily KPIs and Sunday's NPS; then 3 days of six KPIs and the 15th's invoice.
    assert (first.total, second.total) == (43, 19)
