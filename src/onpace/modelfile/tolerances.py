"""Tolerances: ``{amber: 5%, red: 10%}`` (relative to the plan) or absolute numbers."""

from __future__ import annotations

import math
from decimal import InvalidOperation

from yaml.nodes import Node, ScalarNode

from onpace.domain.model import Threshold, Tolerance
from onpace.modelfile import schema
from onpace.modelfile.numbers import format_number, format_percent, percent_to_fraction
from onpace.modelfile.records import Record, Sink, describe, number_of, read_record


def parse_threshold(text: str) -> Threshold:
    """Return the threshold ``5%`` (relative, 0.05) or ``0.2`` (absolute) names.

    Raise ValueError with a plain sentence when it is neither, negative or not finite.
    """
    cleaned = text.strip()
    relative = cleaned.endswith("%")
    number = cleaned[:-1].strip() if relative else cleaned
    try:
        value = percent_to_fraction(number) if relative else float(number)
    except (ValueError, InvalidOperation):
        raise ValueError(f"`{text}` is not a number or a percentage like `5%`") from None
    if not math.isfinite(value):
        raise ValueError(f"`{text}` is not a finite number")
    if value < 0:
        raise ValueError(f"`{text}` is negative; a tolerance is a size of shortfall, zero or more")
    return Threshold(value, relative)


def format_threshold(threshold: Threshold) -> str:
    """Return the text that :func:`parse_threshold` reads back as exactly ``threshold``."""
    if threshold.relative:
        return format_percent(threshold.value) + "%"
    return format_number(threshold.value)


def _threshold(record: Record, key: str) -> Threshold | None:
    node = record.values.get(key)
    if node is None or not record.has(key):
        return None
    if not isinstance(node, ScalarNode):
        record.problem(
            key, f"`{key}` of {record.what} must be a number or a percentage, not {describe(node)}"
        )
        return None
    number = number_of(node)
    written = str(node.value).strip()
    if number is not None:
        # A plain number is an absolute threshold; check it here to quote it as written.
        if not math.isfinite(number) or number < 0:
            record.problem(key, f"`{key}` of {record.what} is `{written}`; a tolerance must be zero or more")
            return None
        return Threshold(number, False)
    if not written.endswith("%"):
        record.problem(
            key, f"`{key}` of {record.what} must be a number or a percentage like `5%`, not {describe(node)}"
        )
        return None
    try:
        return parse_threshold(written)
    except ValueError as exc:
        record.problem(key, f"`{key}` of {record.what}: {exc}")
        return None


def read_tolerance(sink: Sink, node: Node, holder: str) -> Tolerance | None:
    """Return a tolerance mapping as a Tolerance, noting every problem; ``holder`` names its KPI or KR."""
    what = f"the tolerance of {holder}"
    record = read_record(
        sink, node, "tolerance", what, schema.TOLERANCE, required=schema.TOLERANCE, what=what
    )
    if record is None:
        return None
    amber, red = _threshold(record, "amber"), _threshold(record, "red")
    if amber is None or red is None:
        return None
    if amber.relative == red.relative and amber.value > red.value:
        record.problem(
            "amber", f"amber ({amber}) is wider than red ({red}) in {what}; amber must not exceed red"
        )
        return None
    return Tolerance(amber, red)
