"""The evaluation's read window: reading only its dates and metrics gives exactly the full evaluation."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_evaluate_world import CYCLE, END, START, evaluate, kpi, kr, model, objective

from onpace.domain.model import Cycle, Feed, Plan
from onpace.domain.read_window import evaluation_metrics, evaluation_window

PREVIOUS = Cycle("Q4", dt.date(2025, 9, 29), dt.date(2026, 1, 4))
HISTORY_START = dt.date(2023, 1, 2)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

metric_ids = st.sampled_from(["a", "b", "c", "d", "KRown", "not_in_the_model"])
# Years of history, and many points around the cycles' edges, where a wrong window would show.
any_day = st.one_of(
    st.integers(min_value=0, max_value=(END - HISTORY_START).days + 30).map(
        lambda n: HISTORY_START + dt.timedelta(days=n)
    ),
    st.integers(min_value=-40, max_value=(END - PREVIOUS.start).days + 10).map(
        lambda n: PREVIOUS.start + dt.timedelta(days=n)
    ),
)
values = st.floats(min_value=0, max_value=500, allow_nan=False, allow_infinity=False)


def mixed_model(cycle_of_b: str, grain_of_a: str, measure_of_c: str) -> object:
    return model(
        kpi("a", grain=grain_of_a, measure="flow", aggregate="sum", plan=Plan(per_bucket=50.0)),
        kpi("b", cycle=cycle_of_b, grain="day", feeds=(Feed("KR1", 0.5),)),
        kpi("c", grain="month", measure=measure_of_c, aggregate="sum" if measure_of_c == "flow" else "last"),
        kpi("d", measure="ratio", formula="a / c", grain="month"),
        objectives=(
            objective(
                "O1",
                kr("KR1", kpi="b", weight=1.0),
                kr("KRown", measure="level", plan=Plan(baseline=10.0, target=20.0), weight=1.0),
            ),
        ),
        cycles=(PREVIOUS, CYCLE),
    )


def test_the_window_starts_at_the_earliest_cycle_a_series_is_judged_in() -> None:
    only_q1 = model(kpi("a"), kpi("b"))
    assert evaluation_window(only_q1, dt.date(2026, 2, 1)) == START
    mixed = model(kpi("a"), kpi("b", cycle="Q4"), cycles=(PREVIOUS, CYCLE))
    assert evaluation_window(mixed, dt.date(2026, 2, 1)) == PREVIOUS.start


def test_a_model_without_cycles_reads_no_point() -> None:
    bare = model(kpi("a", cycle=None), cycles=())
    assert evaluation_window(bare, dt.date(2026, 2, 1)) == dt.date(2026, 2, 2)


@FAST
@given(
    rows=st.lists(st.tuples(metric_ids, any_day, values), max_size=120),
    as_of=st.integers(min_value=-100, max_value=120).map(lambda n: START + dt.timedelta(days=n)),
    cycle_of_b=st.sampled_from(["Q1", "Q4"]),
    grain_of_a=st.sampled_from(["day", "week", "month"]),
    measure_of_c=st.sampled_from(["flow", "level"]),
)
def test_evaluating_from_the_window_alone_gives_the_full_evaluation(
    rows: list[tuple[str, dt.date, float]],
    as_of: dt.date,
    cycle_of_b: str,
    grain_of_a: str,
    measure_of_c: str,
) -> None:
    the_model = mixed_model(cycle_of_b, grain_of_a, measure_of_c)
    since = evaluation_window(the_model, as_of)  # type: ignore[arg-type]
    metrics = evaluation_metrics(the_model)  # type: ignore[arg-type]
    assert metrics is not None
    full = evaluate(the_model, rows, as_of)  # type: ignore[arg-type]
    read = [r for r in rows if r[1] >= since and r[0] in metrics]
    bounded = evaluate(the_model, read, as_of)  # type: ignore[arg-type]
    assert bounded.results == full.results
