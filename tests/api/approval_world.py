"""A small organisation whose manual entries wait for approval, with the people who decide them.

Olga heads Operations (the KPI's unit); Mia, an editor, enters points by hand; Sam heads another
unit; Vic only views. The store holds one value in force (410) and Mia's entry of 500 waiting.
Used by the API and page tests of approvals, on a store of their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from web_world import PASSWORD, SECRET_KEY, new_database

from onpace.app import create_app
from onpace.config import Settings
from onpace.modelfile import parse_model_text
from onpace.services.ingest import ingest_frame
from onpace.services.model_store import save_model
from onpace.services.tokens import create_token
from onpace.services.users import add_user
from onpace.storage.db import make_engine, make_session_factory, upgrade
from onpace.storage.repositories import points_repo
from onpace.storage.repositories.model_repo import find_org

DAY = dt.date(2026, 1, 7)
NOW = dt.datetime(2026, 1, 9, 8, 0, tzinfo=dt.UTC)

MODEL = """
org: Approvals
units:
  - {id: ops, name: Operations, head: olga}
  - {id: sales, name: Sales, head: sam}
people:
  - {id: olga, name: Olga Berg, email: olga@example.com, unit: ops}
  - {id: sam, name: Sam Roy, email: sam@example.com, unit: sales}
  - {id: mia, name: Mia Lund, email: mia@example.com, unit: ops}
cycles:
  - {id: q1, start: 2026-01-05, end: 2026-03-29}
kpis:
  - {id: orders, title: Orders shipped, unit: ops, owner: mia, measure: flow, grain: week, aggregate: sum,
     plan: {per_bucket: 100}, source: feed}
sources:
  - {id: feed, kind: push}
policy:
  approve_manual: true
"""

#: key: (role, person)
PEOPLE = {
    "olga": ("owner", "olga"),
    "sam": ("owner", "sam"),
    "mia": ("editor", "mia"),
    "vic": ("viewer", None),
}


@dataclass
class ApprovalWorld:
    """The app on the store, the store's engine and each person's write token."""

    app: FastAPI
    engine: Engine
    tokens: dict[str, str]

    def session(self) -> Session:
        return make_session_factory(self.engine)()

    def enter(self, value: float, *, by: str = "mia", at: dt.datetime = NOW) -> int:
        """Store a manual entry of ``value`` for orders on DAY, waiting for approval; return its run."""
        with self.session() as session:
            org_id = org_of(session)
            frame = pl.DataFrame({"metric": ["orders"], "date": [DAY], "value": [value], "source": ["feed"]})
            run = ingest_frame(
                session,
                org_id,
                frame,
                source="feed",
                run_by=by,
                manual=True,
                approved=False,
                now=at,
                known_metrics={"orders"},
            ).run_id
            session.commit()
        return run

    def in_force(self) -> list[float]:
        with self.session() as session:
            return points_repo.points_frame(session, org_of(session))["value"].to_list()


def org_of(session: Session) -> int:
    return int(find_org(session).id)


def build(folder: Path, label: str) -> tuple[ApprovalWorld, Callable[[], None]]:
    """Make the store and the app; return the world and the function that drops the store."""
    url, drop = new_database(folder, label)
    engine = make_engine(url)
    upgrade(engine)
    tokens: dict[str, str] = {}
    with make_session_factory(engine)() as session:
        org_id = save_model(session, parse_model_text(MODEL, "approvals.yaml"), by="test", now=NOW).org_id
        frame = pl.DataFrame({"metric": ["orders"], "date": [DAY], "value": [410.0], "source": ["feed"]})
        ingest_frame(
            session,
            org_id,
            frame,
            source="feed",
            run_by=None,
            manual=False,
            now=NOW,
            known_metrics={"orders"},
        )
        for key, (role, person) in PEOPLE.items():
            email = f"{key}@example.com"
            add_user(
                session,
                email=email,
                name=key.title(),
                role=role,
                password=PASSWORD,
                now=NOW,
                person_id=person,
            )
            tokens[key] = create_token(session, email=email, name="tests", scope="write", now=NOW).token
        session.commit()
    app = create_app(Settings(database_url=url, secret_key=SecretStr(SECRET_KEY)))
    world = ApprovalWorld(app=app, engine=engine, tokens=tokens)

    def close() -> None:
        engine.dispose()
        drop()

    return world, close
