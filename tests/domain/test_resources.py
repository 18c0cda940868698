"""Initiatives: spend and capacity against plan beside the KRs they support, starved and cost of progress."""

from __future__ import annotations

import pytest
from test_evaluate_world import WEEK_END, evaluate, kpi, kr, model, objective, weekly

from onpace.domain.model import Initiative, Plan


def world(capacity: float, spend: float, outcome: float) -> dict[str, object]:
    the_model = model(
        kpi("fte", kind="capacity", plan=Plan(per_bucket=10.0)),
        kpi(
            "spend",
            kind="cost",
            measure="flow",
            aggregate="sum",
            direction="down",
            plan=Plan(per_bucket=1000.0),
        ),
        kpi("outcome", plan=Plan(baseline=0, target=120)),
        objectives=[objective("O1", kr("KR1", kpi="outcome"))],
        initiatives=(
            Initiative("I1", "Rollout", "owner", None, supports=("KR1",), cost="spend", capacity="fte"),
        ),
    )
    rows = [*weekly("fte", [capacity]), *weekly("spend", [spend]), *weekly("outcome", [outcome])]
    frame = evaluate(the_model, rows, WEEK_END[0]).resources
    assert frame.height == 1
    return frame.row(0, named=True)


def test_an_initiative_is_starved_when_capacity_is_well_under_plan_while_its_kr_is_off_track() -> None:
    row = world(capacity=8.0, spend=1000.0, outcome=7.0)
    assert row["kr_status"] == "red"
    assert row["capacity_variance_pct"] == pytest.approx(-0.2)
    assert row["starved"] is True


def test_under_plan_resources_are_not_starved_while_the_kr_is_on_track() -> None:
    assert world(capacity=8.0, spend=500.0, outcome=10.0)["starved"] is False


def test_an_under_spent_budget_starves_an_off_track_kr_but_overspending_never_does() -> None:
    assert world(capacity=10.0, spend=800.0, outcome=7.0)["starved"] is True
    assert world(capacity=10.0, spend=1500.0, outcome=7.0)["starved"] is False


def test_cost_of_progress_is_progress_to_date_per_unit_spent() -> None:
    row = world(capacity=10.0, spend=1000.0, outcome=6.0)
    assert row["progress"] == pytest.approx(0.05)  # 6 of the planned move of 120
    assert row["cost_of_progress"] == pytest.approx(0.05 / 1000.0)
    assert row["spend_plan"] == pytest.approx(1000.0)


def test_an_initiative_supporting_no_kr_still_reports_its_resources() -> None:
    the_model = model(
        kpi("fte", kind="capacity", plan=Plan(per_bucket=10.0)),
        initiatives=(Initiative("I1", "Rollout", "owner", None, capacity="fte"),),
    )
    row = evaluate(the_model, weekly("fte", [10.0]), WEEK_END[0]).resources.row(0, named=True)
    assert (row["kr"], row["capacity"], row["starved"]) == (None, 10.0, False)
