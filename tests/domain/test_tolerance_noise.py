"""A red tolerance narrower than the KPI's own one-step noise is an advisory hygiene finding."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl

from onpace.domain.components import components, evaluate_changed
from onpace.domain.engine import evaluate_model
from onpace.domain.governance import govern
from onpace.domain.hygiene import Finding
from onpace.domain.model import Cycle, Feed, KeyResult, Kpi, Model, Objective, Plan, Threshold, Tolerance
from onpace.domain.tolerance_noise import MIN_BUCKETS, Noise, noisy_tolerance_findings, segment_median

START = dt.date(2026, 1, 5)  # a Monday
CYCLE = Cycle("Q1", START, START + dt.timedelta(days=7 * 13 - 1))
TEN_PCT = Tolerance(Threshold(0.05, True), Threshold(0.10, True))


def kpi(
    kpi_id: str,
    *,
    measure: str = "level",
    plan: Plan | None = None,
    tolerance: Tolerance | None = TEN_PCT,
    unit: str | None = None,
) -> Kpi:
    return Kpi(
        id=kpi_id,
        title=kpi_id,
        unit=unit,
        owners=("ana",),
        measure=measure,  # type: ignore[arg-type]
        grain="week",
        aggregate="sum" if measure == "flow" else "mean",
        plan=plan or (Plan(per_bucket=100.0)),
        tolerance=tolerance,
        cycle="Q1",
    )


def weekly(metric: str, values: list[float]) -> list[tuple[str, dt.date, float]]:
    return [(metric, START + dt.timedelta(weeks=w, days=2), v) for w, v in enumerate(values)]


def evaluate(kpis: tuple[Kpi, ...], rows: list[tuple[str, dt.date, float]], weeks: int) -> dict[str, Noise]:
    model = Model(org="acme", cycles=(CYCLE,), kpis=kpis)
    points = pl.DataFrame(rows, schema=["metric", "date", "value"], orient="row")
    return dict(evaluate_model(model, points, START + dt.timedelta(weeks=weeks, days=-1)).noise)


def test_a_level_kpi_swinging_by_ten_percent_a_week_against_a_ten_percent_red_is_flagged_with_twenty_percent() -> (
    None
):
    noise = evaluate((kpi("visits"),), weekly("visits", [100, 110, 100, 110, 100, 110, 100, 110]), 8)
    reading = noise["visits"]
    assert round(reading.noise, 6) == 0.1
    assert (reading.red, reading.relative, reading.buckets) == (0.1, True, 8)
    assert reading.recommended == 0.2
    [finding] = noisy_tolerance_findings(Model(org="acme", cycles=(CYCLE,), kpis=(kpi("visits"),)), noise)
    assert finding.rule == "noisy_tolerance"
    assert "moves by about 10 % of plan from one week to the next" in finding.message
    assert "red tolerance is 10 %" in finding.message
    assert "Widen the red tolerance to at least 20 %" in finding.message
    assert "alarms that mean nothing" in finding.message
    assert "seasonal plan" in finding.message


def test_a_smooth_kpi_on_plan_is_not_flagged() -> None:
    rng = np.random.default_rng(3)
    values = list(100.0 + rng.normal(0.0, 1.0, 10))
    assert evaluate((kpi("uptime"),), weekly("uptime", values), 10) == {}


def test_a_kpi_whose_plan_follows_its_swings_is_not_flagged() -> None:
    # The deviation from plan is what a status judges: swings the plan foresees are no noise.
    values = [100.0, 130.0, 100.0, 130.0, 100.0, 130.0, 100.0, 130.0]
    days = [START + dt.timedelta(weeks=w, days=6) for w in range(8)]
    plan = Plan(points=tuple((day, value) for day, value in zip(days, values, strict=True)))
    assert evaluate((kpi("seasonal", plan=plan),), weekly("seasonal", values), 8) == {}
    assert "flat" in evaluate((kpi("flat"),), weekly("flat", values), 8)


def test_too_few_buckets_are_no_evidence() -> None:
    wild = [100.0, 150.0, 60.0, 140.0, 70.0, 150.0, 60.0]
    assert evaluate((kpi("new"),), weekly("new", wild[: MIN_BUCKETS - 1]), MIN_BUCKETS - 1) == {}
    assert "new" in evaluate((kpi("new"),), weekly("new", wild[:MIN_BUCKETS]), MIN_BUCKETS)


def test_the_running_bucket_is_no_evidence_until_it_ends() -> None:
    wild = [100.0, 150.0, 60.0, 140.0, 70.0, 150.0]
    rows = weekly("orders", wild)
    model = Model(org="acme", cycles=(CYCLE,), kpis=(kpi("orders"),))
    points = pl.DataFrame(rows, schema=["metric", "date", "value"], orient="row")
    running = START + dt.timedelta(weeks=MIN_BUCKETS - 1, days=3)  # the sixth week has begun
    assert dict(evaluate_model(model, points, running).noise) == {}
    ended = START + dt.timedelta(weeks=MIN_BUCKETS, days=-1)
    assert "orders" in evaluate_model(model, points, ended).noise


def test_a_flow_kpi_is_judged_on_its_bucket_amounts_against_once_its_noise() -> None:
    # Amounts swing by 30 % of plan a week: a flow's total to date meets it early in the cycle,
    # so red at 10 % is flagged and the advice is the noise itself (30 %).
    swinging = [100.0, 130.0, 100.0, 130.0, 100.0, 130.0, 100.0, 130.0]
    noise = evaluate((kpi("orders", measure="flow"),), weekly("orders", swinging), 8)
    assert round(noise["orders"].noise, 6) == 0.3
    assert noise["orders"].recommended == 0.3
    [finding] = noisy_tolerance_findings(
        Model(org="acme", cycles=(CYCLE,), kpis=(kpi("orders", measure="flow"),)), noise
    )
    assert "its amount per week moves by about 30 % of plan" in finding.message
    assert "judged on its total to date" in finding.message
    # Swings of 8 % of plan stay under a flow's 10 %: a total to date meets them only on day one.
    calm = [100.0, 108.0, 100.0, 108.0, 100.0, 108.0, 100.0, 108.0]
    assert evaluate((kpi("orders", measure="flow"),), weekly("orders", calm), 8) == {}


def test_an_absolute_tolerance_is_compared_with_the_noise_in_the_kpis_units() -> None:
    absolute = Tolerance(Threshold(1.0, False), Threshold(2.0, False))
    values = [50.0, 53.0, 50.0, 53.0, 50.0, 53.0, 50.0]
    kpis = (kpi("latency", plan=Plan(per_bucket=50.0), tolerance=absolute, unit="ms"),)
    noise = evaluate(kpis, weekly("latency", values), 7)
    assert (noise["latency"].noise, noise["latency"].relative, noise["latency"].recommended) == (
        3.0,
        False,
        6.0,
    )
    [finding] = noisy_tolerance_findings(Model(org="acme", cycles=(CYCLE,), kpis=kpis), noise)
    assert "moves by about 3 ms from one week to the next" in finding.message
    assert "at least 6 ms" in finding.message


def test_the_segment_median_takes_the_middle_of_each_group() -> None:
    values = np.array([3.0, 1.0, 2.0, 10.0, 20.0, 5.0])
    groups = np.array([0, 0, 0, 2, 2, 3])
    median, count = segment_median(values, groups, 5)
    assert median[[0, 2, 3]].tolist() == [2.0, 15.0, 5.0]
    assert np.isnan(median[[1, 4]]).all()
    assert count.tolist() == [3, 0, 2, 1, 0]


def test_a_noisy_tolerance_reaches_the_findings_but_opens_no_case() -> None:
    visits = kpi("visits")
    model = Model(org="acme", cycles=(CYCLE,), kpis=(visits,))
    points = pl.DataFrame(
        weekly("visits", [100, 110, 100, 110, 100, 110, 100, 110]),
        schema=["metric", "date", "value"],
        orient="row",
    )
    as_of = START + dt.timedelta(weeks=8, days=-1)
    evaluation = evaluate_model(model, points, as_of)
    findings = noisy_tolerance_findings(model, evaluation.noise)
    assert [(f.subject, f.rule) for f in findings] == [("visits", "noisy_tolerance")]
    now = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    quiet = govern(model, evaluation.results, [], as_of=as_of, now=now, findings=findings)
    assert [c for c in quiet.cases if c.family == "hygiene"] == []
    # A finding that is not advisory still opens its hygiene case beside it.
    owners = Finding("visits", "kpi", "no_owner", "KPI visits has no owner")
    loud = govern(model, evaluation.results, [], as_of=as_of, now=now, findings=[*findings, owners])
    [case] = [c for c in loud.cases if c.family == "hygiene"]
    rules = [f["rule"] for f in case.detail.get("findings", [])]  # type: ignore[union-attr]
    assert rules == ["no_owner"]


def test_evaluating_again_the_part_new_data_touches_keeps_the_others_noise() -> None:
    objectives = tuple(
        Objective(o, "o", "Q1", None, "ana", key_results=(KeyResult(kr, "k", o, "ana"),))
        for o, kr in (("O1", "KR1"), ("O2", "KR2"))
    )
    model = Model(
        org="acme",
        cycles=(CYCLE,),
        objectives=objectives,
        kpis=(
            dataclasses.replace(kpi("left"), feeds=(Feed("KR1", 1.0),)),
            dataclasses.replace(kpi("right"), feeds=(Feed("KR2", 1.0),)),
        ),
    )
    swinging = [100.0, 110.0, 100.0, 110.0, 100.0, 110.0, 100.0, 110.0]
    before = weekly("left", swinging) + weekly("right", [*swinging[:7], 105.0])
    as_of = START + dt.timedelta(weeks=8, days=-1)
    frame = pl.DataFrame(before, schema=["metric", "date", "value"], orient="row")
    kept = evaluate_model(model, frame, as_of)
    assert set(kept.noise) == {"left", "right"}
    calm = weekly("left", swinging) + weekly("right", [100.0] * 8)
    after = pl.DataFrame(calm, schema=["metric", "date", "value"], orient="row")
    merged = evaluate_changed(model, components(model), kept, ["right"], points=after, plan_versions=None)
    assert set(merged.noise) == {"left"}
    assert merged.noise == evaluate_model(model, after, as_of).noise
