"""Saving a model updates the store in place; loading gives the same model back."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onpace.domain.model import (
    Calendar,
    Cycle,
    Dependency,
    Feed,
    Initiative,
    KeyResult,
    Kpi,
    Model,
    NotifyRoute,
    Objective,
    Person,
    Plan,
    Policy,
    Side,
    Sla,
    Source,
    Threshold,
    Tolerance,
    Unit,
)
from onpace.services.model_store import ModelStoreError, load_model, plan_versions, save_model
from onpace.storage.errors import OrgNotFoundError
from onpace.storage.tables import DependencyRow, FeedRow, KpiRow, PlanVersionRow, UnitRow

NOW = dt.datetime(2026, 1, 20, 9, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=10)
REPO = Path(__file__).resolve().parents[2]
Q1 = Cycle("2026-Q1", dt.date(2026, 1, 5), dt.date(2026, 3, 29))


def acme() -> Model:
    """Return a model that uses every kind of item and every plan form."""
    return Model(
        org="Acme Logistics",
        calendar=Calendar(week_start="sunday"),
        units=(
            Unit("exec", "Executive team", head="ceo"),
            Unit("ops", "Operations", parent="exec", head="maria"),
            Unit("it", "IT", parent="exec", head=None),
        ),
        people=(
            Person("ceo", "Dana Ortiz", "dana@acme.example", "exec"),
            Person("maria", "Maria Chen", "maria@acme.example", "ops"),
            Person("raj", "Raj Iyer", None, "it"),
        ),
        cycles=(Q1,),
        objectives=(
            Objective(
                "O1",
                "Increase delivery efficiency by 20%",
                "2026-Q1",
                "exec",
                "ceo",
                "internal_process",
                key_results=(
                    KeyResult("KR1", "On-time deliveries to 95%", "O1", "maria", weight=2.0, kpi="on_time"),
                    KeyResult(
                        "KR2",
                        "Cost per delivery from 8.00 to 6.40",
                        "O1",
                        "maria",
                        direction="down",
                        aggregate="mean",
                        tolerance=Tolerance(Threshold(0.2, False), Threshold(0.5, False)),
                        plan=Plan(baseline=8.0, target=6.4, phasing="back"),
                    ),
                ),
            ),
            Objective("O2", "Keep the lights on", "2026-Q1", "it", "raj"),
        ),
        kpis=(
            Kpi(
                "on_time",
                "Deliveries on time (%)",
                "ops",
                ("maria",),
                tolerance=Tolerance(Threshold(0.03, True), Threshold(0.06, True)),
                plan=Plan(points=((dt.date(2026, 1, 5), 88.0), (dt.date(2026, 3, 29), 95.0))),
                source="wms",
                leading=True,
                feeds=(Feed("KR1", 0.6, lag_days=14), Feed("KR2", 0.4)),
            ),
            Kpi(
                "orders",
                "Orders processed",
                "ops",
                ("maria", "raj"),
                measure="flow",
                aggregate="sum",
                plan=Plan(per_bucket=10_000.0),
                source="wms",
                cycle="2026-Q1",
            ),
            Kpi(
                "cost_per_delivery",
                "Cost per delivery",
                "ops",
                (),
                measure="ratio",
                direction="down",
                formula="delivery_cost / deliveries",
                feeds=(Feed("KR2", 1.0),),
            ),
            Kpi(
                "spend",
                "Route tool spend",
                "ops",
                ("maria",),
                measure="flow",
                direction="down",
                grain="month",
                aggregate="sum",
                plan=Plan(per_bucket=25_000.0),
                kind="cost",
                constraint=True,
            ),
            Kpi(
                "temperature",
                "Cold-chain temperature",
                "ops",
                ("raj",),
                direction="range",
                grain="day",
                aggregate="max",
                plan=Plan(band=(2.0, 8.0), per_bucket=5.0),
            ),
        ),
        initiatives=(Initiative("I1", "Route optimisation", "maria", "ops", ("KR2",), cost="spend"),),
        dependencies=(
            Dependency(
                "D1",
                "WMS integration API",
                Side("it", "raj"),
                Side("ops", "maria"),
                due=dt.date(2026, 2, 1),
                kpi="on_time",
                blocks=("KR1",),
            ),
        ),
        sources=(
            Source(
                "wms",
                "sql",
                dt.timedelta(hours=1),
                {"url": "env:WMS_DB_URL", "query": "SELECT 1", "batch": 500, "tables": ["a", "b"]},
            ),
            Source("finance", "csv"),
        ),
        policy=Policy(
            open_case_on=("red", "mirage"),
            default_tolerance=Tolerance(Threshold(0.04, True), Threshold(0.08, True)),
            sla=Sla(dt.timedelta(days=1), dt.timedelta(days=3, hours=12)),
            escalation=("owner", "unit_head"),
            auto_resolve_after=3,
            threat_weight=0.25,
            stale_after=3,
            at_risk_on="amber",
            approve_manual=True,
            review_weekday="friday",
        ),
        notify=(
            NotifyRoute("ops-chat", "env:OPS_SLACK_URL", units=("ops",), events=("case_opened",)),
            NotifyRoute("ceo-mail", "mailto://ceo", people=("ceo",), digest=True),
        ),
    )


def replace_kpi(model: Model, kpi_id: str, **changes: Any) -> Model:
    kpis = tuple(dataclasses.replace(k, **changes) if k.id == kpi_id else k for k in model.kpis)
    return dataclasses.replace(model, kpis=kpis)


def count(session: Session, row: type) -> int:
    return session.scalar(select(func.count()).select_from(row)) or 0


def test_saving_then_loading_gives_back_the_same_model(session: Session) -> None:
    model = acme()
    report = save_model(session, model, by="admin", now=NOW)
    assert report.added["kpis"] == 5
    assert report.plan_versions == 5
    assert load_model(session, "Acme Logistics") == model
    assert load_model(session) == model


def test_saving_the_same_model_twice_changes_nothing(session: Session) -> None:
    save_model(session, acme(), by="admin", now=NOW)
    rows_before = [count(session, row) for row in (UnitRow, KpiRow, FeedRow, PlanVersionRow)]
    report = save_model(session, acme(), by="admin", now=LATER)
    assert not report.changed, report.summary()
    assert [count(session, row) for row in (UnitRow, KpiRow, FeedRow, PlanVersionRow)] == rows_before
    assert session.scalars(select(KpiRow.updated_at).distinct()).all() == [NOW]


def test_a_removed_item_is_archived_and_its_history_kept(session: Session) -> None:
    model = acme()
    save_model(session, model, by="admin", now=NOW)
    smaller = dataclasses.replace(model, kpis=tuple(k for k in model.kpis if k.id != "on_time"))
    report = save_model(session, smaller, by="admin", now=LATER)
    assert report.archived == {"kpis": 1, "feeds": 2}
    assert [k.id for k in load_model(session).kpis] == ["orders", "cost_per_delivery", "spend", "temperature"]
    archived = session.scalars(select(KpiRow).where(KpiRow.id == "on_time")).one()
    assert archived.archived_at == LATER
    assert session.scalars(select(PlanVersionRow.subject).where(PlanVersionRow.subject == "on_time")).all()


def test_an_archived_item_that_returns_is_active_again(session: Session) -> None:
    model = acme()
    save_model(session, model, by="admin", now=NOW)
    save_model(session, dataclasses.replace(model, units=model.units[:2]), by="admin", now=LATER)
    report = save_model(session, model, by="admin", now=LATER)
    assert report.added == {"units": 1}
    assert load_model(session) == model


def test_a_changed_field_is_updated_in_place(session: Session) -> None:
    model = acme()
    save_model(session, model, by="admin", now=NOW)
    renamed = replace_kpi(model, "orders", title="Orders shipped", owners=("raj",))
    report = save_model(session, renamed, by="admin", now=LATER)
    assert report.updated == {"kpis": 1, "kpi_owners": 1}
    assert report.added.total() == 0
    assert load_model(session) == renamed
    assert count(session, KpiRow) == 5


def test_a_changed_plan_adds_a_version_from_today_and_keeps_the_old(session: Session) -> None:
    model = acme()
    first = save_model(session, model, by="admin", now=NOW)
    replanned = replace_kpi(model, "orders", plan=Plan(per_bucket=12_000.0))
    report = save_model(session, replanned, by="maria", now=LATER)
    assert report.plan_versions == 1
    versions = plan_versions(session, first.org_id)["orders"]
    assert [(v.version, v.effective, v.plan.per_bucket) for v in versions] == [
        (1, Q1.start, 10_000.0),
        (2, LATER.date(), 12_000.0),
    ]
    assert versions[1].approved_by == "maria"
    assert load_model(session) == replanned


def test_a_first_plan_is_in_force_from_the_start_of_its_cycle(session: Session) -> None:
    report = save_model(session, acme(), by="admin", now=NOW)
    versions = plan_versions(session, report.org_id)
    assert {subject: v[0].effective for subject, v in versions.items()} == {
        "on_time": Q1.start,
        "orders": Q1.start,
        "spend": Q1.start,
        "temperature": Q1.start,
        "KR2": Q1.start,
    }


def test_a_removed_plan_leaves_the_subject_unplanned(session: Session) -> None:
    model = acme()
    save_model(session, model, by="admin", now=NOW)
    report = save_model(session, replace_kpi(model, "spend", plan=None), by="admin", now=LATER)
    assert report.plan_versions == 1
    assert "spend" not in plan_versions(session, report.org_id)
    assert next(k for k in load_model(session).kpis if k.id == "spend").plan is None


def test_a_delivery_recorded_in_the_store_survives_a_model_without_one(session: Session) -> None:
    model = acme()
    save_model(session, model, by="admin", now=NOW)
    row = session.scalars(select(DependencyRow).where(DependencyRow.id == "D1")).one()
    row.delivered = dt.date(2026, 1, 28)
    report = save_model(session, model, by="admin", now=LATER)
    assert not report.changed
    assert load_model(session).dependencies[0].delivered == dt.date(2026, 1, 28)


def test_two_organisations_are_kept_apart(session: Session) -> None:
    save_model(session, acme(), by="admin", now=NOW)
    other = Model(org="Globex", units=(Unit("hq", "Headquarters"),))
    save_model(session, other, by="admin", now=NOW)
    assert load_model(session, "Globex") == other
    assert load_model(session, "Acme Logistics") == acme()
    with pytest.raises(OrgNotFoundError, match="several organisations"):
        load_model(session)


def test_saving_into_a_given_organisation_renames_it(session: Session) -> None:
    report = save_model(session, acme(), by="admin", now=NOW)
    renamed = dataclasses.replace(acme(), org="Acme Group")
    again = save_model(session, renamed, by="admin", now=LATER, org_id=report.org_id)
    assert again.updated["orgs"] == 1
    assert load_model(session) == renamed


def test_it_names_every_duplicate_id_and_dangling_link(session: Session) -> None:
    model = acme()
    broken = dataclasses.replace(
        model,
        units=(*model.units, Unit("ops", "Operations again")),
        kpis=(*model.kpis, Kpi("stray", "Stray", "ops", ("maria",), feeds=(Feed("KR9", 1.0),))),
    )
    with pytest.raises(ModelStoreError) as caught:
        save_model(session, broken, by="admin", now=NOW)
    assert "duplicate unit id 'ops'" in str(caught.value)
    assert "KPI 'stray' feeds unknown key result 'KR9'" in str(caught.value)


def test_it_refuses_a_naive_now(session: Session) -> None:
    with pytest.raises(ValueError, match="aware"):
        save_model(session, acme(), by="admin", now=dt.datetime(2026, 1, 5))


def test_loading_an_empty_store_says_what_to_do(session: Session) -> None:
    with pytest.raises(OrgNotFoundError, match="onpace load"):
        load_model(session)


# The demo organisation and the scenario models kept with the model-file tests.
MODEL_FILES = [
    REPO / "examples" / "onpace.yaml",
    REPO / "tests" / "modelfile" / "fixtures" / "broken-funnel.yaml",
    REPO / "tests" / "modelfile" / "fixtures" / "green-sheet.yaml",
]


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem if p.stem != "onpace" else "example")
def test_model_files_survive_save_load_export_and_load_again(session: Session, path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path.name} is not in the repository yet")
    modelfile = pytest.importorskip("onpace.modelfile")
    model = modelfile.load_model_file(path)
    save_model(session, model, by="admin", now=NOW)
    loaded = load_model(session, model.org)
    assert loaded == model
    exported = modelfile.parse_model_text(modelfile.dump_model(loaded), "exported.yaml")
    assert exported == model
    assert not save_model(session, exported, by="admin", now=LATER).changed


def test_the_time_zone_units_of_measure_and_check_in_window_survive_the_store(session: Session) -> None:
    from onpace.domain.model import Calendar

    model = dataclasses.replace(
        acme(),
        calendar=Calendar("monday", "Europe/Oslo"),
        policy=dataclasses.replace(acme().policy, checkin_valid_for=dt.timedelta(days=10)),
    )
    model = replace_kpi(model, model.kpis[0].id, uom="%")
    model = replace_kpi(model, model.kpis[1].id, uom="EUR")
    save_model(session, model, by="admin", now=NOW)
    loaded = load_model(session, "Acme Logistics")
    assert loaded == model
    assert loaded.calendar.timezone == "Europe/Oslo"
    assert [k.uom for k in loaded.kpis][:2] == ["%", "EUR"]
    changed = replace_kpi(model, model.kpis[0].id, uom="count")
    report = save_model(session, changed, by="admin", now=NOW)
    assert report.updated["kpis"] == 1
    assert load_model(session, "Acme Logistics").kpis[0].uom == "count"
