"""Formula KPIs: a safe parser, and ratios computed bucket by bucket from other KPIs."""

from __future__ import annotations

import polars as pl
import pytest
from test_evaluate_world import START, WEEK_END, daily, evaluate, kpi, model, result, weekly

from onpace.domain import formula as fx
from onpace.domain.graph import LinkCycleError
from onpace.domain.model import Plan


def compute(text: str, **columns: list[float | None]) -> list[float | None]:
    tree = fx.parse(text)
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.Float64))
    return frame.select(fx.to_expr(tree, {name: name for name in columns})).to_series().to_list()


def test_multiplication_binds_tighter_than_addition_and_parentheses_override() -> None:
    assert compute("a + b * 2", a=[1.0], b=[3.0]) == [7.0]
    assert compute("(a + b) * 2", a=[1.0], b=[3.0]) == [8.0]
    assert compute("-a - -b / 4", a=[1.0], b=[8.0]) == [1.0]
    assert compute("a / b / 2", a=[8.0], b=[2.0]) == [2.0]


def test_division_by_zero_gives_no_value_never_infinity() -> None:
    assert compute("a / b", a=[1.0, 0.0, 4.0], b=[0.0, 0.0, 2.0]) == [None, None, 2.0]


def test_a_missing_input_gives_no_value() -> None:
    assert compute("a + b", a=[1.0, None], b=[None, 2.0]) == [None, None]


def test_names_are_listed_once_in_first_use_order() -> None:
    assert fx.names(fx.parse("spend / (new_customers + spend) * 1e2")) == ("spend", "new_customers")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("a +", "ends where"),
        ("(a + b", "never closed"),
        ("a $ b", "column 3"),
        ("a b", "unexpected `b` at column 3"),
        ("__import__('os')", "not allowed"),
    ],
)
def test_a_bad_formula_is_refused_with_where_it_went_wrong(text: str, message: str) -> None:
    with pytest.raises(fx.FormulaError, match=message):
        fx.parse(text)


def test_a_ratio_kpi_divides_bucket_totals_not_averages_of_daily_ratios() -> None:
    the_model = model(
        kpi("spend", measure="flow", aggregate="sum"),
        kpi("customers", measure="flow", aggregate="sum"),
        kpi(
            "cac", measure="ratio", formula="spend / customers", plan=Plan(per_bucket=10.0), direction="down"
        ),
    )
    rows = [
        ("spend", START, 100.0),
        ("customers", START, 1.0),
        ("spend", START.replace(day=6), 100.0),
        ("customers", START.replace(day=6), 19.0),
    ]
    ev = evaluate(the_model, rows, WEEK_END[0])
    # Daily ratios 100 and 5.26 would average 52.6; the bucket ratio is 200 / 20.
    assert result(ev, "cac").actual_to_date == pytest.approx(10.0)
    assert result(ev, "cac").status == "green"


def test_a_formula_takes_each_input_with_that_inputs_own_aggregate() -> None:
    the_model = model(
        kpi("revenue", measure="flow", aggregate="sum"),
        kpi("headcount", aggregate="last"),
        kpi("per_head", formula="revenue / headcount", plan=Plan(per_bucket=1.0)),
    )
    rows = [*daily("revenue", [10.0] * 7), ("headcount", START, 50.0), ("headcount", WEEK_END[0], 35.0)]
    assert result(evaluate(the_model, rows, WEEK_END[0]), "per_head").actual_to_date == pytest.approx(2.0)


def test_a_bucket_dividing_by_zero_has_no_value_and_the_kpi_keeps_its_last_value() -> None:
    the_model = model(
        kpi("a", aggregate="sum"),
        kpi("b", aggregate="sum"),
        kpi("ratio", formula="a / b", plan=Plan(per_bucket=2.0)),
    )
    rows = [*weekly("a", [4.0, 4.0]), *weekly("b", [2.0, 0.0])]
    ev = evaluate(the_model, rows, WEEK_END[1])
    frame = ev.buckets.filter(subject="ratio").sort("bucket_start")
    assert frame["actual"].to_list()[:2] == [2.0, None]
    assert result(ev, "ratio").actual_to_date == 2.0


def test_a_formula_built_on_a_formula_is_expanded_to_its_inputs() -> None:
    the_model = model(
        kpi("a", aggregate="sum"),
        kpi("b", aggregate="sum"),
        kpi("total", formula="a + b"),
        kpi("share", formula="a / total", plan=Plan(per_bucket=0.5)),
    )
    ev = evaluate(the_model, [*weekly("a", [3.0]), *weekly("b", [1.0])], WEEK_END[0])
    assert result(ev, "share").actual_to_date == pytest.approx(0.75)


def test_a_formula_that_refers_back_to_itself_is_rejected() -> None:
    the_model = model(kpi("a", formula="b * 2"), kpi("b", formula="a + 1"))
    with pytest.raises(LinkCycleError, match="cycle"):
        evaluate(the_model, [], START)
