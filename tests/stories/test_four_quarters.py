"""A year of four quarters replayed through the loop, with a close after each quarter.

``orders`` lives through the whole year: 100 a week against 100 in Q1; in Q2 it halves to 50 for
six weeks (red by mid-May, against Q2's plan) and then recovers; in Q3 it runs at 95 against 110
(red, and the Q3 KR it feeds ends red and is carried into Q4); its Q4 plan is Q3's, carried over
at the close of Q3. ``returns_rate`` has no Q4 plan and nobody carries one: unplanned in Q4.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.domain.calendar import end_of_day
from onpace.domain.model import Model
from onpace.errors import UserError
from onpace.modelfile import load_model_file
from onpace.services.cycle_close import CarryOver, close_cycle
from onpace.services.cycle_state import cycle_lines, write_note
from onpace.services.cycle_view import cycle_view
from onpace.services.evaluate_service import evaluate_store
from onpace.services.replay import as_of_dates, replay, replay_into
from onpace.storage.tables import CaseEventRow, CaseRow, CycleGradeRow, EvaluationRow

pytestmark = pytest.mark.slow

STORY = Path(__file__).with_name("four_quarters.yaml")
FIRST, LAST = dt.date(2026, 1, 4), dt.date(2026, 12, 27)
MID_MAY = dt.date(2026, 5, 17)


def weekly_orders(week_start: dt.date) -> float:
    """Return the orders booked in the week starting ``week_start``."""
    if week_start < dt.date(2026, 3, 30):
        return 100.0
    if week_start < dt.date(2026, 5, 11):
        return 50.0  # the first six weeks of Q2
    if week_start < dt.date(2026, 6, 29):
        return 160.0
    if week_start < dt.date(2026, 9, 28):
        return 95.0
    return 120.0


def actuals() -> pl.DataFrame:
    """Return a point per KPI per week for the year, booked on the week's Wednesday."""
    rows: list[tuple[str, str, float]] = []
    week = dt.date(2025, 12, 29)
    while week <= LAST:
        day = (week + dt.timedelta(days=2)).isoformat()
        rows.append(("orders", day, weekly_orders(week)))
        rows.append(("nps", day, 41.0))
        rows.append(("returns_rate", day, 1.5))
        week += dt.timedelta(days=7)
    return pl.DataFrame(rows, schema={"metric": pl.Utf8, "date": pl.Utf8, "value": pl.Utf8}, orient="row")


def verdicts(session: Session, org_id: int, as_of: dt.date) -> dict[str, str]:
    rows = session.scalars(
        select(EvaluationRow).where(EvaluationRow.org_id == org_id, EvaluationRow.as_of == as_of)
    )
    return {r.subject: "at_risk" if r.at_risk and r.status in ("green", "amber") else r.status for r in rows}


def open_cases(session: Session, org_id: int) -> dict[tuple[str, str], CaseRow]:
    rows = session.scalars(select(CaseRow).where(CaseRow.org_id == org_id, CaseRow.status == "open"))
    return {(r.subject, r.family): r for r in rows}


def just_after(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0, 1), tzinfo=dt.UTC)


class Year:
    """The replay, stepped week by week, with the quarter closes done between steps."""

    def __init__(self, session: Session, model: Model) -> None:
        self.session = session
        self.model = model
        self.steps: Iterator[object] = replay_into(
            session, model, actuals(), [], as_of_dates(FIRST, LAST, "week"), actor="story", origin="story"
        )
        self.org_id = 0
        self.seen: dict[dt.date, dict[str, str]] = {}

    def run_to(self, day: dt.date) -> None:
        for step in self.steps:
            self.org_id = step.org_id  # type: ignore[attr-defined]
            as_of = step.as_of  # type: ignore[attr-defined]
            self.seen[as_of] = verdicts(self.session, self.org_id, as_of)
            if as_of >= day:
                return

    def close(self, cycle: str, carry: CarryOver, next_id: str | None = None) -> None:
        end = self.model.cycle_of(cycle).end  # type: ignore[union-attr]
        close_cycle(
            self.session,
            self.org_id,
            self.model,
            cycle,
            carry=carry,
            by="ada",
            now=just_after(end),
            next_id=next_id,
        )
        self.session.commit()

    def grades(self, cycle: str) -> dict[str, str]:
        rows = self.session.scalars(
            select(CycleGradeRow).where(CycleGradeRow.org_id == self.org_id, CycleGradeRow.cycle == cycle)
        )
        return {r.subject: r.status for r in rows}


def test_four_quarters_replay_with_the_right_verdicts_and_a_close_after_each(session: Session) -> None:
    model = load_model_file(STORY)
    year = Year(session, model)

    # Q1: on plan all quarter.
    year.run_to(dt.date(2026, 3, 29))
    for day in (dt.date(2026, 2, 1), dt.date(2026, 3, 29)):
        assert {
            s: year.seen[day][s] for s in ("orders", "KR-Q1", "O-Q1", "nps", "returns_rate")
        } == dict.fromkeys(("orders", "KR-Q1", "O-Q1", "nps", "returns_rate"), "green")
    assert "KR-Q2" not in year.seen[dt.date(2026, 3, 29)]  # Q2's objectives wait for Q2
    write_note(
        session,
        year.org_id,
        model,
        "KR-Q1",
        text="Steady quarter; the new oven paid off",
        by="ben",
        now=just_after(dt.date(2026, 3, 29)),
    )
    year.close("2026-Q1", CarryOver())
    assert year.grades("2026-Q1") == {"O-Q1": "green", "KR-Q1": "green"}

    # Q2: orders halve for six weeks: red against Q2's plan by mid-May, green again by the end.
    year.run_to(dt.date(2026, 6, 28))
    assert year.seen[dt.date(2026, 4, 5)]["orders"] == "red"
    assert year.seen[MID_MAY]["orders"] == "red"
    assert year.seen[MID_MAY]["KR-Q2"] == "red"
    assert "KR-Q1" not in year.seen[MID_MAY]  # Q1 is closed: its grades stand
    assert year.seen[dt.date(2026, 6, 7)]["orders"] == "amber"
    assert year.seen[dt.date(2026, 6, 28)]["orders"] == "green"
    assert ("orders", "variance") not in open_cases(session, year.org_id)
    year.close("2026-Q2", CarryOver())
    assert year.grades("2026-Q2") == {"O-Q2": "green", "KR-Q2": "green"}

    # Q3: 95 a week against 110: red; the KR it feeds ends red and is carried into Q4 with its case.
    year.run_to(dt.date(2026, 9, 27))
    assert year.seen[dt.date(2026, 7, 5)]["orders"] == "red"
    assert year.seen[dt.date(2026, 9, 27)]["KR-Q3"] == "red"
    with pytest.raises(UserError, match="needs a decision") as refused:
        year.close("2026-Q3", CarryOver())
    assert "KR-Q3" in str(refused.value)
    assert "orders, returns_rate" in str(refused.value)
    session.rollback()
    kr_case = open_cases(session, year.org_id)[("KR-Q3", "variance")]
    year.close("2026-Q3", CarryOver(cases="all", krs=("KR-Q3",), plans=("orders",)))
    assert year.grades("2026-Q3") == {"O-Q3": "red", "KR-Q3": "red"}

    # Q4: orders judged against the plan carried from Q3 (110) at 120 a week: green; the red case
    # it carried from Q3 resolves; returns_rate has no Q4 plan: unplanned, with a hygiene case.
    year.run_to(LAST)
    assert year.seen[dt.date(2026, 10, 4)]["orders"] == "green"
    assert year.seen[dt.date(2026, 12, 27)]["KR-Q4"] == "green"
    assert year.seen[dt.date(2026, 10, 4)]["returns_rate"] == "unplanned"
    assert year.seen[dt.date(2026, 10, 4)]["nps"] == "green"
    still_open = open_cases(session, year.org_id)
    assert ("orders", "variance") not in still_open
    # One KPI, one case per cycle it went off track in: Q2's resolved, Q3's opened anew in Q3.
    orders_cases = session.scalars(
        select(CaseRow)
        .where(CaseRow.org_id == year.org_id, CaseRow.subject == "orders", CaseRow.family == "variance")
        .order_by(CaseRow.opened_at)
    ).all()
    assert [(c.cycle, c.opened_at.date().isoformat()[:7], c.status) for c in orders_cases] == [
        ("2026-Q2", "2026-04", "resolved"),
        ("2026-Q3", "2026-07", "resolved"),
    ]
    assert ("returns_rate", "hygiene") in still_open
    carried = still_open[("KR-Q3", "variance")]
    assert carried.id == kr_case.id
    assert carried.cycle == "2026-Q4"
    said = session.scalars(select(CaseEventRow.detail).where(CaseEventRow.case_id == carried.id)).all()
    assert any("carried into 2026-Q4" in str(detail) for detail in said)
    year.close("2026-Q4", CarryOver(cases="none", drop_unfinished=True, plans="none"), next_id="2027-Q1")
    assert year.grades("2026-Q4") == {"O-Q4": "green", "KR-Q4": "green"}
    assert ("KR-Q3", "variance") in open_cases(session, year.org_id)  # a Q3 case: Q4's close keeps it

    states = {
        line.id: line.state for line in cycle_lines(session, year.org_id, model, LAST + dt.timedelta(days=2))
    }
    assert states == dict.fromkeys(("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"), "closed")
    view = cycle_view(session, year.org_id, model, "2026-Q1", LAST)
    assert [(r.subject, r.status, r.note) for r in view.rows] == [
        ("O-Q1", "green", None),
        ("KR-Q1", "green", "Steady quarter; the new oven paid off"),
    ]


def test_a_closed_quarter_keeps_its_stored_verdicts_when_a_date_in_it_is_evaluated_again(
    session: Session,
) -> None:
    model = load_model_file(STORY)
    year = Year(session, model)
    year.run_to(dt.date(2026, 3, 29))
    year.close("2026-Q1", CarryOver())
    before = verdicts(session, year.org_id, dt.date(2026, 3, 1))
    evaluate_store(session, year.org_id, model, dt.date(2026, 3, 1), now=end_of_day(dt.date(2026, 5, 1)))
    assert verdicts(session, year.org_id, dt.date(2026, 3, 1)) == before
    with pytest.raises(UserError, match="already closed"):
        year.close("2026-Q1", CarryOver())


def test_the_public_replay_of_the_year_raises_the_q2_shortfall_on_orders_in_april(tmp_path: Path) -> None:
    csv = tmp_path / "actuals.csv"
    actuals().write_csv(csv)
    events = list(replay(STORY, csv, None, dt.date(2026, 3, 29), MID_MAY, "week"))
    opened = [e for e in events if e["event"] == "case_opened" and e["subject"] == "orders"]
    assert [(e["as_of"], e["kind"]) for e in opened][:1] == [("2026-04-05", "red")]
