"""The live loop's previous verdicts: read from the latest evaluated date, the same as from all of history."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from onpace.services.pull import live_previous_statuses
from onpace.storage.tables import EvaluationRow, OrgRow

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DAY0 = dt.date(2026, 1, 5)
SUBJECTS = ["a", "b", "c", "d"]

verdicts = st.lists(
    st.tuples(
        st.sampled_from(SUBJECTS),
        st.integers(min_value=0, max_value=20),
        st.sampled_from(["green", "amber", "red", "no_data"]),
        st.booleans(),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=verdicts, as_of=st.integers(min_value=0, max_value=22))
def test_the_latest_date_fast_path_agrees_with_the_full_history(
    session: Session, rows: list[tuple[str, int, str, bool]], as_of: int
) -> None:
    org = session.get(OrgRow, 1)
    if org is None:
        session.add(OrgRow(id=1, name="Prevco", week_start="monday", created_at=NOW, updated_at=NOW))
        session.flush()
    session.execute(delete(EvaluationRow))
    if rows:
        session.execute(
            insert(EvaluationRow),
            [
                {
                    "org_id": 1,
                    "subject": subject,
                    "level": "kpi",
                    "as_of": DAY0 + dt.timedelta(days=day),
                    "status": status,
                    "at_risk": at_risk,
                    "stale": False,
                    "threatened_by": [],
                    "created_at": NOW,
                }
                for subject, day, status, at_risk in rows
            ],
        )
    day = DAY0 + dt.timedelta(days=as_of)
    full = live_previous_statuses(session, 1, day)
    fast = live_previous_statuses(session, 1, day, SUBJECTS)
    assert fast == full
