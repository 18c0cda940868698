"""Cycles over time: a KPI is judged in the cycle in force as of the date, against that cycle's plan."""

from __future__ import annotations

import datetime as dt

import pytest
from test_evaluate_world import evaluate, kpi, kr, model, objective

from onpace.domain import cycles
from onpace.domain.hygiene import hygiene_findings
from onpace.domain.model import Cycle, CyclePlan, Objective, Plan, PlanVersion

Q1 = Cycle("2026-Q1", dt.date(2026, 1, 5), dt.date(2026, 4, 5))
Q2 = Cycle("2026-Q2", dt.date(2026, 4, 6), dt.date(2026, 7, 5))
YEAR = Cycle("2026", dt.date(2026, 1, 5), dt.date(2027, 1, 3))
MID_MAY = dt.date(2026, 5, 17)


def weeks(first: dt.date, values: list[float], metric: str = "orders") -> list[tuple[str, dt.date, float]]:
    return [(metric, first + dt.timedelta(days=7 * i + 2), v) for i, v in enumerate(values)]


def orders(**fields: object) -> object:
    values: dict[str, object] = {
        "plan": Plan(per_bucket=100),
        "measure": "flow",
        "aggregate": "sum",
        "cycle": None,
    }
    values.update(fields)
    return kpi("orders", **values)


HALVED = weeks(Q1.start, [100.0] * 13) + weeks(Q2.start, [50.0] * 6)


def test_a_kpi_whose_actual_halves_in_q2_reads_red_in_mid_may_against_its_q2_plan() -> None:
    the_model = model(orders(plans=(CyclePlan("2026-Q2", Plan(per_bucket=100)),)), cycles=(Q1, Q2))
    found = evaluate(the_model, HALVED, MID_MAY).results["orders"]
    assert found.status == "red"
    assert found.plan_to_date == pytest.approx(600)
    assert found.actual_to_date == pytest.approx(300)
    assert evaluate(the_model, HALVED, MID_MAY).subjects.filter(subject="orders")["cycle"][0] == "2026-Q2"


def test_a_kpi_with_no_plan_in_the_new_cycle_is_unplanned_with_a_hygiene_finding_naming_it() -> None:
    the_model = model(orders(), cycles=(Q1, Q2))
    results = evaluate(the_model, HALVED, MID_MAY).results
    assert results["orders"].status == "unplanned"
    said = [f.message for f in hygiene_findings(the_model, results, MID_MAY) if f.rule == "unplanned"]
    assert said == ["KPI orders has no plan for cycle 2026-Q2"]
    # In Q1 the same KPI is judged against its Q1 plan, as before.
    assert evaluate(the_model, HALVED, dt.date(2026, 3, 29)).results["orders"].status == "green"


def test_a_one_cycle_model_judges_every_date_in_its_one_cycle() -> None:
    the_model = model(orders(), cycles=(Q1,))
    for day in (dt.date(2025, 12, 1), Q1.start, dt.date(2026, 2, 1), dt.date(2026, 9, 1)):
        assert cycles.kpi_cycles_in_force(the_model, day)["orders"] == Q1
        assert cycles.objective_cycles_in_force(the_model, day) == (Q1,)


def test_a_quarters_plan_beats_the_years_plan_and_the_years_plan_covers_unplanned_quarters() -> None:
    the_model = model(
        orders(
            plan=None,
            plans=(
                CyclePlan("2026", Plan(baseline=0, target=5200)),
                CyclePlan("2026-Q2", Plan(per_bucket=80)),
            ),
        ),
        cycles=(YEAR, Q1, Q2),
    )
    assert cycles.kpi_cycles_in_force(the_model, MID_MAY)["orders"] == Q2
    assert cycles.kpi_cycles_in_force(the_model, dt.date(2026, 2, 1))["orders"] == YEAR
    assert cycles.kpi_cycles_in_force(the_model, dt.date(2026, 9, 1))["orders"] == YEAR


def test_a_kpi_that_starts_in_a_later_cycle_waits_for_it_without_a_finding() -> None:
    later = orders(plan=None, plans=(CyclePlan("2026-Q2", Plan(per_bucket=100)),))
    the_model = model(later, cycles=(Q1, Q2))
    assert cycles.kpi_cycles_in_force(the_model, dt.date(2026, 2, 1))["orders"] == Q2
    assert evaluate(the_model, [], dt.date(2026, 2, 1)).results["orders"].status == "no_data"


def test_between_cycles_the_last_cycle_ended_is_in_force() -> None:
    gap = Cycle("2026-Q2", dt.date(2026, 4, 20), dt.date(2026, 7, 5))
    the_model = model(orders(plans=(CyclePlan("2026-Q2", Plan(per_bucket=100)),)), cycles=(Q1, gap))
    assert cycles.kpi_cycles_in_force(the_model, dt.date(2026, 4, 12))["orders"] == Q1


def test_plan_versions_of_another_cycle_never_leak_into_the_cycle_in_force() -> None:
    the_model = model(orders(plans=(CyclePlan("2026-Q2", Plan(per_bucket=100)),)), cycles=(Q1, Q2))
    stored = {
        "orders": [
            PlanVersion("orders", 1, Q1.start, Plan(per_bucket=100)),
            PlanVersion("orders", 2, dt.date(2026, 2, 2), Plan(per_bucket=40), cycle=None),
            PlanVersion("orders", 3, Q2.start, Plan(per_bucket=100), cycle="2026-Q2"),
        ]
    }
    kept = cycles.versions_as_of(the_model, stored, MID_MAY)
    assert kept is not None
    assert [v.version for v in kept["orders"]] == [3]
    assert evaluate(the_model, HALVED, MID_MAY, stored).results["orders"].status == "red"


def test_a_dated_plans_item_is_a_rebaseline_from_its_day() -> None:
    the_model = model(
        orders(
            plans=(
                CyclePlan("2026-Q2", Plan(per_bucket=100)),
                CyclePlan("2026-Q2", Plan(per_bucket=50), dt.date(2026, 5, 4)),
            )
        ),
        cycles=(Q1, Q2),
    )
    found = evaluate(the_model, HALVED, MID_MAY).results["orders"]
    assert found.plan_to_date == pytest.approx(4 * 100 + 2 * 50)


def q_objective(objective_id: str, cycle: Cycle) -> Objective:
    base = objective(objective_id, kr(f"{objective_id}-KR", kpi="orders", objective=objective_id))
    return Objective(base.id, base.title, cycle.id, None, "owner", key_results=base.key_results)


def test_an_open_past_cycle_is_judged_as_of_its_end_until_it_is_closed() -> None:
    the_model = model(
        orders(plans=(CyclePlan("2026-Q2", Plan(per_bucket=100)),)),
        objectives=(q_objective("OQ1", Q1), q_objective("OQ2", Q2)),
        cycles=(Q1, Q2),
    )
    short_q1 = weeks(Q1.start, [100.0] * 6 + [50.0] * 7) + weeks(Q2.start, [100.0] * 6)
    results = evaluate(the_model, short_q1, MID_MAY).results
    assert results["OQ1-KR"].status == "red"  # Q1's KR on Q1's figures, not the KPI's Q2 ones
    assert results["OQ2-KR"].status == "green"
    assert results["OQ1-KR"].as_of == MID_MAY
    assert cycles.open_past_cycles(the_model, MID_MAY) == (Q1,)
    from test_evaluate_world import points

    from onpace.domain.engine import evaluate_model

    closed = evaluate_model(the_model, points(short_q1), MID_MAY, closed={"2026-Q1"}).results
    assert "OQ1-KR" not in closed
    assert "OQ1" not in closed


def test_the_earliest_needed_date_is_the_start_of_the_earliest_cycle_in_force() -> None:
    the_model = model(
        orders(plans=(CyclePlan("2026-Q2", Plan(per_bucket=100)),)),
        objectives=(q_objective("OQ1", Q1), q_objective("OQ2", Q2)),
        cycles=(Q1, Q2),
    )
    assert cycles.earliest_needed_date(the_model, MID_MAY) == Q1.start
    assert cycles.earliest_needed_date(the_model, MID_MAY, closed={"2026-Q1"}) == Q2.start
    week = dt.timedelta(days=7)
    assert cycles.earliest_needed_date(the_model, MID_MAY, week, closed={"2026-Q1"}) == Q2.start - week
    assert cycles.earliest_needed_date(model(orders(), cycles=()), MID_MAY) is None


def test_the_krs_of_a_closed_or_later_cycle_raise_no_hygiene_findings() -> None:
    the_model = model(
        orders(plans=(CyclePlan("2026-Q2", Plan(per_bucket=100)),)),
        objectives=(q_objective("OQ1", Q1), q_objective("OQ2", Q2)),
        cycles=(Q1, Q2),
    )
    from test_evaluate_world import points

    from onpace.domain.engine import evaluate_model

    open_q1 = evaluate_model(the_model, points(HALVED), MID_MAY).results
    closed_q1 = evaluate_model(the_model, points(HALVED), MID_MAY, closed={"2026-Q1"}).results
    about = {f.subject for f in hygiene_findings(the_model, open_q1, MID_MAY) if f.level == "kr"}
    assert about == {"OQ1-KR", "OQ2-KR"}  # no leading indicator, while both are judged
    about = {f.subject for f in hygiene_findings(the_model, closed_q1, MID_MAY) if f.level == "kr"}
    assert about == {"OQ2-KR"}
    in_q1 = evaluate_model(the_model, points(HALVED), dt.date(2026, 2, 1)).results
    assert {
        f.subject for f in hygiene_findings(the_model, in_q1, dt.date(2026, 2, 1)) if f.level == "kr"
    } == {"OQ1-KR"}
