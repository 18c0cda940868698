"""Plan versions are read once per session, and read again as soon as the session writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from onpace.modelfile import parse_model_text
from onpace.services.model_store import save_model
from onpace.storage.db import make_engine, upgrade
from onpace.storage.repositories.model_repo import find_org, plan_version_rows
from onpace.storage.tables import PlanVersionRow

MODEL = """\
org: Planco
units: [{id: ops, name: Operations, head: lee}]
people: [{id: lee, name: Lee Park, email: lee@plan.example, unit: ops}]
cycles: [{id: 2026-Q1, start: 2026-01-05, end: 2026-03-29}]
kpis:
  - {id: throughput, title: Throughput, unit: ops, owner: lee, measure: level, grain: week, plan: {per_bucket: 100}}
"""
NOW = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)


def selects_of_plan_versions(session: Session) -> list[str]:
    seen: list[str] = []

    @event.listens_for(session.get_bind(), "before_cursor_execute")
    def _note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM plan_versions" in statement:
            seen.append(statement)

    return seen


def test_plan_versions_are_read_once_until_the_session_writes(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    upgrade(engine)
    with Session(engine) as session:
        save_model(session, parse_model_text(MODEL), by="test", now=NOW)
        session.commit()
        org_id = find_org(session, "Planco").id
        seen = selects_of_plan_versions(session)
        first = plan_version_rows(session, org_id)
        again = plan_version_rows(session, org_id)
        assert [r.id for r in first] == [r.id for r in again]
        assert len(seen) == 1

        # A bulk insert writes without a flush: the next read must see the new version.
        row = first[0]
        session.execute(
            insert(PlanVersionRow.__table__),
            [
                {
                    "org_id": org_id,
                    "subject": row.subject,
                    "subject_level": row.subject_level,
                    "version": row.version + 1,
                    "effective": dt.date(2026, 2, 1),
                    "plan": row.plan,
                    "reason": "plan changed in the model",
                    "requested_by": "test",
                    "approved_by": "test",
                    "created_at": NOW,
                    "cycle": None,
                }
            ],
        )
        assert len(plan_version_rows(session, org_id)) == len(first) + 1
        assert len(seen) == 2
    engine.dispose()
