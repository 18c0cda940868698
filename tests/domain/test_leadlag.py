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
