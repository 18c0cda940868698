"""Lead-lag check: does a KPI declared leading move before the KR it feeds?"""

from __future__ import annotations

import numpy as np
import pytest
from test_evaluate_world import WEEK_END, evaluate, feeding, kpi, kr, model, objective, weekly

from onpace.domain.model import Plan


def test_a_kpi_whose_moves_reach_the_kr_two_weeks_later_leads_by_two() -> None:
    rng = np.random.default_rng(5)
    driver = 100 + np.cumsum(rng.normal(0, 3, 12))
    outcome = np.concatenate([[50.0, 50.0], 50 + (driver[:-2] - 100) * 0.5])
    the_model = model(
        kpi("driver", leading=True, feeds=feeding("KR1", 0.5, lag_days=14)),
        kpi("outcome", plan=Plan(per_bucket=50.0)),
        kpi("noise", leading=True, feeds=feeding("KR1", 0.5)),
        objectives=[objective("O1", kr("KR1", kpi="outcome"))],
    )
    rows = [
        *weekly("driver", driver.tolist()),
        *weekly("outcome", outcome.tolist()),
        *weekly("noise", (100 + rng.normal(0, 3, 12)).tolist()),
    ]
    frame = evaluate(the_model, rows, WEEK_END[11]).leadlag
    driver_row = frame.filter(kpi="driver").row(0, named=True)
    assert driver_row["best_lag"] == 2
    assert driver_row["best_corr"] == pytest.approx(1.0)
    assert driver_row["leads"] is True
    assert driver_row["grain"] == "week"
    assert frame.filter(kpi="noise")["leads"].item() is False


def test_a_link_without_enough_history_has_no_correlation() -> None:
    the_model = model(
        kpi("driver", feeds=feeding("KR1", 0.5)),
        kpi("outcome"),
        objectives=[objective("O1", kr("KR1", kpi="outcome"))],
    )
    rows = [*weekly("driver", [1.0, 2.0]), *weekly("outcome", [1.0, 2.0])]
    row = evaluate(the_model, rows, WEEK_END[1]).leadlag.row(0, named=True)
    assert row["corr_0"] is None
    assert row["best_lag"] is None
    assert row["leads"] is False


def test_a_falling_down_kpi_that_lifts_an_up_kr_correlates_positively() -> None:
    rng = np.random.default_rng(9)
    errors = 5 + np.abs(np.cumsum(rng.normal(0, 1, 12)))
    score = 80 - errors * 2
    the_model = model(
        kpi("errors", direction="down", feeds=feeding("KR1", 0.5)),
        kpi("score"),
        objectives=[objective("O1", kr("KR1", kpi="score"))],
    )
    rows = [*weekly("errors", errors.tolist()), *weekly("score", score.tolist())]
    row = evaluate(the_model, rows, WEEK_END[11]).leadlag.row(0, named=True)
    assert row["corr_0"] == pytest.approx(1.0)


def test_twelve_points_are_too_few_for_a_lag_of_more_than_a_third_of_them() -> None:
    rng = np.random.default_rng(11)
    driver = 100 + np.cumsum(rng.normal(0, 3, 12))
    outcome = np.concatenate([[50.0] * 7, 50 + (driver[:-7] - 100) * 0.5])
    the_model = model(
        kpi("driver", leading=True, feeds=feeding("KR1", 0.5)),
        kpi("outcome"),
        objectives=[objective("O1", kr("KR1", kpi="outcome"))],
    )
    rows = [*weekly("driver", driver.tolist()), *weekly("outcome", outcome.tolist())]
    row = evaluate(the_model, rows, WEEK_END[11]).leadlag.row(0, named=True)
    assert row["corr_7"] is None
    assert row["corr_4"] is None  # 11 changes: lags up to 3 only
    assert row["best_lag"] != 7


def test_a_lag_is_reported_in_buckets_of_the_links_grain_with_the_pairs_behind_it() -> None:
    rng = np.random.default_rng(5)
    driver = 100 + np.cumsum(rng.normal(0, 3, 12))
    outcome = np.concatenate([[50.0, 50.0], 50 + (driver[:-2] - 100) * 0.5])
    the_model = model(
        kpi("driver", leading=True, feeds=feeding("KR1", 0.5, lag_days=14)),
        kpi("outcome"),
        objectives=[objective("O1", kr("KR1", kpi="outcome"))],
    )
    rows = [*weekly("driver", driver.tolist()), *weekly("outcome", outcome.tolist())]
    row = evaluate(the_model, rows, WEEK_END[11]).leadlag.row(0, named=True)
    assert (row["best_lag"], row["grain"], row["pairs"], row["lag_days"]) == (2, "week", 9, 14)


def test_a_leading_kpi_that_does_not_lead_is_a_hygiene_finding() -> None:
    from onpace.domain.leadlag import not_leading_findings

    rng = np.random.default_rng(3)
    the_model = model(
        kpi("noise", leading=True, feeds=feeding("KR1", 0.5)),
        kpi("driver", leading=True, feeds=feeding("KR1", 0.5)),
        kpi("outcome"),
        objectives=[objective("O1", kr("KR1", kpi="outcome"))],
    )
    driver = 100 + np.cumsum(rng.normal(0, 3, 12))
    outcome = np.concatenate([[50.0], 50 + (driver[:-1] - 100) * 0.5])
    rows = [
        *weekly("noise", (100 + rng.normal(0, 3, 12)).tolist()),
        *weekly("driver", driver.tolist()),
        *weekly("outcome", outcome.tolist()),
    ]
    findings = not_leading_findings(the_model, evaluate(the_model, rows, WEEK_END[11]).leadlag)
    assert [(f.subject, f.rule) for f in findings] == [("noise", "not_leading")]
    early = evaluate(the_model, rows[:5] + rows[12:17] + rows[24:29], WEEK_END[4]).leadlag
    assert not_leading_findings(the_model, early) == []


def test_the_shown_lags_say_their_unit() -> None:
    from onpace.services.subject_view import leadlag_rows

    rng = np.random.default_rng(5)
    driver = 100 + np.cumsum(rng.normal(0, 3, 12))
    outcome = np.concatenate([[50.0, 50.0], 50 + (driver[:-2] - 100) * 0.5])
    the_model = model(
        kpi("driver", leading=True, feeds=feeding("KR1", 0.5, lag_days=14)),
        kpi("outcome"),
        objectives=[objective("O1", kr("KR1", kpi="outcome"))],
    )
    rows = [*weekly("driver", driver.tolist()), *weekly("outcome", outcome.tolist())]
    (shown,) = leadlag_rows(evaluate(the_model, rows, WEEK_END[11]).leadlag)
    assert (shown["declared_lag"], shown["measured_lag"], shown["pairs"]) == ("14 days", "2 weeks", 9)
    assert "lag_days" not in shown


def test_a_leading_kpi_whose_effect_lands_in_the_same_week_is_no_finding() -> None:
    from onpace.domain.leadlag import not_leading_findings

    rng = np.random.default_rng(4)
    driver = 100 + np.cumsum(rng.normal(0, 3, 12))
    the_model = model(
        kpi("driver", leading=True, feeds=feeding("KR1", 0.5)),
        kpi("outcome"),
        objectives=[objective("O1", kr("KR1", kpi="outcome"))],
    )
    rows = [*weekly("driver", driver.tolist()), *weekly("outcome", (driver * 0.5).tolist())]
    assert not_leading_findings(the_model, evaluate(the_model, rows, WEEK_END[11]).leadlag) == []
