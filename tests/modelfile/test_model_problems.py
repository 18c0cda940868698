"""Problems in model files: every one reported at once, with its line and a plain sentence."""

from __future__ import annotations

import pytest
from modelfile_samples import BROKEN

from onpace.modelfile import ModelFileError, Problem, parse_model_text, validate_file

HEAD = """org: Tiny
units: [{id: ops, name: Operations, head: maria}]
people: [{id: maria, name: Maria Chen, unit: ops}]
cycles: [{id: Q1, start: 2026-01-05, end: 2026-03-29}]
"""


def problems_of(text: str) -> list[str]:
    """Return the problems of a model text as `line: message` strings."""
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(text, "m.yaml")
    return [f"{p.line}: {p.message}" for p in caught.value.problems]


def test_it_lists_every_problem_of_a_broken_file_with_its_line() -> None:
    problems = validate_file(BROKEN)
    found = {(p.line, p.message) for p in problems}
    expected = [
        (3, "unknown key `calender` in the top level; did you mean `calendar`?"),
        (5, "units form a parent cycle: exec → ops → exec"),
        (6, "unit `ops` names `nobody` as its head, but there is no person `nobody`"),
        (7, "duplicate unit id `ops` (first on line 6)"),
        (10, "person `maria` names `opps` as its unit, but there is no unit `opps`; did you mean `ops`?"),
        (12, "cycle `Q1` ends on 2026-01-01, before it starts on 2026-01-05"),
        (18, "objective `O1` names `ops` as its owner, but `ops` is a unit, not a person"),
        (21, "`weight` of key result `KR1` is 0; weights must be greater than 0"),
        (22, "key result `KR2` has no owner"),
        (
            26,
            "the plan of key result `KR3` has a point on 2026-08-01, outside cycle `Q2` (2026-04-06 to 2026-06-28)",
        ),
        (27, "key result `KR4` is measured by KPI `loaves`, which holds its plan; drop `plan` here"),
        (32, "`measure` of KPI `loaves` is `stock`, which is not one of flow, level, ratio"),
        (
            33,
            "amber (10%) is wider than red (5%) in the tolerance of KPI `loaves`; amber must not exceed red",
        ),
        (
            34,
            "`weight` of the feed of KPI `loaves` to `KR9` is 1.5; feed weights must be above 0 and at most 1",
        ),
        (
            34,
            "KPI `loaves` feeds key result `KR1`, which it already measures (`kpi: loaves`); a KR cannot be fed by its own KPI",
        ),
        (34, "KPI `loaves` feeds `KR9`, but there is no key result `KR9`; did you mean `KR4`?"),
        (36, "KPI `nps` names `exec` as an owner, but `exec` is a unit, not a person"),
        (
            37,
            "the formula of KPI `nps` does not parse: the formula ends where a KPI id, number or `(` is expected",
        ),
        (40, "formula KPIs refer to each other in a cycle: flour → water → flour"),
        (41, "KPI `water` has no owner"),
        (42, "the formula of KPI `water` names `salt`, which is not a KPI"),
        (46, "`amber` of the tolerance of KPI `oven_spend` is `-1`; a tolerance must be zero or more"),
        (
            46,
            "`red` of the tolerance of KPI `oven_spend` must be a number or a percentage like `5%`, not `abc`",
        ),
        (47, "the plan of KPI `oven_spend` has `baseline` but no `target`"),
        (
            49,
            "initiative `I1` lists `KR9` in `supports`, but there is no key result `KR9`; did you mean `KR4`?",
        ),
        (
            49,
            "initiative `I1` uses KPI `loaves` as its cost, but that KPI is of kind `outcome`; give it `kind: cost`",
        ),
        (54, "the consumer of dependency `D1` is missing `owner`"),
        (55, "`due` of dependency `D1` must be a date like 2026-01-05, not `soon`"),
        (56, "dependency `D1` names `yeast` as its kpi, but there is no KPI `yeast`"),
        (
            58,
            "`every` of source `pos`: `often` is not a duration; write a number and a unit, like `30m`, `1h`, `2d` or `1w`",
        ),
        (61, "`auto_resolve_after` of `policy` is 0; it must be 1 or more"),
        (
            63,
            "notification route `chat` lists `opz` in `units`, but there is no unit `opz`; did you mean `ops`?",
        ),
    ]
    missing = [e for e in expected if e not in found]
    assert missing == []
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert all(p.file == str(BROKEN) for p in problems)


def test_a_problem_reads_as_file_line_and_sentence() -> None:
    assert str(Problem("onpace.yaml", 12, "KPI `x` has no owner")) == "onpace.yaml:12: KPI `x` has no owner"


def test_the_error_message_lists_one_problem_per_line() -> None:
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(HEAD + "kpis: [{id: a}, {id: b}]\n", "m.yaml")
    assert str(caught.value) == "m.yaml:5: KPI `a` has no owner\nm.yaml:5: KPI `b` has no owner"


def test_it_suggests_the_closest_key_for_a_misspelt_key() -> None:
    assert problems_of(HEAD + "kpis:\n  - id: a\n    owner: maria\n    directoin: down\n") == [
        "8: unknown key `directoin` in KPI `a`; did you mean `direction`?"
    ]


def test_it_lists_the_accepted_keys_when_nothing_is_close() -> None:
    [problem] = problems_of(HEAD + "calendar: {zzz: 1}\n")
    assert problem == "5: unknown key `zzz` in `calendar`; expected one of week_start, timezone"


def test_it_suggests_the_closest_id_for_a_link_to_a_missing_one() -> None:
    assert problems_of(HEAD + "kpis: [{id: a, owner: mario}]\n") == [
        "5: KPI `a` names `mario` as an owner, but there is no person `mario`; did you mean `maria`?"
    ]


def test_it_reports_a_yaml_syntax_error_with_its_line() -> None:
    [problem] = problems_of(HEAD + "kpis:\n  - {id: a, owner: maria\n  - {id: b}\n")
    assert problem.startswith("7: YAML syntax error:")


def test_it_reports_an_empty_file_and_a_file_that_is_not_a_mapping() -> None:
    assert problems_of("") == ["1: the file is empty; a model needs at least `org:`"]
    assert problems_of("- just\n- a list\n") == ["1: the top level must be a mapping of fields, not a list"]


def test_it_requires_an_org_and_the_required_fields_of_each_record() -> None:
    assert problems_of("units: [{id: ops}]\npeople: [{name: Nameless}]\n") == [
        "1: the top level is missing `org`",
        "1: unit `ops` is missing `name`",
        "2: the person at item 1 of `people` is missing `id`",
    ]


def test_it_reports_wrong_types_with_the_value_written() -> None:
    text = HEAD + "kpis:\n  - {id: a, owner: maria, leading: maybe, plan: {per_bucket: lots}}\n"
    assert sorted(problems_of(text)) == [
        "6: `leading` of KPI `a` must be true or false, not `maybe`",
        "6: `per_bucket` of the plan of KPI `a` must be a number, not `lots`",
    ]


def test_it_requires_at_least_one_owner_for_a_kpi() -> None:
    assert problems_of(HEAD + "kpis: [{id: a, owner: []}, {id: b}]\n") == [
        "5: KPI `a` has no owner",
        "5: KPI `b` has no owner",
    ]


def test_it_rejects_duplicate_key_result_ids_across_objectives() -> None:
    text = HEAD + (
        "objectives:\n"
        "  - {id: O1, title: A, cycle: Q1, key_results: [{id: KR1, title: x, owner: maria}]}\n"
        "  - {id: O2, title: B, cycle: Q1, key_results: [{id: KR1, title: y, owner: maria}]}\n"
    )
    assert problems_of(text) == ["7: duplicate key result id `KR1` (first on line 6)"]


def test_it_rejects_an_id_shared_by_a_kpi_and_a_key_result() -> None:
    text = HEAD + (
        "objectives:\n"
        "  - {id: O1, title: A, cycle: Q1, key_results: [{id: sales, title: x, owner: maria}]}\n"
        "kpis: [{id: sales, owner: maria}]\n"
    )
    assert problems_of(text) == [
        "7: id `sales` of KPI is already the id of the key result on line 6; "
        "objectives, key results, KPIs, initiatives and dependencies need distinct ids"
    ]


def test_it_rejects_a_unit_that_is_its_own_parent() -> None:
    text = HEAD.replace("head: maria}", "head: maria, parent: ops}")
    assert problems_of(text) == ["2: unit `ops` is its own parent"]


def test_it_rejects_a_formula_kpi_that_refers_to_itself() -> None:
    assert problems_of(HEAD + "kpis: [{id: a, owner: maria, formula: a * 2}]\n") == [
        "5: the formula of KPI `a` refers to itself"
    ]


def test_it_rejects_bad_formula_syntax_and_unknown_names() -> None:
    text = (
        HEAD
        + "kpis:\n  - {id: a, owner: maria, formula: b $ 2}\n  - {id: c, owner: maria, formula: a / bb}\n"
    )
    assert problems_of(text) == [
        "6: the formula of KPI `a` does not parse: `$` at column 3 is not allowed "
        "(use KPI ids, numbers, + - * / and parentheses)",
        "7: the formula of KPI `c` names `bb`, which is not a KPI",
    ]


def test_it_rejects_a_measure_that_contradicts_the_formula() -> None:
    text = (
        HEAD
        + "kpis:\n  - {id: a, owner: maria, formula: b / 2, measure: flow}\n  - {id: b, owner: maria, measure: ratio}\n"
    )
    assert problems_of(text) == [
        "6: KPI `a` has a formula, so its measure is `ratio`, not `flow`",
        "7: KPI `b` has measure `ratio` but no `formula` to compute it from",
    ]


def test_it_rejects_a_band_on_a_kpi_whose_direction_is_not_range() -> None:
    text = HEAD + "kpis: [{id: a, owner: maria, direction: down, plan: {per_bucket: 4, band: [3, 5]}}]\n"
    assert problems_of(text) == [
        "5: `band` of the plan of KPI `a` applies only to direction `range`, not `down`"
    ]


def test_it_rejects_a_plan_that_mixes_forms_or_has_none() -> None:
    text = (
        HEAD
        + "kpis:\n  - {id: a, owner: maria, plan: {per_bucket: 4, baseline: 1, target: 2}}\n  - {id: b, owner: maria, plan: {phasing: front}}\n"
    )
    assert problems_of(text) == [
        "6: the plan of KPI `a` mixes baseline/target and per_bucket; use exactly one form",
        "7: the plan of KPI `b` needs `baseline` and `target`, `points`, `per_bucket`, or `seasonal_from`",
        "7: `phasing` of the plan of KPI `b` applies only to a `baseline`/`target` plan",
    ]


def test_it_checks_plan_points_of_a_kpi_against_its_cycle() -> None:
    text = (
        HEAD
        + "kpis:\n  - id: a\n    owner: maria\n    plan:\n      points:\n        2026-01-05: 1\n        2026-04-01: 2\n"
    )
    assert problems_of(text) == [
        "11: the plan of KPI `a` has a point on 2026-04-01, outside cycle `Q1` (2026-01-05 to 2026-03-29)"
    ]


def test_it_rejects_bad_enums_with_a_suggestion() -> None:
    text = HEAD + "kpis: [{id: a, owner: maria, grain: weekly, aggregate: avg, kind: costs}]\n"
    assert problems_of(text) == [
        "5: `grain` of KPI `a` is `weekly`, which is not one of day, week, month; did you mean `week`?",
        "5: `aggregate` of KPI `a` is `avg`, which is not one of sum, mean, last, min, max",
        "5: `kind` of KPI `a` is `costs`, which is not one of outcome, cost, capacity; did you mean `cost`?",
    ]


def test_it_rejects_a_capacity_kpi_that_is_not_of_kind_capacity() -> None:
    text = HEAD + (
        "objectives: [{id: O1, title: A, cycle: Q1, key_results: [{id: KR1, title: x, owner: maria}]}]\n"
        "kpis: [{id: fte, owner: maria, kind: cost}]\n"
        "initiatives: [{id: I1, title: Pilot, owner: maria, supports: [KR1], capacity: fte}]\n"
    )
    assert problems_of(text) == [
        "7: initiative `I1` uses KPI `fte` as its capacity, but that KPI is of kind `cost`; give it `kind: capacity`"
    ]


def test_it_rejects_a_lag_that_is_not_whole_days_and_a_duplicate_key() -> None:
    text = HEAD + (
        "objectives: [{id: O1, title: A, cycle: Q1, key_results: [{id: KR1, title: x, owner: maria}]}]\n"
        "kpis:\n  - id: a\n    owner: maria\n    owner: maria\n    feeds: [{kr: KR1, weight: 1, lag: 36h}]\n"
    )
    assert problems_of(text) == [
        "9: duplicate key `owner` in KPI `a` (first on line 8)",
        "10: `lag` of the feed of KPI `a` to `KR1` must be whole days or weeks, like `3d` or `2w`",
    ]


def test_it_rejects_an_id_with_a_space() -> None:
    assert problems_of(HEAD + "kpis: [{id: on time, owner: maria}]\n") == [
        "5: id `on time` has a space in it; ids are single words like `on_time_rate`"
    ]
