"""A KPI's plans per cycle: ``plans: [{cycle: 2026-Q1, baseline: 0, target: 1200}, {cycle: ...}]``.

Each item is a plan (any form ``plan:`` accepts) plus the ``cycle`` it plans. ``plan:`` stays the
plan of the KPI's home cycle; an item for that same cycle would say it twice and is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from yaml.nodes import MappingNode, ScalarNode

from onpace.domain.model import Cycle, CyclePlan, Direction
from onpace.modelfile.plans import PlanDraft, read_plan
from onpace.modelfile.records import Record, date_of, describe
from onpace.modelfile.yamltree import line_of


def read_cycle_plans(
    rec: Record, direction: Direction | None
) -> tuple[tuple[CyclePlan, ...], list[tuple[PlanDraft, str, dt.date | None]]]:
    """Return the ``plans:`` list of a KPI record and each plan's draft with its cycle id.

    Problems (an item that is not a mapping, no ``cycle``, a cycle listed twice, a bad plan) are
    noted at their line; the good items are kept.
    """
    found: list[CyclePlan] = []
    drafts: list[tuple[PlanDraft, str, dt.date | None]] = []
    seen: dict[str, int] = {}
    for index, node in enumerate(rec.items("plans"), 1):
        place = f"item {index} of `plans` of {rec.what}"
        if not isinstance(node, MappingNode):
            rec.sink.add(
                line_of(node), f"{place} must be a mapping like `{{cycle: 2026-Q2, per_bucket: 100}}`"
            )
            continue
        cycle_node = next(
            (v for k, v in node.value if isinstance(k, ScalarNode) and k.value == "cycle"), None
        )
        if cycle_node is None or not isinstance(cycle_node, ScalarNode) or not str(cycle_node.value).strip():
            shown = "nothing" if cycle_node is None else describe(cycle_node)
            rec.sink.add(line_of(node), f"{place} needs `cycle`, the id of the cycle it plans (got {shown})")
            continue
        cycle = str(cycle_node.value)
        from_node = next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == "from"), None)
        effective = date_of(from_node) if isinstance(from_node, ScalarNode) else None
        if from_node is not None and effective is None:
            rec.sink.add(
                line_of(from_node),
                f"`from` of {place} must be a date like 2026-02-16, not {describe(from_node)}",
            )
            continue
        key = cycle if effective is None else f"{cycle} from {effective}"
        if key in seen:
            rec.sink.add(
                line_of(cycle_node),
                f"{place} plans cycle `{key}` again (first on line {seen[key]}); one plan per cycle and date",
            )
            continue
        seen[key] = line_of(cycle_node)
        rest = MappingNode(
            node.tag,
            [
                (k, v)
                for k, v in node.value
                if not (isinstance(k, ScalarNode) and k.value in ("cycle", "from"))
            ],
            start_mark=node.start_mark,
            end_mark=node.end_mark,
        )
        planned = read_plan(rec.sink, rest, f"{rec.what} in cycle `{cycle}`", direction)
        if planned is None:
            continue
        found.append(CyclePlan(cycle, planned.plan, effective))
        drafts.append((planned, cycle, effective))
    return tuple(found), drafts


def check_cycle_plans(
    rec: Record,
    drafts: list[tuple[PlanDraft, str, dt.date | None]],
    home: str | None,
    cycles: Mapping[str, Cycle],
) -> None:
    """Note a ``plans:`` item naming an unknown cycle, the home cycle ``plan:`` already plans, or a
    point outside its cycle."""
    for planned, cycle_id, effective in drafts:
        cycle = cycles.get(cycle_id)
        if cycle is None:
            rec.sink.add(
                planned.line,
                f"`plans` of {rec.what} names cycle `{cycle_id}`, which is not a cycle of the model",
            )
            continue
        if effective is not None and not cycle.start <= effective <= cycle.end:
            rec.sink.add(planned.line, f"`from` {effective} of {rec.what} is outside cycle `{cycle_id}`")
        if effective is None and rec.has("plan") and cycle_id == home:
            rec.sink.add(
                planned.line,
                f"{rec.what} plans its home cycle `{home}` twice, in `plan` and in `plans`; keep one",
            )
        for (day, _), line in zip(planned.plan.points, planned.point_lines, strict=True):
            if not cycle.start <= day <= cycle.end:
                rec.sink.add(
                    line,
                    f"the plan of {rec.what} for cycle `{cycle_id}` has a point on {day}, outside that cycle "
                    f"({cycle.start} to {cycle.end})",
                )
