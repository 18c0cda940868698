"""A KPI's ``plans:`` list in the model file: one plan per cycle, dated re-baselines, clear problems."""

from __future__ import annotations

import datetime as dt

import pytest

from onpace.domain.model import CyclePlan, Plan
from onpace.modelfile import ModelFileError, parse_model_text
from onpace.modelfile.export import dump_model

HEAD = """org: Tiny
units: [{id: ops, name: Operations, head: maria}]
people: [{id: maria, name: Maria Chen, unit: ops}]
cycles:
  - {id: Q1, start: 2026-01-05, end: 2026-04-05}
  - {id: Q2, start: 2026-04-06, end: 2026-07-05}
kpis:
  - id: orders
    owner: maria
    measure: flow
    constraint: true
    plan: {per_bucket: 100}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(text, "m.yaml")
    return [f"{p.line}: {p.message}" for p in caught.value.problems]


def test_a_plans_list_gives_the_kpi_a_plan_per_cycle_and_dated_rebaselines() -> None:
    text = (
        HEAD
        + """    plans:
      - {cycle: Q2, per_bucket: 120}
      - {cycle: Q2, from: 2026-05-04, baseline: 0, target: 900}
"""
    )
    model = parse_model_text(text)
    assert model.kpis[0].plan == Plan(per_bucket=100)
    assert model.kpis[0].plans == (
        CyclePlan("Q2", Plan(per_bucket=120)),
        CyclePlan("Q2", Plan(baseline=0, target=900), dt.date(2026, 5, 4)),
    )
    assert parse_model_text(dump_model(model)) == model


def test_a_plans_item_naming_no_known_cycle_or_a_cycle_twice_is_refused_at_its_line() -> None:
    text = (
        HEAD
        + """    plans:
      - {cycle: Q3, per_bucket: 120}
      - {per_bucket: 120}
      - {cycle: Q2, per_bucket: 120}
      - {cycle: Q2, per_bucket: 130}
      - {cycle: Q1, per_bucket: 90}
      - {cycle: Q2, from: 2026-09-01, per_bucket: 90}
"""
    )
    assert problems_of(text) == [
        "14: `plans` of KPI `orders` names cycle `Q3`, which is not a cycle of the model",
        "15: item 2 of `plans` of KPI `orders` needs `cycle`, the id of the cycle it plans (got nothing)",
        "17: item 4 of `plans` of KPI `orders` plans cycle `Q2` again (first on line 16); "
        "one plan per cycle and date",
        "18: KPI `orders` plans its home cycle `Q1` twice, in `plan` and in `plans`; keep one",
        "19: `from` 2026-09-01 of KPI `orders` is outside cycle `Q2`",
    ]


def test_a_one_cycle_file_without_plans_reads_as_before() -> None:
    model = parse_model_text(HEAD)
    assert model.kpis[0].plans == ()
    assert "plans" not in dump_model(model)


KR_FILE = HEAD.replace(
    "kpis:\n",
    "objectives:\n  - id: O1\n    title: Grow\n    cycle: Q2\n    owner: maria\n    key_results:\n      - id: KR1\n        title: Up\n        owner: maria\n        plan: {baseline: 0, target: 10}\n        plans:\n{items}kpis:\n",
)


def test_a_key_result_carries_its_rebaselines_as_dated_plans_items() -> None:
    text = KR_FILE.replace("{items}", "          - {cycle: Q2, from: 2026-05-04, baseline: 0, target: 8}\n")
    model = parse_model_text(text)
    assert model.key_results[0].plans == (CyclePlan("Q2", Plan(baseline=0, target=8), dt.date(2026, 5, 4)),)
    assert parse_model_text(dump_model(model)) == model


def test_a_key_result_plans_item_needs_a_date_inside_its_objectives_cycle() -> None:
    items = (
        "          - {cycle: Q2, per_bucket: 5}\n"
        "          - {cycle: Q1, from: 2026-02-02, per_bucket: 5}\n"
        "          - {cycle: Q2, from: 2026-09-01, per_bucket: 5}\n"
    )
    assert problems_of(KR_FILE.replace("{items}", items)) == [
        "18: a `plans` item of key result `KR1` needs `from:`: a key result has one cycle, planned by `plan`; "
        "its items are re-baselines from a date",
        "19: key result `KR1` belongs to cycle `Q2`, not `Q1`",
        "20: `from` 2026-09-01 of key result `KR1` is outside cycle `Q2`",
    ]
