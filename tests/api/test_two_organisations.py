"""Two organisations in one store: no persona of one reads, counts or writes anything of the other.

Greenway Markets (the demo organisation, with its personas) and Harbor & Pine (imported from the
sample KPI scorecard, with an admin, an owner and a viewer of its own) share one store. Harbor's
personas call every API read route and every page, and try every write with Greenway's ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from web_world import EXAMPLES, PASSWORD, SECRET_KEY, Persona, build_world, new_database, sign_in

from onpace.app import create_app
from onpace.config import Settings
from onpace.domain.calendar import end_of_day
from onpace.modelfile import dump_model
from onpace.services.evaluate_service import evaluate_store
from onpace.services.govern import govern_store
from onpace.services.memberships import add_membership
from onpace.services.model_store import load_model, save_model
from onpace.services.tokens import create_token
from onpace.services.users import add_user
from onpace.spreadsheet_import import import_workbook
from onpace.storage.db import make_engine, make_session_factory
from onpace.storage.repositories.model_repo import find_org
from onpace.storage.tables import ApiTokenRow, CaseEventRow, CaseRow, OrgRow, PointRow, RebaselineRow

GREENWAY, HARBOR = "Greenway Markets", "Harbor & Pine"
CREATED = end_of_day(dt.date(2026, 6, 7))
# Words only Greenway's data holds: names, addresses, KPI ids, its organisation's name.
GREENWAY_MARKERS = (
    "Greenway",
    "greenway.example",
    "online_orders",
    "fulfilment_spend",
    "Ana Costa",
    "Grace Obi",
)


@dataclass(frozen=True)
class TwoOrgs:
    """The store, the app on it, each organisation's personas, and Greenway's row ids."""

    url: str
    greenway: dict[str, Persona]
    harbor: dict[str, Persona]
    greenway_case: int
    greenway_token: int
    greenway_rebaseline: int | None


@pytest.fixture(scope="module")
def two_orgs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoOrgs]:
    url, drop = new_database(tmp_path_factory.mktemp("orgs"), "orgs")
    greenway = build_world(url)
    imported = import_workbook(
        EXAMPLES / "workbooks" / "kpi-scorecard.xlsx", org=HARBOR, today=dt.date(2026, 6, 7)
    )
    assert imported.model is not None
    engine = make_engine(url)
    harbor: dict[str, Persona] = {}
    with make_session_factory(engine)() as session:
        save_model(session, imported.model, by="import", now=CREATED)
        for key, role, person in (
            ("admin", "admin", None),
            ("owner", "owner", "leo"),
            ("viewer", "viewer", None),
        ):
            email = f"{key}@harborpine.example"
            add_user(
                session,
                email=email,
                name=key,
                role=role,
                password=PASSWORD,
                now=CREATED,
                person_id=person,
                org=HARBOR,
            )
            write = create_token(session, email=email, name="tests", scope="write", now=CREATED)
            read = create_token(session, email=email, name="read", scope="read", now=CREATED)
            harbor[key] = Persona(key, email, role, person, write.token, read.token)
        # Harbor runs its own loop: evaluated and governed, with cases of its own.
        harbor_id = find_org(session, HARBOR).id
        model = load_model(session, HARBOR)
        evaluation = evaluate_store(session, harbor_id, model, dt.date(2026, 6, 7), now=CREATED)
        govern_store(session, harbor_id, model, evaluation.results, as_of=dt.date(2026, 6, 7), now=CREATED)
        session.commit()
        greenway_id = session.scalar(select(OrgRow.id).where(OrgRow.name == GREENWAY))
        case_id = session.scalar(select(func.min(CaseRow.id)).where(CaseRow.org_id == greenway_id))
        token_id = session.scalar(select(func.min(ApiTokenRow.id)).where(ApiTokenRow.org_id == greenway_id))
        rebaseline = session.scalar(
            select(func.min(RebaselineRow.id)).where(RebaselineRow.org_id == greenway_id)
        )
    engine.dispose()
    assert case_id is not None
    yield TwoOrgs(url, greenway, harbor, case_id, token_id or 1, rebaseline)
    drop()


@pytest.fixture(scope="module")
def client(two_orgs: TwoOrgs) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=two_orgs.url, secret_key=SecretStr(SECRET_KEY)))
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def bearer(persona: Persona) -> dict[str, str]:
    return {"Authorization": f"Bearer {persona.token}"}


def greenway_state(two_orgs: TwoOrgs) -> tuple[str, int, int, int]:
    """Return what must not change in Greenway: its model, case events, points and cases."""
    engine = make_engine(two_orgs.url)
    with make_session_factory(engine)() as session:
        org = session.scalar(select(OrgRow.id).where(OrgRow.name == GREENWAY))
        state = (
            dump_model(load_model(session, GREENWAY)),
            session.scalar(select(func.count()).select_from(CaseEventRow).where(CaseEventRow.org_id == org))
            or 0,
            session.scalar(select(func.count()).select_from(PointRow).where(PointRow.org_id == org)) or 0,
            session.scalar(select(func.count()).select_from(CaseRow).where(CaseRow.org_id == org)) or 0,
        )
    engine.dispose()
    return state


API_LISTS = [
    "/api/v1/units",
    "/api/v1/people",
    "/api/v1/objectives",
    "/api/v1/krs",
    "/api/v1/kpis",
    "/api/v1/dependencies",
    "/api/v1/cases?open=false",
    "/api/v1/checkins",
    "/api/v1/evaluations",
    "/api/v1/rebaselines",
    "/api/v1/me",
    "/api/v1/tokens",
]


@pytest.mark.parametrize("persona", ["admin", "owner", "viewer"])
@pytest.mark.parametrize("path", API_LISTS)
def test_harbor_reads_no_list_that_holds_anything_of_greenway(
    client: TestClient, two_orgs: TwoOrgs, persona: str, path: str
) -> None:
    answer = client.get(path, headers=bearer(two_orgs.harbor[persona]))
    assert answer.status_code == 200, answer.text
    leaked = [marker for marker in GREENWAY_MARKERS if marker in answer.text]
    assert not leaked, f"{path} shows {leaked} to Harbor's {persona}"


def test_greenway_still_reads_its_own(client: TestClient, two_orgs: TwoOrgs) -> None:
    kpis = client.get("/api/v1/kpis", headers=bearer(two_orgs.greenway["admin"]))
    assert "online_orders" in kpis.text
    assert "subscription_revenue" not in kpis.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/units/supply",
        "/api/v1/people/ana",
        "/api/v1/krs/KR5",
        "/api/v1/kpis/online_orders",
        "/api/v1/dependencies/D1",
        "/api/v1/cases/{case}",
    ],
)
def test_harbor_gets_404_for_each_greenway_item(client: TestClient, two_orgs: TwoOrgs, path: str) -> None:
    answer = client.get(path.format(case=two_orgs.greenway_case), headers=bearer(two_orgs.harbor["admin"]))
    assert answer.status_code == 404, answer.text
    # The answer may repeat the id asked for, nothing else of Greenway's.
    assert not [m for m in GREENWAY_MARKERS if m in answer.text and m not in path]


def test_no_write_of_harbor_reaches_greenway(client: TestClient, two_orgs: TwoOrgs) -> None:
    before = greenway_state(two_orgs)
    admin = bearer(two_orgs.harbor["admin"])
    case = two_orgs.greenway_case
    attempts = [
        ("post", f"/api/v1/cases/{case}/explain", {"category": "other", "text": "from Harbor"}),
        ("post", f"/api/v1/cases/{case}/act", {"title": "x", "owner": "leo", "due": "2026-07-01"}),
        ("post", f"/api/v1/cases/{case}/comment", {"text": "from Harbor"}),
        ("post", f"/api/v1/cases/{case}/complete", {}),
        ("post", f"/api/v1/cases/{case}/close", {"note": "from Harbor"}),
        (
            "post",
            "/api/v1/actuals",
            {"points": [{"metric": "online_orders", "date": "2026-06-01", "value": 1}]},
        ),
        ("post", "/api/v1/checkins", {"subject": "KR5", "status": "green", "confidence": 9, "by": "ana"}),
        ("delete", f"/api/v1/tokens/{two_orgs.greenway_token}", None),
    ]
    if two_orgs.greenway_rebaseline is not None:
        attempts.append(
            ("post", f"/api/v1/rebaselines/{two_orgs.greenway_rebaseline}/approve", {"note": "x"})
        )
    for method, path, body in attempts:
        answer = client.request(method.upper(), path, json=body, headers=admin)
        assert 400 <= answer.status_code < 500, f"{method} {path}: {answer.status_code} {answer.text}"
        assert answer.status_code != 500
    assert greenway_state(two_orgs) == before
    # Greenway's token still works.
    assert client.get("/api/v1/me", headers=bearer(two_orgs.greenway["admin"])).status_code == 200


def test_harbor_counts_only_its_own_cases_and_metrics(client: TestClient, two_orgs: TwoOrgs) -> None:
    listed = client.get("/api/v1/cases?open=false", headers=bearer(two_orgs.harbor["admin"])).json()
    engine = make_engine(two_orgs.url)
    with make_session_factory(engine)() as session:
        harbor = session.scalar(select(OrgRow.id).where(OrgRow.name == HARBOR))
        own = set(session.scalars(select(CaseRow.id).where(CaseRow.org_id == harbor)))
    engine.dispose()
    assert own, "Harbor has cases of its own"
    assert {c["id"] for c in listed} == own
    metrics = client.get("/metrics", headers=bearer(two_orgs.harbor["admin"])).text
    assert 'org="Harbor & Pine"' in metrics or "onpace_open_cases" in metrics
    assert GREENWAY not in metrics


PAGES = [
    "/",
    "/scorecard",
    "/cases?open=false",
    "/review",
    "/dependencies",
    "/rebaselines",
    "/checkin",
    "/edit",
    "/users",
    "/tokens",
]


@pytest.mark.parametrize("path", PAGES)
def test_harbor_pages_show_nothing_of_greenway(two_orgs: TwoOrgs, path: str) -> None:
    app = create_app(Settings(database_url=two_orgs.url, secret_key=SecretStr(SECRET_KEY)))
    with TestClient(app, follow_redirects=False) as browser:
        sign_in(browser, two_orgs.harbor["admin"])
        page = browser.get(path)
    assert page.status_code == 200, page.text[-1500:]
    leaked = [marker for marker in GREENWAY_MARKERS if marker in page.text]
    assert not leaked, f"{path} shows {leaked}"


@pytest.mark.parametrize("path", ["/kpis/online_orders", "/krs/KR5", "/cases/{case}"])
def test_harbor_pages_of_greenway_items_are_not_found(two_orgs: TwoOrgs, path: str) -> None:
    app = create_app(Settings(database_url=two_orgs.url, secret_key=SecretStr(SECRET_KEY)))
    with TestClient(app, follow_redirects=False) as browser:
        csrf = sign_in(browser, two_orgs.harbor["admin"])
        page = browser.get(path.format(case=two_orgs.greenway_case))
        assert page.status_code == 404
        if path.startswith("/cases"):
            before = greenway_state(two_orgs)
            posted = browser.post(
                f"/cases/{two_orgs.greenway_case}/comment", data={"text": "from Harbor", "csrf_token": csrf}
            )
            assert posted.status_code == 404
            assert greenway_state(two_orgs) == before
    assert not [m for m in GREENWAY_MARKERS if m in page.text and m not in path]


# ---------------------------------------------------------------------------------------------
# a user in both organisations, with a role in each, switching between them


@pytest.fixture(scope="module")
def grace_in_both(two_orgs: TwoOrgs) -> int:
    """Let Greenway's editor (Grace) work in Harbor too, as an owner who is Omar there; return Harbor's id."""
    engine = make_engine(two_orgs.url)
    with make_session_factory(engine)() as session:
        add_membership(
            session,
            email=two_orgs.greenway["editor"].email,
            org=HARBOR,
            role="owner",
            person_id="omar",
            now=CREATED,
        )
        session.commit()
        harbor_id = find_org(session, HARBOR).id
    engine.dispose()
    return harbor_id


def test_a_user_of_two_organisations_switches_and_sees_only_the_one_she_works_in(
    two_orgs: TwoOrgs, grace_in_both: int
) -> None:
    app = create_app(Settings(database_url=two_orgs.url, secret_key=SecretStr(SECRET_KEY)))
    with TestClient(app, follow_redirects=False) as browser:
        csrf = sign_in(browser, two_orgs.greenway["editor"])
        seats = browser.get("/api/v1/orgs").json()
        assert [(s["name"], s["role"], s["current"]) for s in seats] == [
            (GREENWAY, "editor", True),
            (HARBOR, "owner", False),
        ]
        assert browser.get("/api/v1/me").json()["person"] == "grace"
        assert "online_orders" in browser.get("/api/v1/kpis").text

        switched = browser.post("/orgs/switch", data={"org_id": str(grace_in_both), "csrf_token": csrf})
        assert switched.status_code == 303
        me = browser.get("/api/v1/me").json()
        assert (me["role"], me["person"]) == ("owner", "omar")
        kpis = browser.get("/api/v1/kpis").text
        assert "subscription_revenue" in kpis
        assert not [m for m in GREENWAY_MARKERS if m in kpis]
        desk = browser.get("/")
        assert "operating_margin" in desk.text  # Omar's KPI
        assert not [m for m in GREENWAY_MARKERS if m in desk.text]
        # As Harbor's owner she cannot work Greenway's case, nor edit Harbor's model (owners do not).
        before = greenway_state(two_orgs)
        answer = browser.post(
            f"/api/v1/cases/{two_orgs.greenway_case}/comment",
            json={"text": "from Harbor"},
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == 404
        assert greenway_state(two_orgs) == before
        # A token made while working in Harbor works in Harbor.
        token = browser.post(
            "/api/v1/tokens", json={"name": "harbor", "scope": "read"}, headers={"X-CSRF-Token": csrf}
        )
        assert token.status_code == 201, token.text
        with TestClient(app) as program:
            listed = program.get("/api/v1/kpis", headers={"Authorization": f"Bearer {token.json()['token']}"})
        assert "subscription_revenue" in listed.text
        assert "online_orders" not in listed.text

        back = browser.post("/orgs/switch", data={"org_id": str(_greenway_id(two_orgs)), "csrf_token": csrf})
        assert back.status_code == 303
        assert browser.get("/api/v1/me").json()["person"] == "grace"


def test_nobody_switches_into_an_organisation_they_do_not_belong_to(
    two_orgs: TwoOrgs, grace_in_both: int
) -> None:
    app = create_app(Settings(database_url=two_orgs.url, secret_key=SecretStr(SECRET_KEY)))
    with TestClient(app, follow_redirects=False) as browser:
        csrf = sign_in(browser, two_orgs.harbor["viewer"])
        refused = browser.post(
            "/orgs/switch", data={"org_id": str(_greenway_id(two_orgs)), "csrf_token": csrf}
        )
        assert refused.status_code == 404
        # A cookie forged or copied from someone else's browser only falls back to the user's own.
        browser.cookies.set("onpace_org", "not-signed")
        assert "subscription_revenue" in browser.get("/api/v1/kpis").text
        page = browser.get("/orgs")
        assert page.status_code == 200
        assert GREENWAY not in page.text


def _greenway_id(two_orgs: TwoOrgs) -> int:
    engine = make_engine(two_orgs.url)
    with make_session_factory(engine)() as session:
        found = find_org(session, GREENWAY).id
    engine.dispose()
    return found
