"""Reading valid model files into a Model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from modelfile_samples import EXAMPLE, FIXTURES, VALID_FILES

from onpace.domain.model import Feed, Plan, Threshold, Tolerance
from onpace.modelfile import ModelFileError, dump_model, load_model_file, parse_model_text, validate_file

PEOPLE = """
org: Tiny
units: [{id: ops, name: Operations, head: maria}]
people:
  - {id: maria, name: Maria Chen, unit: ops}
  - {id: raj, name: Raj Iyer, unit: ops}
cycles: [{id: Q1, start: 2026-01-05, end: 2026-03-29}]
"""


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_validate_file_finds_no_problem_in_the_fixtures_and_the_example(path: Path) -> None:
    assert validate_file(path) == []


def test_it_reads_the_broken_funnel_scenario() -> None:
    model = load_model_file(FIXTURES / "broken-funnel.yaml")
    assert model.org == "Ledgerly"
    assert [u.id for u in model.units] == ["exec", "growth", "eng", "sre"]
    assert model.unit("sre").parent == "eng"  # type: ignore[union-attr]
    kr1 = model.key_results[0]
    assert (kr1.id, kr1.objective, kr1.kpi, kr1.weight) == ("KR1", "O1", "active_users", 3.0)
    signup = next(k for k in model.kpis if k.id == "signup_completion")
    assert signup.feeds == (Feed("KR1", 0.7, 14),)
    assert signup.leading
    uptime = next(k for k in model.kpis if k.id == "server_uptime")
    assert uptime.tolerance == Tolerance(Threshold(0.2, False), Threshold(0.5, False))
    assert uptime.plan == Plan(per_bucket=99.9)
    assert model.policy.sla.explain == dt.timedelta(days=2)


def test_it_reads_a_comma_inside_a_flow_mapping_value_as_part_of_the_text() -> None:
    model = load_model_file(FIXTURES / "broken-funnel.yaml")
    assert model.key_results[0].title == "10,000 active users"


def test_it_reads_the_example_organisation_with_every_kind_of_kpi() -> None:
    model = load_model_file(EXAMPLE)
    kpis = {k.id: k for k in model.kpis}
    assert (len(model.units), len(model.objectives), len(model.key_results), len(kpis)) == (4, 2, 5, 8)
    assert {k.measure for k in kpis.values()} == {"flow", "level", "ratio"}
    assert kpis["fresh_waste_pct"].formula == "waste_value / fresh_sales * 100"
    assert kpis["fulfilment_spend"].kind == "cost"
    assert kpis["fresh_days_cover"].direction == "range"
    assert kpis["fresh_days_cover"].plan == Plan(per_bucket=4.0, band=(3.0, 5.0))
    assert kpis["fresh_sales"].constraint
    assert any(k.leading for k in kpis.values())
    assert model.initiatives[0].cost == "fulfilment_spend"
    assert model.dependencies[0].kpi == "substitution_rate"
    assert model.dependencies[0].delivered is None


def test_it_keeps_source_settings_and_env_references_verbatim() -> None:
    model = load_model_file(EXAMPLE)
    wms = next(s for s in model.sources if s.id == "wms")
    assert wms.kind == "http"
    assert wms.every == dt.timedelta(minutes=30)
    assert wms.options["url"] == "env:ONPACE_SOURCE_WMS_API_URL"
    assert wms.options["headers"] == {"Authorization": "env:ONPACE_SOURCE_WMS_API_TOKEN"}
    assert "every" not in wms.options
    assert model.notify[0].url == "env:ONPACE_ROUTE_ONLINE_SLACK_URL"


def test_it_fills_the_objective_of_each_key_result_from_its_parent() -> None:
    model = load_model_file(EXAMPLE)
    assert {kr.id: kr.objective for kr in model.key_results} == {
        "KR1": "O1",
        "KR2": "O1",
        "KR3": "O1",
        "KR4": "O2",
        "KR5": "O2",
    }


def test_it_accepts_several_owners_for_a_kpi_and_leaves_the_finding_to_hygiene() -> None:
    model = parse_model_text(PEOPLE + "kpis: [{id: k, owner: [maria, raj]}]\n")
    assert model.kpis[0].owners == ("maria", "raj")
    assert model.kpis[0].owner is None


def test_it_reads_a_formula_kpi_as_a_ratio_and_a_flow_kpi_as_summed() -> None:
    model = parse_model_text(
        PEOPLE
        + "kpis:\n"
        + "  - {id: cost, owner: maria, measure: flow}\n"
        + "  - {id: orders, owner: maria, measure: flow, aggregate: last}\n"
        + "  - {id: cpo, owner: maria, formula: cost / orders}\n"
    )
    cost, orders, cpo = model.kpis
    assert (cost.aggregate, orders.aggregate) == ("sum", "last")
    assert (cpo.measure, cpo.aggregate, cpo.title) == ("ratio", "mean", "cpo")


def test_it_sorts_plan_points_by_date() -> None:
    model = parse_model_text(
        PEOPLE + "kpis: [{id: k, owner: maria, plan: {points: {2026-03-01: 3, 2026-01-05: 1}}}]\n"
    )
    assert model.kpis[0].plan == Plan(points=((dt.date(2026, 1, 5), 1.0), (dt.date(2026, 3, 1), 3.0)))


def test_it_reads_policy_settings_beyond_the_design_example() -> None:
    model = parse_model_text(
        PEOPLE
        + "policy:\n  threat_weight: 0.5\n  stale_after: 3\n  at_risk_on: amber\n"
        + "  approve_manual: true\n  review_weekday: friday\n  sla: {explain: 12h}\n"
    )
    policy = model.policy
    assert (policy.threat_weight, policy.stale_after, policy.at_risk_on) == (0.5, 3, "amber")
    assert (policy.approve_manual, policy.review_weekday) == (True, "friday")
    assert (policy.sla.explain, policy.sla.act) == (dt.timedelta(hours=12), dt.timedelta(days=5))


def test_it_expands_yaml_anchors_and_merge_keys() -> None:
    model = parse_model_text(
        PEOPLE
        + "kpis:\n"
        + "  - &base {id: a, owner: maria, measure: flow, grain: day}\n"
        + "  - {<<: *base, id: b}\n"
    )
    assert [(k.id, k.measure, k.grain) for k in model.kpis] == [("a", "flow", "day"), ("b", "flow", "day")]


def test_loading_a_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ModelFileError) as caught:
        load_model_file(missing)
    assert [str(p) for p in caught.value.problems] == [f"{missing}:1: no such file"]


def test_it_reads_how_long_an_at_risk_projection_must_hold_and_exports_it_back() -> None:
    model = parse_model_text(PEOPLE + "policy:\n  at_risk_after: 3\n")
    assert model.policy.at_risk_after == 3
    assert "at_risk_after: 3" in dump_model(model)
    assert parse_model_text(dump_model(model)).policy.at_risk_after == 3


def test_an_at_risk_hold_of_zero_is_refused_where_it_is_written() -> None:
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(PEOPLE + "policy:\n  at_risk_after: 0\n", "m.yaml")
    assert "`at_risk_after` of `policy` is 0; it must be 1 or more" in str(caught.value)


SEASONAL = (
    PEOPLE.replace("cycles: [{id: Q1, start: 2026-01-05, end: 2026-03-29}]\n", "")
    + "cycles:\n  - {id: 2025-Q4, start: 2025-10-01, end: 2025-12-31}\n"
    + "  - {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}\n"
    + "kpis:\n  - {id: sales, owner: maria, grain: week, cycle: 2026-Q4, plan: {seasonal_from: 2025-Q4, growth: 5%}}\n"
)


def test_it_reads_a_seasonal_plan_and_exports_it_back() -> None:
    model = parse_model_text(SEASONAL)
    assert model.kpis[0].plan == Plan(seasonal_from="2025-Q4", growth=0.05)
    assert "plan: {seasonal_from: 2025-Q4, growth: 5%}" in dump_model(model)
    assert parse_model_text(dump_model(model)).kpis[0].plan == model.kpis[0].plan


def test_a_seasonal_plan_must_name_a_cycle_or_a_date_range_and_not_mix_forms() -> None:
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(SEASONAL.replace("seasonal_from: 2025-Q4", "seasonal_from: 2024-Q4"), "m.yaml")
    assert "`seasonal_from` of the plan of KPI `sales` is `2024-Q4`: name a cycle" in str(caught.value)
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(SEASONAL.replace("growth: 5%", "per_bucket: 3"), "m.yaml")
    assert "mixes per_bucket and seasonal_from" in str(caught.value)
    ranged = SEASONAL.replace("seasonal_from: 2025-Q4", "seasonal_from: 2025-10-01..2025-12-31")
    assert parse_model_text(ranged).kpis[0].plan.seasonal_from == "2025-10-01..2025-12-31"  # type: ignore[union-attr]
