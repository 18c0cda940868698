"""Hygiene findings: owners, KPI pollution, leading indicators, sources without data, plans."""

from __future__ import annotations

import dataclasses
import datetime as dt

from test_governance_world import result, results, with_policy, world

from onpace.domain.hygiene import formula_inputs, hygiene_findings, kpis_reaching_a_kr
from onpace.domain.model import Dependency, Feed, Initiative, Kpi, Model, Side, Source

DAY = dt.date(2026, 1, 18)


def rules(model: Model, found: object = None, as_of: dt.date = DAY, **kw: object) -> list[tuple[str, str]]:
    return [
        (f.subject, f.rule)
        for f in hygiene_findings(model, found if found is not None else results(), as_of, **kw)  # type: ignore[arg-type]
    ]


def replace_kpi(model: Model, kpi_id: str, **changes: object) -> Model:
    kpis = tuple(dataclasses.replace(k, **changes) if k.id == kpi_id else k for k in model.kpis)  # type: ignore[arg-type]
    return dataclasses.replace(model, kpis=kpis)


def add_kpi(model: Model, kpi: Kpi) -> Model:
    return dataclasses.replace(model, kpis=(*model.kpis, kpi))


def test_a_healthy_model_has_no_findings() -> None:
    assert rules(world()) == []


def test_a_kpi_with_no_owner_is_a_finding() -> None:
    assert rules(replace_kpi(world(), "throughput", owners=())) == [("throughput", "no_owner")]


def test_a_kpi_with_several_owners_is_a_finding() -> None:
    assert rules(replace_kpi(world(), "throughput", owners=("lee", "maria"))) == [
        ("throughput", "several_owners")
    ]


def test_a_kpi_with_no_path_to_any_kr_is_kpi_pollution() -> None:
    model = add_kpi(world(), Kpi("vanity", "Page views", "ops", ("lee",), plan=world().kpis[0].plan))
    assert rules(model, {**results(), "vanity": result("vanity")}) == [("vanity", "kpi_pollution")]


def test_a_constraint_kpi_needs_no_path() -> None:
    model = add_kpi(
        world(), Kpi("safety", "Incidents", "ops", ("lee",), plan=world().kpis[0].plan, constraint=True)
    )
    assert rules(model, {**results(), "safety": result("safety")}) == []


def test_formula_inputs_reach_what_their_formula_reaches() -> None:
    model = add_kpi(world(), Kpi("cost", "Cost", "ops", ("lee",), plan=world().kpis[0].plan))
    model = add_kpi(model, Kpi("orders", "Orders", "ops", ("lee",), plan=world().kpis[0].plan))
    model = add_kpi(
        model,
        Kpi("cpo", "Cost per order", "ops", ("lee",), formula="cost / orders", feeds=(Feed("KR1", 0.5),)),
    )
    reaching = kpis_reaching_a_kr(model)
    assert {"cost", "orders", "cpo"} <= reaching
    assert formula_inputs("(cost + 2) / orders * cost", {"cost", "orders"}) == ["cost", "orders"]


def test_initiative_resources_and_dependency_health_kpis_reach_the_krs_they_serve() -> None:
    plan = world().kpis[0].plan
    model = add_kpi(world(), Kpi("spend", "Spend", "ops", ("lee",), plan=plan, kind="cost"))
    model = add_kpi(model, Kpi("api_errors", "API errors", "it", ("raj",), plan=plan))
    model = dataclasses.replace(
        model,
        initiatives=(Initiative("I1", "Rollout", "lee", "ops", supports=("KR1",), cost="spend"),),
        dependencies=(
            Dependency(
                "D2", "API", Side("it", "raj"), Side("ops", "maria"), DAY, kpi="api_errors", blocks=("KR2",)
            ),
        ),
    )
    assert {"spend", "api_errors"} <= kpis_reaching_a_kr(model)


def test_a_kr_with_no_leading_indicator_is_a_finding_on_the_kr() -> None:
    model = replace_kpi(world(), "lab_yield", leading=False)
    assert rules(model) == [("KR2", "no_leading_indicator")]


def test_a_kr_whose_own_kpi_is_leading_has_a_leading_indicator() -> None:
    model = replace_kpi(world(), "lab_yield", leading=False)
    model = replace_kpi(model, "throughput", feeds=(Feed("KR2", 0.4),))
    assert rules(model) == [("KR2", "no_leading_indicator")]
    kr2 = dataclasses.replace(model.objectives[0].key_results[1], kpi="sync_errors", plan=None)
    objective = dataclasses.replace(
        model.objectives[0], key_results=(model.objectives[0].key_results[0], kr2)
    )
    assert rules(dataclasses.replace(model, objectives=(objective,))) == []


def test_a_kpi_with_no_plan_is_unplanned() -> None:
    found = {**results(), "throughput": result("throughput", "unplanned")}
    assert rules(world(), found) == [("throughput", "unplanned")]
    assert rules(replace_kpi(world(), "throughput", plan=None), {}) == [("throughput", "unplanned")]


def test_a_source_with_no_data_is_a_finding_once_the_stale_window_has_passed() -> None:
    model = dataclasses.replace(world(), sources=(*world().sources, Source("crm", "push")))
    model = replace_kpi(model, "lab_yield", source="crm")
    silent = {**results(), "lab_yield": result("lab_yield", "no_data", last_point=None)}
    early = dt.date(2026, 1, 11)
    assert rules(model, silent, as_of=early) == []
    assert rules(model, silent, as_of=dt.date(2026, 1, 19)) == [("crm", "source_no_data")]


def test_the_stores_knowledge_of_sources_overrides_the_results() -> None:
    assert rules(world(), as_of=dt.date(2026, 1, 19), sources_with_data=set()) == [("wms", "source_no_data")]
    assert rules(world(), as_of=dt.date(2026, 1, 19), sources_with_data={"wms"}) == []


def test_a_longer_stale_window_waits_longer_for_a_source() -> None:
    model = with_policy(world(), stale_after=4)
    silent = {k: result(k, last_point=None) for k in results()}
    assert rules(model, silent, as_of=DAY) == []
    assert rules(model, silent, as_of=dt.date(2026, 2, 2)) == [("wms", "source_no_data")]
