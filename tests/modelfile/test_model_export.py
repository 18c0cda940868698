"""Writing a Model back as onpace.yaml: tidy, and read back to the very same Model."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modelfile_samples import EXAMPLE, VALID_FILES

from onpace.domain.model import Feed, Model, Plan, Policy, Source, Threshold, Tolerance
from onpace.modelfile import dump_model, load_model_file, parse_model_text

BASE = load_model_file(EXAMPLE)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_dump_then_parse_gives_back_the_same_model(path: Path) -> None:
    model = load_model_file(path)
    assert parse_model_text(dump_model(model), "export.yaml") == model


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_dumping_twice_gives_the_same_text(path: Path) -> None:
    text = dump_model(load_model_file(path))
    assert dump_model(parse_model_text(text)) == text


def test_dump_leaves_out_default_values() -> None:
    text = dump_model(
        parse_model_text(
            "org: Tiny\ncalendar: {week_start: monday}\npeople: [{id: m, name: M}]\n"
            "kpis: [{id: k, title: k, owner: m, measure: level, direction: up, grain: week,"
            " aggregate: mean, leading: false, plan: {baseline: 1, target: 2, phasing: linear}}]\n"
            "policy: {auto_resolve_after: 2, sla: {explain: 2d, act: 5d}}\n"
        )
    )
    assert text == (
        "org: Tiny\n"
        "people:\n  - {id: m, name: M}\n"
        "kpis:\n  - id: k\n    owner: m\n    plan: {baseline: 1, target: 2}\n"
    )


def test_dump_writes_the_layout_of_the_design_example() -> None:
    text = dump_model(BASE)
    assert "  - {id: exec, name: Leadership team, head: grace}\n" in text
    assert (
        '      - {id: KR1, title: "3,200 online orders every week", owner: ana, kpi: online_orders, weight: 2}\n'
        in text
    )
    assert "    tolerance: {amber: 1.5%, red: 3%}\n" in text
    assert "    feeds: [{kr: KR1, weight: 0.4, lag: 2w}, {kr: KR3, weight: 0.5, lag: 1w}]\n" in text
    assert "    provider: {unit: supply, owner: sam}\n" in text


def test_dump_quotes_text_that_yaml_would_read_as_something_else() -> None:
    tricky = [
        "yes",
        "2026",
        "1.5",
        "null",
        "2026-01-05",
        "a: b",
        "#hash",
        "- dash",
        "x, y",
        " pad",
        "[list]",
        "",
    ]
    objective = dataclasses.replace(BASE.objectives[0], title=tricky[0])
    for title in tricky:
        model = dataclasses.replace(
            BASE, objectives=(dataclasses.replace(objective, title=title), *BASE.objectives[1:])
        )
        assert parse_model_text(dump_model(model)).objectives[0].title == title


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
positive = st.floats(min_value=1e-9, max_value=1e12, allow_nan=False)
fraction = st.floats(min_value=1e-6, max_value=1.0, allow_nan=False, exclude_min=False)
text = st.text(min_size=1, max_size=40)


@st.composite
def tolerances(draw: st.DrawFn) -> Tolerance:
    """Return a valid tolerance: each threshold relative or absolute, amber never above red."""
    low, high = sorted(draw(st.lists(st.floats(min_value=0, max_value=1e6), min_size=2, max_size=2)))
    return Tolerance(Threshold(low, draw(st.booleans())), Threshold(high, draw(st.booleans())))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=text,
    org=text,
    weight=positive,
    feed_weight=fraction,
    lag=st.integers(min_value=0, max_value=400),
    per_bucket=finite,
    baseline=finite,
    target=finite,
    tolerance=tolerances(),
    every=st.integers(min_value=1, max_value=10**7),
    option=st.one_of(text, finite, st.booleans(), st.dates(), st.lists(text, max_size=3)),
    threat=fraction,
)
def test_round_trip_holds_for_any_text_numbers_tolerances_and_durations(
    title: str,
    org: str,
    weight: float,
    feed_weight: float,
    lag: int,
    per_bucket: float,
    baseline: float,
    target: float,
    tolerance: Tolerance,
    every: int,
    option: object,
    threat: float,
) -> None:
    objective = BASE.objectives[0]
    kr = dataclasses.replace(objective.key_results[0], title=title, weight=weight)
    kpis = list(BASE.kpis)
    kpis[0] = dataclasses.replace(kpis[0], title=title, tolerance=tolerance, plan=Plan(per_bucket=per_bucket))
    kpis[1] = dataclasses.replace(
        kpis[1], plan=Plan(baseline=baseline, target=target), feeds=(Feed("KR1", feed_weight, lag),)
    )
    source = Source("extra", "http", dt.timedelta(seconds=every), {"url": title, "records": option})
    model: Model = dataclasses.replace(
        BASE,
        org=org,
        objectives=(
            dataclasses.replace(objective, key_results=(kr, *objective.key_results[1:])),
            *BASE.objectives[1:],
        ),
        kpis=tuple(kpis),
        sources=(*BASE.sources, source),
        policy=Policy(threat_weight=threat, default_tolerance=tolerance),
    )
    assert parse_model_text(dump_model(model)) == model
