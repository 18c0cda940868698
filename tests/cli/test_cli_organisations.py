"""Two organisations in one store: every command works on the one named by --org or ONPACE_ORG."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from onpace.cli import app
from onpace.cli.org import take_org
from onpace.config import get_settings
from onpace.spreadsheet_import import import_workbook
from onpace.storage.db import make_engine, make_session_factory
from onpace.storage.tables import OrgRow, UserRow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GREENWAY, HARBOR = "Greenway Markets", "Harbor & Pine"
runner = CliRunner()


@pytest.fixture
def two_orgs(empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Load the demo organisation and an imported one into one empty store; yield its URL."""
    monkeypatch.setenv("ONPACE_DATABASE_URL", empty_database_url)
    monkeypatch.delenv("ONPACE_ORG", raising=False)
    get_settings.cache_clear()
    harbor = tmp_path / "harbor.yaml"
    imported = import_workbook(
        EXAMPLES / "workbooks" / "kpi-scorecard.xlsx", org=HARBOR, today=dt.date(2026, 6, 20)
    )
    harbor.write_text(imported.text, encoding="utf-8")
    assert run("load", str(EXAMPLES / "onpace.yaml")).exit_code == 0
    second = run("load", str(harbor))
    assert second.exit_code == 0, second.output
    assert f"'{HARBOR}' is a new organisation beside '{GREENWAY}'" in second.stdout
    yield empty_database_url
    get_settings.cache_clear()


def run(*args: str, env: dict[str, str] | None = None) -> object:
    return runner.invoke(app, list(args), env=env)


def test_without_a_name_a_store_of_two_says_so_and_how_to_name_one(two_orgs: str) -> None:
    for command in (["evaluate", "--as-of", "2026-05-03"], ["export"], ["cases"]):
        answer = run(*command)
        assert answer.exit_code == 1, command
        assert (
            f"the store holds several organisations ('{GREENWAY}', '{HARBOR}'); name one with --org NAME "
            "or ONPACE_ORG=NAME"
        ) in answer.stderr
        assert "Traceback" not in answer.output


def test_evaluate_works_on_each_with_org_before_or_after_the_command(two_orgs: str) -> None:
    green = run("evaluate", "--org", GREENWAY, "--as-of", "2026-05-03", "--json", "--no-govern")
    assert green.exit_code == 0, green.output
    green_subjects = {json.loads(line)["subject"] for line in green.stdout.splitlines()}
    harbor = run(f"--org={HARBOR}", "evaluate", "--as-of", "2026-08-31", "--json", "--no-govern")
    assert harbor.exit_code == 0, harbor.output
    harbor_subjects = {json.loads(line)["subject"] for line in harbor.stdout.splitlines()}
    assert "online_orders" in green_subjects
    assert "subscription_revenue" in harbor_subjects
    assert "subscription_revenue" not in green_subjects
    assert "online_orders" not in harbor_subjects


def test_onpace_org_names_the_organisation_for_export(two_orgs: str) -> None:
    exported = run("export", env={"ONPACE_ORG": HARBOR})
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.startswith(f"org: {HARBOR}") or f"org: {HARBOR}" in exported.stdout
    assert "online_orders" not in exported.stdout
    # --org wins over the variable.
    both = run("export", "--org", GREENWAY, env={"ONPACE_ORG": HARBOR})
    assert f"org: {GREENWAY}" in both.stdout


def test_data_for_one_organisation_is_not_taken_into_the_other(two_orgs: str, tmp_path: Path) -> None:
    actuals = tmp_path / "actuals.csv"
    actuals.write_text("metric,date,value\nonline_orders,2026-07-05,3100\n", encoding="utf-8")
    into_harbor = run("ingest", str(actuals), "--org", HARBOR)
    assert into_harbor.exit_code == 1
    assert "online_orders" in into_harbor.stderr
    assert "0 added" in into_harbor.stdout
    into_greenway = run("ingest", str(actuals), "--org", GREENWAY)
    assert into_greenway.exit_code == 0, into_greenway.output


def test_a_user_joins_the_named_organisation_and_an_unnamed_one_is_refused(two_orgs: str) -> None:
    refused = run(
        "user", "add", "leo@harborpine.example", "--name", "Leo", "--role", "owner", "--person", "leo"
    )
    assert refused.exit_code == 1
    assert "several organisations" in refused.stderr
    added = run(
        "user",
        "add",
        "leo@harborpine.example",
        "--name",
        "Leo",
        "--role",
        "owner",
        "--person",
        "leo",
        "--org",
        HARBOR,
        "--password",
        "correct horse battery",
    )
    assert added.exit_code == 0, added.output
    engine = make_engine(two_orgs)
    with make_session_factory(engine)() as session:
        org = session.scalar(select(UserRow.org_id).where(UserRow.email == "leo@harborpine.example"))
        harbor_id = session.scalar(select(OrgRow.id).where(OrgRow.name == HARBOR))
    engine.dispose()
    assert org == harbor_id


def test_an_unknown_organisation_or_a_model_of_another_is_refused(two_orgs: str) -> None:
    unknown = run("evaluate", "--org", "Nope")
    assert unknown.exit_code == 1
    assert (
        f"no organisation named 'Nope' in the store; the store holds '{GREENWAY}', '{HARBOR}'"
        in unknown.stderr
    )
    mismatch = run("load", str(EXAMPLES / "onpace.yaml"), "--org", HARBOR)
    assert mismatch.exit_code == 1
    assert f"is the model of '{GREENWAY}', but --org/ONPACE_ORG names '{HARBOR}'" in mismatch.stderr


def test_org_is_taken_from_anywhere_but_after_a_double_dash() -> None:
    assert take_org(["evaluate", "--org", "A", "--json"]) == (["evaluate", "--json"], "A")
    assert take_org(["--org=B", "export"]) == (["export"], "B")
    assert take_org(["ingest", "--", "--org", "x"]) == (["ingest", "--", "--org", "x"], None)


def test_an_existing_user_named_with_another_org_joins_it_with_a_role_there(two_orgs: str) -> None:
    from onpace.storage.tables import MembershipRow

    first = run(
        "user",
        "add",
        "grace@greenway.example",
        "--name",
        "Grace",
        "--role",
        "editor",
        "--person",
        "grace",
        "--org",
        GREENWAY,
        "--password",
        "correct horse battery",
    )
    assert first.exit_code == 0, first.output
    joined = run(
        "user", "add", "grace@greenway.example", "--name", "Grace", "--role", "viewer", "--org", HARBOR
    )
    assert joined.exit_code == 0, joined.output
    assert f"now also works in {HARBOR} as viewer" in joined.stdout
    engine = make_engine(two_orgs)
    with make_session_factory(engine)() as session:
        seats = session.execute(select(MembershipRow.role, OrgRow.name).join(OrgRow)).all()
    engine.dispose()
    assert [tuple(s) for s in seats] == [("viewer", HARBOR)]
    unknown_person = run(
        "user", "add", "grace@greenway.example", "--name", "Grace", "--person", "ana", "--org", HARBOR
    )
    assert unknown_person.exit_code == 1
    assert f"there is no person 'ana' in the model of '{HARBOR}'" in unknown_person.stderr
