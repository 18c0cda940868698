"""Every page route, met by a session of each role and by bearer tokens of each scope: no one gets more.

The routes are read from the app itself, so a page added later without a line in ``RULES``
fails here until someone says who may use it. Every route refuses bearer tokens (pages take
sessions only). For sessions, each route names who may use it; everyone else must be refused
(and is tried first, while the target is as it was), and those who may must never be refused.
Forms are real and valid, so a refusal comes from the permission rule, not from validation.
The module works on a demo store of its own, since the allowed posts change it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import polars as pl
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import SecretStr
from web_world import PASSWORD, SECRET_KEY, Persona, build_world, new_database, sign_in

from onpace.app import create_app
from onpace.config import Settings
from onpace.domain.model import Plan
from onpace.services import account_changes
from onpace.services.ingest import ingest_frame
from onpace.services.model_store import load_model
from onpace.services.rebaseline import request_rebaseline
from onpace.storage.repositories import model_repo
from onpace.storage.tables import UserRow

pytestmark = pytest.mark.store

ROLES = ("admin", "editor", "owner", "outsider", "viewer")
EVERYONE = frozenset(ROLES)
NOW = dt.datetime(2026, 6, 8, 9, tzinfo=dt.UTC)
CASE = 6  # the joint case on fulfilment spend: Ana owns it, Grace (editor) takes part


class World:
    """An app on a store of its own and its personas; makes fresh targets for the posts."""

    def __init__(self, app: FastAPI, personas: dict[str, Persona]) -> None:
        self.app, self.personas = app, personas

    def new_user(self) -> int:
        with self.app.state.onpace.sessions() as session:
            user = account_changes.add_user(
                session,
                by="matrix",
                now=NOW,
                email=f"target-{uuid.uuid4().hex[:8]}@greenway.example",
                name="Target",
                role="viewer",
                password=PASSWORD,
            )
            session.commit()
            return user.id

    def new_token(self) -> int:
        """Return the id of a live token of a new user: someone else's token for every persona."""
        user_id = self.new_user()
        with self.app.state.onpace.sessions() as session:
            owner = session.get(UserRow, user_id)
            assert owner is not None
            new = account_changes.create_token(
                session,
                by="matrix",
                now=NOW,
                email=owner.email,
                name="target",
                scope="read",
            )
            session.commit()
            return new.id

    def org_id(self) -> int:
        """Return the id of the demo organisation, the one every persona belongs to."""
        with self.app.state.onpace.sessions() as session:
            return model_repo.find_org(session).id

    def new_rebaseline(self) -> int:
        # Asked by no person of the model, so KR1's owner's unit head (Ana) decides it, or an admin.
        with self.app.state.onpace.sessions() as session:
            org_id = model_repo.find_org(session).id
            row = request_rebaseline(
                session,
                org_id,
                load_model(session, None),
                subject="KR1",
                plan=Plan(baseline=None, target=3_100),
                reason="matrix",
                effective=dt.date(2026, 6, 15),
                by="planner@greenway.example",
                now=NOW,
            )
            session.commit()
            return row.id

    def new_manual_entry(self) -> int:
        """Return a manual entry waiting for approval, entered by no persona, for a Store operations KPI.

        Tom heads that unit: of the personas, only editors and admins may decide it (Ana heads another).
        """
        with self.app.state.onpace.sessions() as session:
            org_id = model_repo.find_org(session).id
            frame = pl.DataFrame(
                {
                    "metric": ["perfect_order_rate"],
                    "date": [dt.date(2026, 6, 5)],
                    "value": [uuid.uuid4().int % 10_000 / 100],
                    "source": ["manual"],
                }
            )
            run = ingest_frame(
                session,
                org_id,
                frame,
                source="manual",
                run_by="planner@greenway.example",
                manual=True,
                approved=False,
                now=NOW,
                known_metrics={"perfect_order_rate"},
            ).run_id
            session.commit()
            return run


def none(_world: World) -> dict[str, object]:
    return {}


@dataclass(frozen=True)
class Rule:
    """Who may use a route (roles), what a refusal answers, and how to fill its path and form."""

    allowed: frozenset[str]
    path: Callable[[World], dict[str, object]] = none
    form: Callable[[World], dict[str, object]] = none
    refusals: frozenset[int] = field(default_factory=lambda: frozenset({403}))


def unique(_world: World) -> dict[str, object]:
    return {
        "email": f"m-{uuid.uuid4().hex[:8]}@greenway.example",
        "name": "M",
        "role": "admin",
        "password": PASSWORD,
    }


ADMIN = frozenset({"admin"})
EDITORS = frozenset({"admin", "editor"})
CASE_PEOPLE = frozenset({"admin", "editor", "owner"})
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/docs"), ("GET", "/healthz")}
PUBLIC |= {("GET", "/openapi.json")}
# The pack's stylesheet holds nothing of the organisation; single sign-on is how anonymous
# visitors sign in (the sign-on tests in tests/sign_on cover the flow itself).
PUBLIC |= {("GET", "/review.css"), ("GET", "/login/sso"), ("GET", "/login/sso/callback")}
# Not a page: the metrics answer a scraper on this machine or an admin, by session or by token,
# with plain 401/403 rather than a redirect to sign in; tests/api/test_metrics.py holds it to that.
ELSEWHERE = {("GET", "/metrics")}

RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/"): Rule(EVERYONE),
    ("GET", "/overview"): Rule(EVERYONE),
    ("GET", "/objectives/{objective}"): Rule(EVERYONE, path=lambda w: {"objective": "O1"}),
    ("GET", "/initiatives/{initiative}"): Rule(EVERYONE, path=lambda w: {"initiative": "I1"}),
    ("GET", "/orgs"): Rule(EVERYONE),
    # Everyone may switch to an organisation they belong to (a stranger's answers 404).
    ("POST", "/orgs/switch"): Rule(EVERYONE, form=lambda w: {"org_id": w.org_id()}),
    ("GET", "/cycles"): Rule(EVERYONE),
    ("POST", "/cycles/{cycle_id}/close"): Rule(ADMIN, path=lambda w: {"cycle_id": "2026-Q2"}),
    ("GET", "/scorecard"): Rule(EVERYONE),
    ("GET", "/kpis/{subject}"): Rule(EVERYONE, path=lambda w: {"subject": "fulfilment_spend"}),
    ("GET", "/krs/{subject}"): Rule(EVERYONE, path=lambda w: {"subject": "KR1"}),
    ("GET", "/cases"): Rule(EVERYONE),
    ("GET", "/cases/{case_id}"): Rule(EVERYONE, path=lambda w: {"case_id": CASE}),
    ("GET", "/review"): Rule(EVERYONE),
    ("GET", "/review.pdf"): Rule(EVERYONE),
    ("GET", "/review.md"): Rule(EVERYONE),
    ("GET", "/dependencies"): Rule(EVERYONE),
    ("GET", "/what-if"): Rule(EVERYONE),
    ("POST", "/what-if"): Rule(EVERYONE, form=lambda w: {"kpis": "fulfilment_spend", "pct": "-5"}),
    ("GET", "/checkin"): Rule(EVERYONE),
    ("POST", "/checkin"): Rule(
        frozenset({"admin", "owner"}),
        form=lambda w: {"subject": "KR1", "status": "green", "confidence": "7", "day": "2026-06-05"},
    ),
    ("GET", "/rebaselines"): Rule(EVERYONE),
    ("POST", "/rebaselines"): Rule(
        CASE_PEOPLE,
        form=lambda w: {"subject": "KR1", "target": "3000", "reason": "matrix", "effective": "2026-06-22"},
    ),
    ("POST", "/rebaselines/{request_id}/{decision}"): Rule(
        frozenset({"admin", "owner"}),
        path=lambda w: {"request_id": w.new_rebaseline(), "decision": "reject"},
        refusals=frozenset({400, 403}),
    ),
    ("GET", "/approvals"): Rule(EVERYONE),
    ("POST", "/approvals/{entry}/{decision}"): Rule(
        EDITORS, path=lambda w: {"entry": w.new_manual_entry(), "decision": "reject"}
    ),
    ("POST", "/cases/{case_id}/explain"): Rule(
        CASE_PEOPLE, path=lambda w: {"case_id": CASE}, form=lambda w: {"category": "demand", "text": "m"}
    ),
    ("POST", "/cases/{case_id}/act"): Rule(
        CASE_PEOPLE,
        path=lambda w: {"case_id": CASE},
        form=lambda w: {"title": "m", "owner": "ana", "due": "2026-07-01"},
    ),
    ("POST", "/cases/{case_id}/comment"): Rule(
        CASE_PEOPLE, path=lambda w: {"case_id": CASE}, form=lambda w: {"text": "m"}
    ),
    ("POST", "/cases/{case_id}/close"): Rule(CASE_PEOPLE, path=lambda w: {"case_id": CASE}),
    ("GET", "/edit"): Rule(EDITORS),
    ("POST", "/edit/objectives"): Rule(
        EDITORS, form=lambda w: {"id": "O_matrix", "title": "Matrix objective", "cycle": "2026-Q2"}
    ),
    ("POST", "/edit/krs"): Rule(
        EDITORS,
        form=lambda w: {"id": "KR_matrix", "title": "Matrix KR", "objective": "O1", "kpi": "online_orders"},
    ),
    ("POST", "/edit/kpis"): Rule(
        EDITORS, form=lambda w: {"id": "matrix_kpi", "title": "Matrix KPI", "unit": "online", "owner": "ana"}
    ),
    ("POST", "/edit/links"): Rule(
        EDITORS, form=lambda w: {"kpi": "online_orders", "kr": "KR3", "weight": "0.1"}
    ),
    ("POST", "/edit/dependencies"): Rule(
        EDITORS,
        form=lambda w: {
            "id": "dep_matrix",
            "title": "Matrix hand-off",
            "provider_unit": "supply",
            "provider_owner": "sam",
            "consumer_unit": "online",
            "consumer_owner": "ana",
            "due": "2026-07-01",
        },
    ),
    ("GET", "/users"): Rule(ADMIN),
    ("POST", "/users"): Rule(ADMIN, form=unique),
    ("POST", "/users/{user_id}/role"): Rule(
        ADMIN, path=lambda w: {"user_id": w.new_user()}, form=lambda w: {"role": "admin"}
    ),
    ("POST", "/users/{user_id}/deactivate"): Rule(ADMIN, path=lambda w: {"user_id": w.new_user()}),
    ("POST", "/users/{user_id}/reactivate"): Rule(ADMIN, path=lambda w: {"user_id": w.new_user()}),
    ("GET", "/tokens"): Rule(EVERYONE),
    ("POST", "/tokens"): Rule(EVERYONE - {"viewer"}, form=lambda w: {"name": "m", "scope": "write"}),
    ("POST", "/tokens/{token_id}/revoke"): Rule(
        ADMIN, path=lambda w: {"token_id": w.new_token()}, refusals=frozenset({404})
    ),
    ("GET", "/account/password"): Rule(EVERYONE),
    # A wrong current password: everyone may try on their own account, and it changes nothing.
    ("POST", "/account/password"): Rule(
        EVERYONE, form=lambda w: {"current": "not the password", "new": "whatever123", "again": "whatever123"}
    ),
}


def page_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Return (method, path) of every route of the app outside the API, read from the app."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        # Included routers stand as one entry each; their routes are reached through it.
        contexts = getattr(route, "effective_route_contexts", None)
        pairs = (
            [(context.path, context.original_route) for context in contexts()]
            if contexts is not None
            else [(getattr(route, "path", ""), route)]
        )
        for path, original in pairs:
            if isinstance(original, APIRoute) and not path.startswith("/api/"):
                found |= {(method, path) for method in original.methods}
    return sorted(found)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url, drop = new_database(tmp_path_factory.mktemp("matrix"), "matrix")
    personas = build_world(url)
    yield World(create_app(Settings(database_url=url, secret_key=SecretStr(SECRET_KEY))), personas)
    drop()


def test_every_page_route_has_a_rule(world: World) -> None:
    routes = set(page_routes(world.app))
    assert routes - set(RULES) - PUBLIC - ELSEWHERE == set(), "say who may use these new page routes"
    assert set(RULES) - routes == set(), "these rules name routes the app no longer has"


def call(client: TestClient, method: str, path: str, form: dict[str, object], **kwargs: object) -> int:
    if method == "GET":
        return client.get(path, **kwargs).status_code  # type: ignore[arg-type]
    return client.post(path, data=form, **kwargs).status_code  # type: ignore[arg-type]


@pytest.mark.parametrize("route", sorted(RULES))
def test_bearer_tokens_of_every_scope_are_refused_on_every_page(world: World, route: tuple[str, str]) -> None:
    method, template = route
    rule = RULES[route]
    with TestClient(world.app, follow_redirects=False) as client:
        for persona in world.personas.values():
            for token in (persona.read_token, persona.token):
                path = template.format(**rule.path(world))
                status = call(
                    client, method, path, rule.form(world), headers={"Authorization": f"Bearer {token}"}
                )
                assert status == 403, (persona.key, token == persona.token, method, path, status)


@pytest.mark.parametrize("route", sorted(PUBLIC))
def test_a_bearer_token_never_signs_anyone_in_on_the_public_routes(
    world: World, route: tuple[str, str]
) -> None:
    method, path = route
    with TestClient(world.app, follow_redirects=False) as client:
        answer = client.request(
            method, path, headers={"Authorization": f"Bearer {world.personas['admin'].token}"}
        )
    assert answer.status_code < 500
    assert "Sign out" not in answer.text


@pytest.mark.parametrize("route", sorted(RULES))
def test_each_role_gets_what_the_route_allows_and_nothing_more(world: World, route: tuple[str, str]) -> None:
    method, template = route
    rule = RULES[route]
    # Those who may not go first, while the target is as it was.
    for key in sorted(ROLES, key=lambda k: k in rule.allowed):
        with TestClient(world.app, follow_redirects=False) as client:
            csrf = sign_in(client, world.personas[key])
            path = template.format(**rule.path(world))
            status = call(client, method, path, {**rule.form(world), "csrf_token": csrf})
        if key in rule.allowed:
            assert status < 500, (key, method, path, status)
            assert status not in (401, 403), (key, method, path, status)
        else:
            assert status in rule.refusals, (key, method, path, status)


@pytest.mark.parametrize("route", sorted(RULES))
def test_anonymous_visitors_reach_no_page(world: World, route: tuple[str, str]) -> None:
    method, template = route
    rule = RULES[route]
    with TestClient(world.app, follow_redirects=False) as client:
        status = call(client, method, template.format(**rule.path(world)), rule.form(world))
    # Pages and forms alike send them to sign in, before anything else is looked at.
    assert status == 303
