"""Plans: ``{baseline, target, phasing}``, ``{points: {date: value}}``, ``{per_bucket: x}`` or seasonal.

A seasonal plan is ``{seasonal_from: <cycle id or YYYY-MM-DD..YYYY-MM-DD>, growth: 5%}``: the
same KPI's actuals of that period, bucket by bucket, times ``1 + growth`` (``growth`` a
percentage or a fraction, 0 when left out; the period is checked against the cycles later).
Any form may add ``band: [low, high]``, the green band of a ``direction: range`` subject.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import InvalidOperation

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from onpace.domain.model import PHASINGS, Direction, Plan
from onpace.modelfile import schema
from onpace.modelfile.numbers import percent_to_fraction
from onpace.modelfile.records import Record, Sink, date_of, describe, number_of, read_record
from onpace.modelfile.yamltree import line_of


@dataclass(frozen=True)
class PlanDraft:
    """A plan as read, with the lines needed by later checks (the cycle-date check)."""

    plan: Plan
    line: int
    point_lines: tuple[int, ...] = ()


def read_plan(sink: Sink, node: Node, holder: str, direction: Direction | None) -> PlanDraft | None:
    """Return a plan mapping as a PlanDraft, noting every problem; ``holder`` names its KPI or KR.

    ``direction`` is the holder's direction (None when it is itself invalid), used to refuse a
    band on a subject that is not ``range``.
    """
    what = f"the plan of {holder}"
    record = read_record(sink, node, "plan", what, schema.PLAN, what=what)
    if record is None:
        return None
    forms = [
        name
        for name, present in (
            ("baseline/target", record.has("baseline") or record.has("target")),
            ("points", record.has("points")),
            ("per_bucket", record.has("per_bucket")),
            ("seasonal_from", record.has("seasonal_from")),
        )
        if present
    ]
    if not forms:
        record.problem(
            None, f"{what} needs `baseline` and `target`, `points`, `per_bucket`, or `seasonal_from`"
        )
    elif len(forms) > 1:
        record.problem(None, f"{what} mixes {' and '.join(forms)}; use exactly one form")
    baseline, target = _finite(record, "baseline"), _finite(record, "target")
    if record.has("baseline") != record.has("target"):
        present, missing = ("baseline", "target") if record.has("baseline") else ("target", "baseline")
        record.problem(None, f"{what} has `{present}` but no `{missing}`")
    phasing = record.choice("phasing", PHASINGS)
    if record.has("phasing") and not record.has("baseline") and not record.has("target"):
        record.problem("phasing", f"`phasing` of {what} applies only to a `baseline`/`target` plan")
    points, point_lines = _points(record)
    per_bucket = _finite(record, "per_bucket")
    band = _band(record, direction)
    seasonal_from = record.text("seasonal_from")
    growth = _growth(record)
    if record.has("growth") and seasonal_from is None:
        record.problem("growth", f"`growth` of {what} applies only to a `seasonal_from` plan")
    plan = Plan(
        baseline=baseline,
        target=target,
        phasing=phasing or "linear",
        points=points,
        per_bucket=per_bucket,
        band=band,
        seasonal_from=seasonal_from,
        growth=growth,
    )
    return PlanDraft(plan, record.line, point_lines)


def _growth(record: Record) -> float:
    """Return ``growth`` as a fraction: ``5%`` or ``0.05`` (negative allowed: a planned decline)."""
    text = record.text("growth")
    if text is None:
        return 0.0
    cleaned = text.strip()
    try:
        value = percent_to_fraction(cleaned[:-1].strip()) if cleaned.endswith("%") else float(cleaned)
    except (ValueError, InvalidOperation):
        value = math.nan
    if not math.isfinite(value) or value <= -1:
        record.problem(
            "growth", f"`growth` of {record.what} must be a percentage like `5%` above -100%, not `{text}`"
        )
        return 0.0
    return value


def _finite(record: Record, key: str) -> float | None:
    value = record.number(key)
    if value is not None and not math.isfinite(value):
        record.problem(key, f"`{key}` of {record.what} must be a finite number")
        return None
    return value


def _points(record: Record) -> tuple[tuple[tuple[dt.date, float], ...], tuple[int, ...]]:
    node = record.values.get("points")
    if node is None or not record.has("points"):
        return (), ()
    if not isinstance(node, MappingNode):
        record.problem(
            "points", f"`points` of {record.what} must map dates to values, like `{{2026-01-05: 88}}`"
        )
        return (), ()
    found: dict[dt.date, tuple[float, int]] = {}
    for key_node, value_node in node.value:
        day = date_of(key_node) if isinstance(key_node, ScalarNode) else None
        if day is None:
            record.sink.add(
                line_of(key_node),
                f"a point of {record.what} is dated {describe(key_node)}, not a date like 2026-01-05",
            )
            continue
        if day in found:
            record.sink.add(
                line_of(key_node), f"{record.what} has two points for {day} (first on line {found[day][1]})"
            )
            continue
        value = number_of(value_node) if isinstance(value_node, ScalarNode) else None
        if value is None or not math.isfinite(value):
            record.sink.add(
                line_of(value_node),
                f"the point {day} of {record.what} must be a number, not {describe(value_node)}",
            )
            continue
        found[day] = (value, line_of(key_node))
    if not node.value:
        record.problem("points", f"`points` of {record.what} is empty")
    ordered = sorted(found.items())
    return tuple((day, value) for day, (value, _) in ordered), tuple(line for _, (_, line) in ordered)


def _band(record: Record, direction: Direction | None) -> tuple[float, float] | None:
    node = record.values.get("band")
    if node is None or not record.has("band"):
        return None
    bounds: list[float] = []
    if isinstance(node, SequenceNode) and len(node.value) == 2:
        for item in node.value:
            value = number_of(item) if isinstance(item, ScalarNode) else None
            if value is not None and math.isfinite(value):
                bounds.append(value)
    if len(bounds) != 2:
        record.problem("band", f"`band` of {record.what} must be two numbers, like `[95, 105]`")
        return None
    low, high = bounds
    if low > high:
        record.problem(
            "band", f"`band` of {record.what} runs from {low:g} down to {high:g}; write it low to high"
        )
        return None
    if direction is not None and direction != "range":
        record.problem(
            "band", f"`band` of {record.what} applies only to direction `range`, not `{direction}`"
        )
    return (low, high)
