"""What-if: shift as-of actuals and list what flips."""

from __future__ import annotations

import pytest
from test_evaluate_world import WEEK_END, Row, daily, kpi, kr, model, objective, points, weekly

from onpace.domain.model import Model, Plan
from onpace.domain.whatif import Flip, Shift, what_if


def world() -> tuple[Model, list[Row]]:
    the_model = model(
        kpi("orders", feeds=(), plan=Plan(per_bucket=100.0)),
        kpi("uptime", plan=Plan(per_bucket=100.0)),
        objectives=[objective("O1", kr("KR1", kpi="orders", weight=2), kr("KR2", kpi="uptime", weight=1))],
    )
    rows = [*weekly("orders", [100.0]), *weekly("uptime", [100.0])]
    return the_model, rows


def test_a_slip_lists_the_kpi_its_kr_and_its_objective_that_flip() -> None:
    the_model, rows = world()
    flips = what_if(the_model, points(rows), WEEK_END[0], {"orders": Shift(pct=-12)})
    assert flips == [
        Flip("orders", "kpi", "green", "red"),
        Flip("KR1", "kr", "green", "red"),
        Flip("O1", "objective", "green", "amber"),
    ]


def test_a_small_slip_that_stays_in_tolerance_flips_nothing() -> None:
    the_model, rows = world()
    assert what_if(the_model, points(rows), WEEK_END[0], {"uptime": Shift(pct=-2)}) == []


def test_shifting_a_kr_measured_by_a_kpi_shifts_the_kpi() -> None:
    the_model, rows = world()
    flips = what_if(the_model, points(rows), WEEK_END[0], {"KR2": Shift(value=93.0)})
    assert Flip("uptime", "kpi", "green", "amber") in flips


def test_a_flow_kpi_can_be_set_to_a_cumulative_value() -> None:
    the_model = model(kpi("sales", measure="flow", aggregate="sum", plan=Plan(per_bucket=70.0)))
    rows = daily("sales", [10.0] * 14)
    assert what_if(the_model, points(rows), WEEK_END[1], {"sales": Shift(value=120.0)}) == [
        Flip("sales", "kpi", "green", "red")
    ]


def test_several_shifts_apply_together() -> None:
    the_model, rows = world()
    flips = what_if(
        the_model,
        points(rows),
        WEEK_END[0],
        {"orders": Shift(pct=-6), "uptime": Shift(pct=-20)},
    )
    assert {f.subject for f in flips} == {"orders", "uptime", "KR1", "KR2", "O1"}


def test_a_shift_needs_exactly_one_of_pct_or_value() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Shift()
    with pytest.raises(ValueError, match="exactly one"):
        Shift(pct=1.0, value=2.0)


def test_shifting_something_that_is_not_a_series_is_refused() -> None:
    the_model, rows = world()
    with pytest.raises(ValueError, match="'O1' is not a KPI"):
        what_if(the_model, points(rows), WEEK_END[0], {"O1": Shift(pct=5)})


def waste_world() -> tuple[Model, list[Row]]:
    """Waste value and fresh sales (flow) and waste % = waste / sales * 100, planned at 3.3 a week."""
    the_model = model(
        kpi("waste_value", measure="flow", aggregate="sum", direction="down", plan=Plan(per_bucket=330.0)),
        kpi("fresh_sales", measure="flow", aggregate="sum", plan=Plan(per_bucket=10000.0)),
        kpi(
            "waste_pct",
            formula="waste_value / fresh_sales * 100",
            direction="down",
            plan=Plan(per_bucket=3.3),
            feeds=(),
        ),
    )
    rows = [*weekly("waste_value", [330.0, 320.0]), *weekly("fresh_sales", [10000.0, 10000.0])]
    return the_model, rows


def test_a_shift_of_a_kpi_moves_the_formula_kpis_built_on_it() -> None:
    the_model, rows = waste_world()
    flips = what_if(the_model, points(rows), WEEK_END[1], {"waste_value": Shift(pct=50)})
    assert Flip("waste_value", "kpi", "green", "red") in flips
    assert Flip("waste_pct", "kpi", "green", "red") in flips


def test_a_formula_kpi_can_be_shifted_itself() -> None:
    the_model, rows = waste_world()
    flips = what_if(the_model, points(rows), WEEK_END[1], {"waste_pct": Shift(value=4.0)})
    assert flips == [Flip("waste_pct", "kpi", "green", "red")]


def test_a_kr_fed_by_a_kpi_that_turns_red_flips_to_threatened() -> None:
    from test_evaluate_world import feeding

    the_model = model(
        kpi("orders", plan=Plan(per_bucket=100.0), feeds=feeding("KR2", 0.5)),
        kpi("uptime", plan=Plan(per_bucket=100.0)),
        objectives=[objective("O1", kr("KR2", kpi="uptime"))],
    )
    rows = [*weekly("orders", [100.0]), *weekly("uptime", [100.0])]
    flips = what_if(the_model, points(rows), WEEK_END[0], {"orders": Shift(pct=-20)})
    assert Flip("KR2", "kr", "green", "threatened") in flips
