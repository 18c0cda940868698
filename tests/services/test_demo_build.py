"""The demo's set-up: the example quarter moved to the present, replayed, with logins and a tour."""

from __future__ import annotations

import datetime as dt
import hashlib
import smtplib
import sqlite3
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from onpace.demo_run import login_lines, tour_lines, worker_environment, worker_settings
from onpace.errors import UserError
from onpace.mailbox import Mailbox, running_mailbox
from onpace.modelfile import load_model_file
from onpace.services.cases import list_cases
from onpace.services.demo import DemoStore, build_demo
from onpace.services.demo_folder import MARKER, claim_folder
from onpace.services.demo_present import as_of_steps, quarter_label, shift_csv, shift_dates, week_shift
from onpace.services.demo_tour import striking_order
from onpace.services.users import authenticate
from onpace.storage.db import make_engine
from onpace.storage.repositories import cases_repo, model_repo

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# A Wednesday: the current week of the moved quarter is not over yet.
NOW = dt.datetime(2026, 11, 18, 10, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoStore, list[str]]:
    said: list[str] = []
    store = build_demo(EXAMPLES, tmp_path_factory.mktemp("demo") / "onpace-demo", now=NOW, say=said.append)
    return store, said


def open_store(store: DemoStore) -> Session:
    return Session(make_engine(store.database_url), expire_on_commit=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------
# moving dates


def test_the_shift_ends_the_quarter_in_the_current_week_on_the_same_weekday() -> None:
    quarter_end = dt.date(2026, 6, 28)  # a Sunday
    assert week_shift(quarter_end, dt.date(2026, 11, 22)) == 21  # that Sunday itself
    assert week_shift(quarter_end, dt.date(2026, 11, 18)) == 21  # the Wednesday before it
    assert week_shift(quarter_end, dt.date(2026, 11, 23)) == 22  # a Monday starts the next week
    moved_back = quarter_end + dt.timedelta(weeks=week_shift(quarter_end, dt.date(2026, 3, 4)))
    assert moved_back == dt.date(2026, 3, 8)


def test_every_iso_date_moves_by_whole_weeks_and_nothing_else_changes() -> None:
    text = "start: 2026-04-06, at 2026-04-06T09:30:00Z; not 2026-13-01, nor 12026-04-06, nor 2026-04-061"
    assert shift_dates(text, 3) == (
        "start: 2026-04-27, at 2026-04-27T09:30:00Z; not 2026-13-01, nor 12026-04-06, nor 2026-04-061"
    )
    assert dt.date(2026, 4, 27).weekday() == dt.date(2026, 4, 6).weekday()


def test_a_quarter_named_cycle_is_named_after_the_quarter_holding_its_middle() -> None:
    assert quarter_label(dt.date(2026, 8, 31), dt.date(2026, 11, 22)) == "2026-Q4"
    assert quarter_label(dt.date(2026, 1, 5), dt.date(2026, 3, 29)) == "2026-Q1"


def test_the_moved_csv_keeps_no_row_dated_after_today() -> None:
    text = "metric,date,value\nx,2026-04-06,1\nx,2026-04-13,2\nx,not a date,3\n"
    moved = shift_csv(text, 1, up_to=dt.date(2026, 4, 14), name="a.csv")
    assert moved == "metric,date,value\nx,2026-04-13,1\nx,not a date,3\n"


def test_a_csv_without_a_date_column_is_refused_with_its_name() -> None:
    with pytest.raises(UserError, match=r"a\.csv:1: the header has no date column"):
        shift_csv("metric,day,value\n", 1, up_to=dt.date(2026, 4, 14), name="a.csv")


def test_the_steps_close_each_past_week_then_stop_at_today() -> None:
    model = load_model_file(EXAMPLES / "onpace.yaml")  # cycle 2026-04-06 .. 2026-06-28
    steps = as_of_steps(model, dt.date(2026, 4, 22))
    assert steps == [dt.date(2026, 4, 12), dt.date(2026, 4, 19), dt.date(2026, 4, 22)]
    assert as_of_steps(model, dt.date(2026, 4, 19))[-1] == dt.date(2026, 4, 19)
    assert len(as_of_steps(model, dt.date(2026, 6, 28))) == 12


# ---------------------------------------------------------------------------------------------
# the build


def test_the_demo_replays_the_moved_quarter_up_to_now(demo: tuple[DemoStore, list[str]]) -> None:
    store, said = demo
    model = load_model_file(store.folder / "org" / "onpace.yaml")
    (cycle,) = model.cycles
    assert (cycle.id, cycle.start, cycle.end) == ("2026-Q4", dt.date(2026, 8, 31), dt.date(2026, 11, 22))
    assert store.weeks_shifted == 21
    assert [d.due for d in model.dependencies] == [dt.date(2026, 9, 28)]
    assert any(line.startswith("  week 12  as of 2026-11-18") for line in said)
    actuals = (store.folder / "org" / "actuals.csv").read_text(encoding="utf-8").splitlines()
    assert max(line.split(",")[1] for line in actuals[1:]) == "2026-11-18"
    with open_store(store) as session:
        org = model_repo.find_org(session)
        cases = list_cases(session, org.id)
    kinds = {c.kind for c in cases if c.is_open}
    assert {"red", "mirage", "dependency_late"} <= kinds
    assert any(c.rung > 0 for c in cases if c.is_open), "an ignored case has escalated"
    assert store.open_cases == sum(1 for c in cases if c.is_open)
    assert store.outbox > 0


def test_the_scripted_re_baseline_is_approved_by_the_requesters_next_head_up(
    demo: tuple[DemoStore, list[str]],
) -> None:
    store, said = demo
    with open_store(store) as session:
        org = model_repo.find_org(session)
        (row,) = cases_repo.rebaselines(session, org.id)
    assert (row.subject, row.status, row.requested_by, row.decided_by) == (
        "fulfilment_spend",
        "approved",
        "ana",
        "grace",
    )
    assert row.effective == dt.date(2026, 11, 2)  # the Monday after week 9
    assert any("re-baseline: Ana Costa changed the plan of fulfilment_spend (+9.5%)" in line for line in said)


def test_the_logins_sign_in_and_the_owner_owns_the_top_open_case(demo: tuple[DemoStore, list[str]]) -> None:
    store, _ = demo
    admin, owner = store.logins
    assert (admin.role, admin.person) == ("admin", None)
    assert owner.role == "owner"
    assert admin.password != owner.password
    with open_store(store) as session:
        org = model_repo.find_org(session)
        top = striking_order(list_cases(session, org.id))[0]
        for login in store.logins:
            user = authenticate(session, login.email, login.password)
            assert user is not None
            assert user.role == login.role
        assert authenticate(session, admin.email, owner.password) is None
    assert top.owner == owner.person
    assert any(login.password in line for line in login_lines(store) for login in store.logins)


def test_the_tour_leads_to_the_top_case_and_the_review(demo: tuple[DemoStore, list[str]]) -> None:
    store, _ = demo
    with open_store(store) as session:
        org = model_repo.find_org(session)
        top = striking_order(list_cases(session, org.id))[0]
    paths = [stop.path for stop in store.tour]
    assert paths[:3] == ["/", "/review", f"/cases/{top.id}"]
    assert "/dependencies" in paths
    lines = tour_lines(store, "http://127.0.0.1:8000")
    assert lines[2].split()[0] == "http://127.0.0.1:8000/review"


def test_striking_order_puts_red_before_escalation_and_escalation_before_age(
    demo: tuple[DemoStore, list[str]],
) -> None:
    store, _ = demo
    with open_store(store) as session:
        ranked = striking_order(list_cases(session, model_repo.find_org(session).id))
    assert ranked[0].kind == "red"
    assert all(c.is_open for c in ranked)
    reds = [c for c in ranked if c.kind == "red"]
    assert [c.rung for c in reds] == sorted((c.rung for c in reds), reverse=True)


def test_the_worker_sends_every_route_to_the_mailbox_and_reads_no_real_source(
    demo: tuple[DemoStore, list[str]], tmp_path: Path
) -> None:
    store, _ = demo
    mailbox = Mailbox("127.0.0.1", 2525, tmp_path)
    environ = {"PATH": "/usr/bin", "SHOP_DB_URL": "postgresql://prod/shop", "ONPACE_SMTP_URL": "mailto://x"}
    env = worker_environment(store, mailbox, environ)
    # Only what routes may read (the ONPACE_ROUTE_ names), pointed at the demo's mailbox.
    assert env == {
        "ONPACE_ROUTE_ONLINE_SLACK_URL": mailbox.address_url(
            "onpace@greenway.example", "online-chat@greenway.example"
        ),
        "ONPACE_ROUTE_SUPPLY_TEAMS_URL": mailbox.address_url(
            "onpace@greenway.example", "supply-chat@greenway.example"
        ),
        "ONPACE_ROUTE_LEADERSHIP_MAIL_URL": mailbox.address_url(
            "onpace@greenway.example", "leadership-mail@greenway.example"
        ),
    }
    assert "to=online-chat@greenway.example" in env["ONPACE_ROUTE_ONLINE_SLACK_URL"]
    settings = worker_settings(store, mailbox, "http://127.0.0.1:8000")
    assert settings.database_url == store.database_url
    assert settings.smtp_url is not None
    assert settings.smtp_url.get_secret_value().startswith(
        "mailto://127.0.0.1:2525?from=onpace@greenway.example"
    )
    assert (store.folder / "drop" / "erp").is_dir(), "the csv source's drop folder is in the demo folder"


# ---------------------------------------------------------------------------------------------
# the folder


def test_building_again_replaces_the_previous_demo_store(tmp_path: Path) -> None:
    folder = tmp_path / "again"
    said: list[str] = []
    first = build_demo(EXAMPLES, folder, now=NOW, say=said.append)
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    second = build_demo(EXAMPLES, folder, now=NOW, say=said.append)
    assert not first.rebuilt
    assert second.rebuilt
    assert [line for line in said if line.startswith("data folder")] == [
        f"data folder {folder} (new)",
        f"data folder {folder}: the previous demo store there is replaced by a new one",
    ]
    assert first.secret_key == second.secret_key
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"
    with open_store(second) as session:
        assert model_repo.org_names(session) == [second.org]
        assert authenticate(session, first.logins[0].email, first.logins[0].password) is None
        assert authenticate(session, second.logins[0].email, second.logins[0].password) is not None


def test_a_folder_that_is_not_a_demo_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "onpace.db").write_bytes(b"someone's store")
    before = digest(tmp_path / "onpace.db")
    with pytest.raises(UserError, match=f"not an onpace demo folder \\(it has no {MARKER}\\)"):
        claim_folder(tmp_path, "Greenway Markets")
    assert digest(tmp_path / "onpace.db") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onpace.db"]


def test_a_marked_folder_whose_store_holds_another_organisation_is_refused(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_text("", encoding="utf-8")
    with sqlite3.connect(tmp_path / "demo.db") as connection:
        connection.execute("CREATE TABLE orgs (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO orgs (name) VALUES ('Acme Logistics')")
    before = digest(tmp_path / "demo.db")
    with pytest.raises(UserError, match="holds Acme Logistics, not only the demo organisation"):
        claim_folder(tmp_path, "Greenway Markets")
    assert digest(tmp_path / "demo.db") == before


def test_a_file_is_not_a_data_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(UserError, match="is a file, not a folder"):
        claim_folder(tmp_path / "file", "Greenway Markets")


# ---------------------------------------------------------------------------------------------
# the mailbox


def test_the_mailbox_keeps_each_message_as_a_numbered_eml_file(tmp_path: Path) -> None:
    with running_mailbox(tmp_path / "mail") as mailbox:
        for to in ("tom@greenway.example", "online-chat@greenway.example"):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "onpace@greenway.example", to, f"for {to}"
            message.set_content("Perfect orders are red.")
            with smtplib.SMTP(mailbox.host, mailbox.port) as client:
                client.send_message(message)
    files = sorted(p.name for p in (tmp_path / "mail").iterdir())
    assert files == ["0001-tom.eml", "0002-online-chat.eml"]
    assert "Subject: for tom@greenway.example" in (tmp_path / "mail" / files[0]).read_text()
