"""Roll-up to KRs and objectives, threatened KRs with their cause, and impact path weights."""

from __future__ import annotations

import polars as pl
import pytest
from test_evaluate_world import WEEK_END, evaluate, feeding, kpi, kr, model, objective, result, weekly

from onpace.domain.model import Feed, Policy


def test_a_kr_measured_by_a_kpi_takes_that_kpis_figures() -> None:
    the_model = model(kpi("k"), objectives=[objective("O1", kr("KR1", kpi="k"))])
    ev = evaluate(the_model, weekly("k", [92.0]), WEEK_END[0])
    r = result(ev, "KR1")
    assert (r.level, r.status, r.actual_to_date, r.plan_to_date) == ("kr", "amber", 92.0, 100.0)
    row = ev.subjects.filter(subject="KR1")
    assert row["source"].item() == "kpi"
    assert row["series"].item() == "k"


def test_a_kr_without_its_own_measure_combines_its_feeding_kpis_by_weight() -> None:
    the_model = model(
        kpi("good", feeds=feeding("KR1", 0.2)),
        kpi("bad", feeds=feeding("KR1", 0.8)),
        objectives=[objective("O1", kr("KR1"))],
    )
    ev = evaluate(the_model, [*weekly("good", [100.0]), *weekly("bad", [80.0])], WEEK_END[0])
    r = result(ev, "KR1")
    assert r.status == "red"  # 0.2 × 0 + 0.8 × 2 = 1.6
    assert r.attainment == pytest.approx(0.2 * 1.0 + 0.8 * 0.8)


def test_an_objective_is_the_weighted_mean_of_its_kr_scores() -> None:
    the_model = model(
        kpi("a"),
        kpi("b"),
        kpi("c"),
        objectives=[
            objective(
                "O1", kr("KR1", kpi="a", weight=1), kr("KR2", kpi="b", weight=1), kr("KR3", kpi="c", weight=2)
            )
        ],
    )
    rows = [*weekly("a", [80.0]), *weekly("b", [80.0]), *weekly("c", [100.0])]
    assert result(evaluate(the_model, rows, WEEK_END[0]), "O1").status == "amber"  # (2 + 2 + 0) / 4 = 1
    rows = [*weekly("a", [80.0]), *weekly("b", [80.0]), *weekly("c", [80.0])]
    assert result(evaluate(the_model, rows, WEEK_END[0]), "O1").status == "red"


def test_an_objective_is_never_green_while_a_third_of_its_weight_is_amber_or_worse() -> None:
    the_model = model(
        kpi("a"),
        kpi("b"),
        kpi("c"),
        objectives=[
            objective(
                "O1", kr("KR1", kpi="a", weight=1), kr("KR2", kpi="b", weight=1), kr("KR3", kpi="c", weight=1)
            )
        ],
    )
    rows = [*weekly("a", [94.0]), *weekly("b", [100.0]), *weekly("c", [100.0])]
    assert result(evaluate(the_model, rows, WEEK_END[0]), "O1").status == "amber"  # mean 1/3 < 0.5


def test_krs_without_data_are_left_out_of_the_objective() -> None:
    the_model = model(
        kpi("a"), kpi("b"), objectives=[objective("O1", kr("KR1", kpi="a"), kr("KR2", kpi="b"))]
    )
    ev = evaluate(the_model, weekly("a", [100.0]), WEEK_END[0])
    assert result(ev, "KR2").status == "no_data"
    assert result(ev, "O1").status == "green"
    assert result(evaluate(the_model, [], WEEK_END[0]), "O1").status == "no_data"


def test_a_kr_with_nothing_to_measure_it_is_unplanned() -> None:
    the_model = model(objectives=[objective("O1", kr("KR1"))])
    ev = evaluate(the_model, [], WEEK_END[0])
    assert result(ev, "KR1").status == "unplanned"
    assert result(ev, "O1").status == "unplanned"


def test_an_at_risk_kr_counts_as_amber_and_the_objective_inherits_the_projected_miss() -> None:
    the_model = model(kpi("k"), objectives=[objective("O1", kr("KR1", kpi="k"))])
    # Eight weeks of a steady slide: a trend is projected from the eighth bucket on.
    ev = evaluate(the_model, weekly("k", [100.0 - i for i in range(8)]), WEEK_END[7])
    assert result(ev, "KR1").effective_status == "at_risk"
    o1 = result(ev, "O1")
    assert o1.status == "amber"  # an at-risk KR scores 1
    assert o1.at_risk is True  # its projection is red


def test_a_kr_is_threatened_by_a_red_kpi_feeding_it_enough_and_names_the_cause() -> None:
    the_model = model(
        kpi("heavy", feeds=feeding("KR1", 0.5, lag_days=14)),
        kpi("light", feeds=feeding("KR1", 0.1)),
        kpi("measure"),
        objectives=[objective("O1", kr("KR1", kpi="measure"))],
    )
    rows = [*weekly("heavy", [70.0]), *weekly("light", [70.0]), *weekly("measure", [100.0])]
    ev = evaluate(the_model, rows, WEEK_END[0])
    r = result(ev, "KR1")
    assert r.status == "green"
    assert r.threatened_by == ("heavy",)  # the lag never delays the signal
    assert ev.threats.rows() == [("KR1", "heavy", 0.5)]


def test_the_threat_weight_comes_from_the_policy() -> None:
    the_model = model(
        kpi("light", feeds=feeding("KR1", 0.1)),
        objectives=[objective("O1", kr("KR1"))],
        policy=Policy(threat_weight=0.1),
    )
    assert result(evaluate(the_model, weekly("light", [70.0]), WEEK_END[0]), "KR1").threatened_by == (
        "light",
    )


def test_an_at_risk_kpi_threatens_too() -> None:
    the_model = model(
        kpi("k", feeds=feeding("KR1", 0.4)), kpi("m"), objectives=[objective("O1", kr("KR1", kpi="m"))]
    )
    rows = [*weekly("k", [100.0 - i for i in range(8)]), *weekly("m", [100.0] * 8)]
    assert result(evaluate(the_model, rows, WEEK_END[7]), "KR1").threatened_by == ("k",)


def test_impact_lists_every_kr_and_objective_an_off_track_kpi_reaches_with_path_weights() -> None:
    the_model = model(
        kpi("k", feeds=(Feed("KR1", 0.6), Feed("KR3", 0.5))),
        kpi("m"),
        kpi("n"),
        objectives=[
            objective("O1", kr("KR1", kpi="m", weight=3), kr("KR2", kpi="n", weight=1)),
            objective("O2", kr("KR3", objective="O2")),
        ],
    )
    rows = [*weekly("k", [92.0]), *weekly("m", [100.0]), *weekly("n", [100.0])]
    impact = evaluate(the_model, rows, WEEK_END[0]).impact
    got = {(row["subject"], row["level"]): row["path_weight"] for row in impact.iter_rows(named=True)}
    assert got == pytest.approx(
        {("KR1", "kr"): 0.6, ("KR3", "kr"): 0.5, ("O1", "objective"): 0.45, ("O2", "objective"): 0.5}
    )
    assert set(impact["kpi"].to_list()) == {"k"}


def test_impact_follows_formulas_built_from_an_off_track_kpi() -> None:
    the_model = model(
        kpi("spend", aggregate="sum"),
        kpi("cac", formula="spend / 2", feeds=feeding("KR1", 0.5)),
        objectives=[objective("O1", kr("KR1"))],
    )
    impact = evaluate(the_model, weekly("spend", [50.0]), WEEK_END[0]).impact
    assert ("spend", "KR1", "kr", 0.5) in impact.rows()


def test_nothing_on_track_has_no_impact() -> None:
    the_model = model(kpi("k", feeds=feeding("KR1", 1.0)), objectives=[objective("O1", kr("KR1"))])
    impact = evaluate(the_model, weekly("k", [100.0]), WEEK_END[0]).impact
    assert impact.height == 0
    assert impact.schema == pl.Schema(
        {"kpi": pl.Utf8, "subject": pl.Utf8, "level": pl.Utf8, "path_weight": pl.Float64}
    )
