"""The calendar's time zone, KPIs' units of measure and the check-in window in the model file."""

from __future__ import annotations

import datetime as dt

import pytest

from onpace.modelfile import ModelFileError, parse_model_text
from onpace.modelfile.export import dump_model

TEXT = """org: Tiny
calendar: {{week_start: monday, timezone: {zone}}}
units: [{{id: ops, name: Operations, head: maria}}]
people: [{{id: maria, name: Maria Chen, unit: ops}}]
cycles: [{{id: Q1, start: 2026-01-05, end: 2026-03-29}}]
kpis:
  - {{id: share, unit: ops, owner: maria, uom: "{uom}", plan: {{per_bucket: 5}}, constraint: true}}
  - {{id: spend, unit: ops, owner: maria, uom: NOK, measure: flow, plan: {{per_bucket: 5}}, constraint: true}}
  - {{id: plain, unit: ops, owner: maria, plan: {{per_bucket: 5}}, constraint: true}}
policy: {{checkin_valid_for: 10d}}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(text, "m.yaml")
    return [f"{p.line}: {p.message}" for p in caught.value.problems]


def test_the_time_zone_units_and_check_in_window_are_read_and_written_back() -> None:
    model = parse_model_text(TEXT.format(zone="Europe/Oslo", uom="%"), "m.yaml")
    assert model.calendar.timezone == "Europe/Oslo"
    assert [k.uom for k in model.kpis] == ["%", "NOK", None]
    assert model.policy.checkin_valid_for == dt.timedelta(days=10)
    assert parse_model_text(dump_model(model), "back.yaml") == model


def test_without_a_time_zone_the_calendar_is_utc() -> None:
    text = TEXT.format(zone="UTC", uom="count").replace(", timezone: UTC", "")
    assert parse_model_text(text, "m.yaml").calendar.timezone == "UTC"


def test_an_unknown_time_zone_is_a_problem_on_its_line() -> None:
    assert problems_of(TEXT.format(zone="Europe/Atlantis", uom="%")) == [
        "2: `timezone` of `calendar`: 'Europe/Atlantis' is not a time zone (use an IANA name such as Europe/Oslo)"
    ]


def test_an_unknown_unit_of_measure_is_a_problem_on_its_line() -> None:
    (problem,) = problems_of(TEXT.format(zone="UTC", uom="furlongs"))
    assert problem.startswith("7: `uom` of KPI `share`: `furlongs` is not a unit of measure")
