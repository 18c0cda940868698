"""Consecutive at-risk evaluations read back from the store, one per evaluated day, latest first."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from onpace.domain.results import SubjectResult
from onpace.modelfile import parse_model_text
from onpace.services.evaluate_service import store_evaluation
from onpace.services.model_store import save_model
from onpace.storage.repositories import evaluations_repo

NOW = dt.datetime(2026, 2, 1, 6, 0, tzinfo=dt.UTC)
MODEL = """\
org: Streakco
units:
  - {id: ops, name: Operations}
people:
  - {id: lee, name: Lee Park, unit: ops}
"""
DAYS = [dt.date(2026, 1, 5) + dt.timedelta(weeks=i) for i in range(5)]


def verdict(subject: str, status: str, at_risk: bool, as_of: dt.date) -> SubjectResult:
    return SubjectResult(subject=subject, level="kpi", as_of=as_of, status=status, at_risk=at_risk)


def test_the_streak_counts_the_latest_at_risk_days_in_a_row_before_the_date(session: Session) -> None:
    org_id = save_model(session, parse_model_text(MODEL, "streakco.yaml"), by="test", now=NOW).org_id
    history = {
        "steady": [("green", True), ("amber", True), ("green", True), ("green", True)],
        "broken": [("green", True), ("green", False), ("green", True), ("amber", True)],
        "red": [("green", True), ("red", True), ("red", True), ("red", True)],
    }
    for i, day in enumerate(DAYS[:4]):
        found = {s: verdict(s, *marks[i], day) for s, marks in history.items()}
        store_evaluation(session, org_id, day, found, now=NOW)
    streaks = evaluations_repo.risk_streaks(session, org_id, DAYS[4], depth=3)
    assert streaks == {"steady": 3, "broken": 2}
    assert evaluations_repo.risk_streaks(session, org_id, DAYS[3], depth=5) == {"steady": 3, "broken": 1}
    assert evaluations_repo.risk_streaks(session, org_id, DAYS[4], depth=0) == {}
